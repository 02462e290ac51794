"""Azure AD throttles what costs the server and needs no credential: failed client
authentications per client and per source address, and device-code requests per client and per
source (429 with ``Retry-After`` in Azure AD's error body), counted in the store so that every
replica counts the same attempts."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx

from tests.support import ARM_SCOPE, Server
from tests.support.platform import query

AZURE_CLI_CLIENT = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
CLIENT_LIMIT = 10
SOURCE_LIMIT = 30
DEVICE_SOURCE_LIMIT = 10
DEVICE_CLIENT_LIMIT = 30


def _from(server: Server, address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (another loopback address: another source)."""
    transport = httpx.HTTPTransport(verify=server.tls(), local_address=address)
    return httpx.Client(base_url=server.base_url, transport=transport, timeout=30)


def _token(c: httpx.Client, server: Server, client_id: str, secret: str, tenant: str | None = None) -> httpx.Response:
    return c.post(
        f"/{tenant or server.env['tenant_id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": ARM_SCOPE},
    )


def _aad_error(r: httpx.Response, status: int, error: str, code: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert (body["error"], body["error_codes"]) == (error, [code]), body
    assert body["error_description"].startswith(f"AADSTS{code}: "), body
    assert "access_token" not in body
    return str(body["error_description"])


def _throttled(r: httpx.Response, names: str) -> int:
    description = _aad_error(r, 429, "temporarily_unavailable", 90055)
    assert names in description, description
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 60, wait
    assert f"Try again in {wait} seconds" in description
    return wait


def _failures(server: Server) -> int:
    return int(query(server, "SELECT count(*) AS n FROM sign_in_failures")[0]["n"])


def test_wrong_secrets_throttle_the_client_from_every_source(server: Server) -> None:
    partner, customer = server.env["partner"], server.env["customer"]
    with _from(server, "127.0.0.2") as a, _from(server, "127.0.0.3") as b, _from(server, "127.0.0.4") as c:
        for i in range(CLIENT_LIMIT):
            r = _token(a if i % 2 else b, server, partner["client_id"], "not-the-secret")
            _aad_error(r, 401, "invalid_client", 7000215)
        # the client is held back: from a third source, and with the right secret too
        r = _token(c, server, partner["client_id"], partner["client_secret"])
        _throttled(r, f"application '{partner['client_id']}'")
        counted = _failures(server)
        _throttled(_token(a, server, partner["client_id"], "not-the-secret"), "application")
        assert _failures(server) == counted, "a throttled attempt is not counted again"
        # another client from the same sources is not affected
        assert _token(c, server, customer["client_id"], customer["client_secret"]).status_code == 200
        assert _token(a, server, customer["client_id"], customer["client_secret"]).status_code == 200

    server.reset()  # a reset forgets the counts, as it forgets wrong passwords
    with _from(server, "127.0.0.2") as a:
        assert _token(a, server, partner["client_id"], partner["client_secret"]).status_code == 200


def test_a_burst_of_wrong_secrets_gets_exactly_the_limit_hashed(server: Server) -> None:
    """50 wrong secrets at once: exactly 10 are checked (401), the other 40 are held back (429)
    without a hash: a burst cannot pass the check before its first failures are counted."""
    partner = server.env["partner"]

    async def burst() -> list[int]:
        transport = httpx.AsyncHTTPTransport(verify=server.tls(), local_address="127.0.0.8")
        async with httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=60) as c:
            url = f"/{server.env['tenant_id']}/oauth2/v2.0/token"
            form = {"grant_type": "client_credentials", "client_id": partner["client_id"], "scope": ARM_SCOPE}
            answers = await asyncio.gather(*(c.post(url, data={**form, "client_secret": f"x{i}"}) for i in range(50)))
        return [r.status_code for r in answers]

    statuses = asyncio.run(burst())
    assert sorted(Counter(statuses).items()) == [(401, CLIENT_LIMIT), (429, 50 - CLIENT_LIMIT)], Counter(statuses)


