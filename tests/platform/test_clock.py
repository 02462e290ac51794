"""The operator's clock (``/_crossconnect/clock``, ``crossconnect clock …``) through the real
clients: operations with ``--operation-delay`` wait for it, tokens expire by it, throttling
windows, device codes, BGP up/down times and ARP ages move with it, and only the operator may
move it. Nothing here sleeps for the clock: the tests move it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError

from tests.support import ARM_SCOPE, REPO, Server
from tests.support.network import PRIVATE, XC_GROUP, provisioned_circuit, xc_peering
from tests.support.platform import (
    WRITER,
    ServerFactory,
    arm_error,
    client,
    dedicated_servers,
    mint,
    query,
    wait_until,
)

DELAY = 5


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def set_clock(server: Server, body: Any) -> dict[str, Any]:
    r = server.operator("POST", "/clock", body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def clock_now(server: Server) -> float:
    r = server.operator("GET", "/clock")
    assert r.status_code == 200, r.text
    return float(r.json()["epoch"])


def stored_clock(server: Server) -> list[dict[str, Any]]:
    return query(server, "SELECT value FROM meta WHERE key = 'clock'")


def test_a_frozen_clock_holds_operations_until_it_is_advanced(servers: ServerFactory) -> None:
    server = servers.start("--operation-delay", str(DELAY))
    frozen = set_clock(server, {"freeze": True})
    assert frozen["frozen"] is True
    rc = server.resources(WRITER)
    rc.resource_groups.create_or_update("Held", {"location": "westus"})
    poller = rc.resource_groups.begin_delete("Held")
    assert poller.status() == "InProgress"
    status_url = poller.polling_method()._operation.get_polling_url()  # the Azure-AsyncOperation URL
    with server.http(WRITER) as c:
        status = c.get(status_url)
        assert status.json()["status"] == "InProgress"
        assert status.headers["retry-after"] == str(DELAY)  # what is left, by the frozen clock
        set_clock(server, {"advance": DELAY - 1})
        status = c.get(status_url)
        assert status.json()["status"] == "InProgress"
        assert status.headers["retry-after"] == "1"
        assert rc.resource_groups.get("Held").properties.provisioning_state == "Deleting"
        assert poller.done() is False
        set_clock(server, {"advance": 1})
    # the reconciler completes it (no poll needed): it wakes when the clock moves
    assert wait_until(
        lambda: query(server, "SELECT status FROM operations WHERE kind = 'delete'")[0]["status"] == "Succeeded",
        timeout=10,
    )
    assert poller.result(timeout=30) is None
    assert poller.status().lower() == "succeeded"
    assert rc.resource_groups.check_existence("Held") is False
    # the operation's times are the clock's: it started at the frozen instant, ended DELAY later
    with server.http(WRITER) as c:
        body = c.get(status_url).json()
    start, end = (datetime.fromisoformat(body[k].replace("Z", "+00:00")) for k in ("startTime", "endTime"))
    assert start.timestamp() == pytest.approx(frozen["epoch"], abs=0.001)
    assert end.timestamp() == pytest.approx(frozen["epoch"] + DELAY, abs=0.001)


def test_the_clock_starts_frozen_at_clock_start_and_reset_returns_there(servers: ServerFactory) -> None:
    server = servers.start("--clock-start", "2030-05-06T07:08:09Z")
    start = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC).timestamp()
    assert clock_now(server) == start
    rc = server.resources(WRITER)
    rc.resource_groups.create_or_update("Stamped", {"location": "westus"})
    server.network(WRITER).route_filters.begin_create_or_update("Stamped", "rf1", {"location": "westus"}).result()
    (stamped,) = rc.resources.list_by_resource_group("Stamped", expand="createdTime,changedTime")
    assert stamped.created_time.timestamp() == start and stamped.changed_time.timestamp() == start
    set_clock(server, {"advance": 90})
    assert clock_now(server) == start + 90
    set_clock(server, {"real": True})
    assert abs(clock_now(server) - datetime.now(UTC).timestamp()) < 60
    server.reset()
    assert clock_now(server) == start
    # the seeded credentials were written at the start instant: they still sign in
    assert server.resources(WRITER).resource_groups.check_existence("Stamped") is False
    assert clock_now(server) == start


def test_tokens_expire_by_the_server_clock(server: Server) -> None:
    token = server.token("partner")
    sub = server.subscription("partner")
    with client(server, token) as c:
        assert c.get(f"/subscriptions/{sub}", params={"api-version": "2022-12-01"}).status_code == 200
        set_clock(server, {"advance": 3600})  # the default token lifetime
        r = c.get(f"/subscriptions/{sub}", params={"api-version": "2022-12-01"})
        status, code, message = arm_error(r)
        assert (status, code) == (401, "ExpiredAuthenticationToken")
        assert "is earlier than current UTC time" in message
    # the SDK with a credential that cached the token before the advance: azure-identity judges
    # expiry by the real clock, so it sends the refused token again
    network = server.network("customer")
    list(network.express_route_circuits.list_all())
    set_clock(server, {"advance": 3600})
    with pytest.raises(ClientAuthenticationError) as refused:
        list(network.express_route_circuits.list_all())
    assert "ExpiredAuthenticationToken" in str(refused.value)
    # a new credential gets a token issued by the server's clock: valid for its lifetime from there
    assert list(server.network("customer").express_route_circuits.list_all()) == []
    # back to real time: the tokens issued while the clock ran ahead are still accepted
    fresh = server.token("partner")
    set_clock(server, {"real": True})
    with client(server, fresh) as c:
        assert c.get(f"/subscriptions/{sub}", params={"api-version": "2022-12-01"}).status_code == 200
    server.reset()  # a reset is the start again: tokens from ahead of it are not valid yet
    with client(server, fresh) as c:
        status, code, message = arm_error(c.get(f"/subscriptions/{sub}", params={"api-version": "2022-12-01"}))
    assert (status, code) == (401, "InvalidAuthenticationToken") and "validity start time" in message
    # a token not yet valid that this server never issued while ahead is still refused
    now = int(clock_now(server))
    early = mint(server, iat=now, nbf=now + 4 * 3600, exp=now + 5 * 3600)  # beyond where the clock ran
    with client(server, early) as c:
        status, code, message = arm_error(c.get(f"/subscriptions/{sub}", params={"api-version": "2022-12-01"}))
    assert (status, code) == (401, "InvalidAuthenticationToken") and "validity start time" in message


def test_throttling_windows_move_with_the_clock(server: Server) -> None:
    partner = server.env["partner"]
    form = {"grant_type": "client_credentials", "client_id": partner["client_id"], "scope": ARM_SCOPE}
    with httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=30) as c:
        url = f"/{server.env['tenant_id']}/oauth2/v2.0/token"
        for _ in range(10):
            assert c.post(url, data={**form, "client_secret": "wrong"}).status_code == 401
        held = c.post(url, data={**form, "client_secret": partner["client_secret"]})
        assert held.status_code == 429, held.text
        set_clock(server, {"advance": 61})  # the window is a minute
        assert c.post(url, data={**form, "client_secret": partner["client_secret"]}).status_code == 200


def test_device_codes_expire_by_the_clock(server: Server) -> None:
    azure_cli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    tenant = server.env["tenant_id"]
    with httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=30) as c:
        started = c.post(f"/{tenant}/oauth2/v2.0/devicecode", data={"client_id": azure_cli, "scope": ARM_SCOPE})
        assert started.status_code == 200, started.text
        grant = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": azure_cli,
            "device_code": started.json()["device_code"],
        }
        pending = c.post(f"/{tenant}/oauth2/v2.0/token", data=grant)
        assert pending.json()["error"] == "authorization_pending", pending.text
        set_clock(server, {"advance": started.json()["expires_in"] + 1})
        expired = c.post(f"/{tenant}/oauth2/v2.0/token", data=grant)
        assert expired.status_code == 400
        assert expired.json()["error"] == "expired_token", expired.text
        # and the sign-in page no longer takes its user code
        page = c.post("/devicelogin", data={"user_code": started.json()["user_code"]})
        assert "work. Check the code and try again" in page.text


def test_bgp_up_down_and_arp_age_move_with_the_clock(server: Server) -> None:
    _, xc = provisioned_circuit(server)
    xc_peering(server, xc.name, "AzurePrivatePeering", PRIVATE)
    set_clock(server, {"freeze": True})

    def up_down() -> str:  # a new client each time: moving the clock hours ahead expires tokens
        ops = server.network("partner").express_route_cross_connections
        summary = ops.begin_list_routes_table_summary(XC_GROUP, xc.name, "AzurePrivatePeering", "primary").result()
        return str(summary.value[0].up_down)

    def arp_age() -> int:
        ops = server.network("partner").express_route_cross_connections
        table = ops.begin_list_arp_table(XC_GROUP, xc.name, "AzurePrivatePeering", "primary").result()
        return int(next(e.age for e in table.value if e.interface == "On-Prem"))

    before, age = up_down(), arp_age()
    assert up_down() == before  # frozen: nothing moves
    set_clock(server, {"advance": 2 * 3600 + 5 * 60})
    hours, minutes, _ = (int(x) for x in up_down().split(":"))
    was_hours, was_minutes, _ = (int(x) for x in before.split(":"))
    assert hours * 60 + minutes - (was_hours * 60 + was_minutes) in (125, 126)
    assert arp_age() - age in (125, 126)  # minutes, as the MSEE shows them
    set_clock(server, {"advance": 3 * 86400})
    assert up_down().startswith("3d2h")


def test_real_goes_back_and_replicas_agree(replicas: tuple[Server, Server]) -> None:
    first, second = replicas
    set_clock(first, {"freeze": True})
    moved = set_clock(first, {"advance": 86400})
    # the other replica reads the setting from the database (within its short cache time)
    assert wait_until(lambda: clock_now(second) == moved["epoch"], timeout=5)
    both = set_clock(second, {"advance": 10})  # advances from either replica add up
    assert both["epoch"] == moved["epoch"] + 10
    back = set_clock(second, {"real": True})
    assert back["frozen"] is False and abs(back["offsetSeconds"]) < 1
    assert wait_until(lambda: abs(clock_now(first) - datetime.now(UTC).timestamp()) < 5, timeout=5)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"advance": -1}, "advance", "must not be negative"),
        ({"advance": "10"}, "advance", "number of seconds"),
        ({"advance": True}, "advance", "number of seconds"),
        ({"advance": None}, "advance", "number of seconds"),
        ({"advance": 10 * 365 * 86400 + 1}, "advance", "at most"),
        ({"advance": 1e308}, "advance", "at most"),
        ({"freeze": False}, "freeze", "must be true"),
        ({"real": 1}, "real", "must be true"),
        ({"freeze": True, "real": True}, "real", "exactly one"),
        ({"advance": 5, "freeze": True}, "freeze", "exactly one"),
        ({}, None, "exactly one"),
        ({"rewind": 5}, "rewind", "no setting 'rewind'"),
        ([1], None, "JSON object"),
    ],
)
def test_bad_clock_requests_are_refused_and_change_nothing(server: Server, body: Any, field: str, words: str) -> None:
    set_clock(server, {"freeze": True})
    before, stored = clock_now(server), stored_clock(server)
    r = server.operator("POST", "/clock", body)
    status, code, message = arm_error(r)
    assert (status, code) == (400, "InvalidRequestContent"), r.text
    assert words in message
    if field is not None:
        assert r.json()["error"]["target"] == field
    assert clock_now(server) == before and stored_clock(server) == stored


def test_the_clock_never_passes_2100(server: Server) -> None:
    set_clock(server, {"freeze": True})
    for _ in range(7):
        set_clock(server, {"advance": 10 * 365 * 86400})
    before = clock_now(server)
    status, code, message = arm_error(server.operator("POST", "/clock", {"advance": 10 * 365 * 86400}))
    assert (status, code) == (400, "InvalidRequestContent") and "past 2100-01-01" in message
    assert clock_now(server) == before


def test_non_json_clock_bodies_are_refused(server: Server) -> None:
    before = stored_clock(server)
    with server.http("operator") as c:
        for raw in (b"{", b'{"advance": NaN}', b'{"advance": Infinity}', b"x" * 100):
            r = c.post("/_crossconnect/clock", content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 400, (raw, r.text)
    assert stored_clock(server) == before


def test_only_the_operator_moves_the_clock(server: Server) -> None:
    before = stored_clock(server)
    for role in ("partner", "customer", "admin"):
        with server.http(role) as c:
            for method, body in (("GET", None), ("POST", {"advance": 60})):
                r = c.request(method, "/_crossconnect/clock", json=body)
                assert r.status_code == 403, (role, r.text)
                assert r.json()["error"]["code"] == "OperatorOnly"
    with httpx.Client(base_url=server.base_url, verify=server.tls()) as c:
        assert c.post("/_crossconnect/clock", json={"advance": 60}).status_code == 401
    assert stored_clock(server) == before


def _cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "clock", *args, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_the_clock_command(server: Server) -> None:
    frozen = _cli(server, "freeze")
    assert frozen.returncode == 0, frozen.stderr
    assert "(frozen," in frozen.stdout
    at = clock_now(server)
    moved = _cli(server, "advance", "90")
    assert moved.returncode == 0, moved.stderr
    assert clock_now(server) == at + 90
    assert datetime.fromtimestamp(at + 90, UTC).strftime("%Y-%m-%dT%H:%M:%S") in moved.stdout
    shown = _cli(server, "show")
    assert shown.returncode == 0 and shown.stdout.split()[0] == moved.stdout.split()[0]
    refused = _cli(server, "advance", "1e12")
    assert refused.returncode == 1
    assert (
        refused.stderr.count("\n") == 1
        and "at most" in refused.stderr
        and "[400 InvalidRequestContent]" in refused.stderr
    )
    assert clock_now(server) == at + 90
    for bad, words in (
        ("-5", "must not be negative"),
        ("soon", "'soon' is not a number of seconds"),
        ("nan", "not a number of seconds"),
    ):
        refused = _cli(server, "advance", bad)
        assert refused.returncode in (1, 2) and refused.stderr.count("\n") == 1, refused.stderr
        assert words in refused.stderr
    assert clock_now(server) == at + 90
    real = _cli(server, "real")
    assert real.returncode == 0 and "(running," in real.stdout


@pytest.mark.parametrize("value", ["soon", "1900-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "2026-13-01"])
def test_a_bad_clock_start_is_refused_before_anything_is_made(tmp_path: Path, value: str) -> None:
    data_dir = tmp_path / "data"
    r = subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "serve", "--data-dir", str(data_dir), "--clock-start", value],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and f"--clock-start '{value}' is not valid" in r.stderr, r.stderr
    assert not data_dir.exists()