def test_failed_client_authentications_throttle_the_source(server: Server) -> None:
    """Unknown client ids and wrong secrets for many clients from one address: after 30 the
    address is held back (the right secret of an untouched client too); other addresses are not."""
    customer = server.env["customer"]
    with _from(server, "127.0.0.5") as a, _from(server, "127.0.0.6") as b:
        for i in range(SOURCE_LIMIT):
            if i % 3:
                r = _token(a, server, str(uuid.uuid4()), "guess")
                _aad_error(r, 400, "unauthorized_client", 700016)
            else:
                r = _token(a, server, server.env["partner"]["client_id"], f"guess-{i}")
                _aad_error(r, 401, "invalid_client", 7000215)
        _throttled(_token(a, server, customer["client_id"], customer["client_secret"]), "from this address")
        _throttled(_token(a, server, str(uuid.uuid4()), "guess"), "from this address")
        assert _token(b, server, customer["client_id"], customer["client_secret"]).status_code == 200
        # the partner failed 10 times from that source: it is held back everywhere (per client)
        r = _token(b, server, server.env["partner"]["client_id"], server.env["partner"]["client_secret"])
        _throttled(r, "application")


def test_wrong_certificate_assertions_count_as_failed_authentications(server: Server) -> None:
    partner = server.env["partner"]
    form = {
        "grant_type": "client_credentials",
        "client_id": partner["client_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "not.a.jwt",
        "scope": ARM_SCOPE,
    }
    with _from(server, "127.0.0.7") as a:
        for _ in range(CLIENT_LIMIT):
            r = a.post(f"/{server.env['tenant_id']}/oauth2/v2.0/token", data=form)
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
        _throttled(_token(a, server, partner["client_id"], partner["client_secret"]), "application")


def _device_code(c: httpx.Client, server: Server, client_id: str = AZURE_CLI_CLIENT) -> httpx.Response:
    return c.post(
        f"/{server.env['tenant_id']}/oauth2/v2.0/devicecode",
        data={"client_id": client_id, "scope": "https://management.core.windows.net//.default offline_access"},
    )


def _pending(server: Server) -> int:
    return int(query(server, "SELECT count(*) AS n FROM device_codes")[0]["n"])


def test_device_code_requests_are_bounded_per_source_and_per_client(server: Server) -> None:
    sources = [f"127.0.1.{i}" for i in range(1, 6)]
    clients = {address: _from(server, address) for address in sources}
    try:
        first = clients[sources[0]]
        for _ in range(DEVICE_SOURCE_LIMIT):
            assert _device_code(first, server).status_code == 200
        _throttled(_device_code(first, server), "from this address")
        _throttled(_device_code(first, server, server.env["partner"]["client_id"]), "from this address")
        assert _pending(server) == DEVICE_SOURCE_LIMIT, "a refused request stored a device code"
        # other sources, until the client (the Azure CLI in this tenant) had its 30
        for address in sources[1:3]:
            for _ in range(DEVICE_SOURCE_LIMIT):
                assert _device_code(clients[address], server).status_code == 200
        _throttled(_device_code(clients[sources[3]], server), f"application '{AZURE_CLI_CLIENT}'")
        assert _pending(server) == DEVICE_CLIENT_LIMIT
        # another client from a fresh source is not affected
        assert _device_code(clients[sources[4]], server, server.env["partner"]["client_id"]).status_code == 200
        # unknown clients store nothing and are answered as before
        r = _device_code(clients[sources[4]], server, str(uuid.uuid4()))
        assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
        assert _pending(server) == DEVICE_CLIENT_LIMIT + 1
    finally:
        for c in clients.values():
            c.close()


def test_replicas_count_the_same_failures(replicas: tuple[Server, Server]) -> None:
    """Wrong secrets sent to one replica hold the client back at the other."""
    first, second = replicas
    partner = first.env["partner"]
    with _from(first, "127.0.0.2") as a, _from(second, "127.0.0.3") as b:
        for _ in range(CLIENT_LIMIT):
            _aad_error(_token(a, first, partner["client_id"], "not-the-secret"), 401, "invalid_client", 7000215)
        _throttled(_token(b, second, partner["client_id"], partner["client_secret"]), "application")
        for _ in range(DEVICE_SOURCE_LIMIT):
            assert _device_code(b, second).status_code == 200
        _throttled(_device_code(_from(first, "127.0.0.3"), first), "from this address")
