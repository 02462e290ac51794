"""One caller cannot exhaust the server: request bodies of every endpoint family stop at 4 MiB
(counted as they stream in, read only after the caller was authorized), request heads stop at
Azure's front-door sizes (431/414), and a failing insert logs no secret, hash or salt."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sqlite3
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import Server, rbac
from tests.support.platform import ServerFactory, arm_error, dedicated_servers, group_url, query

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


@contextmanager
def unchanged(server: Server) -> Iterator[None]:
    before = server.snapshot()
    yield
    assert server.snapshot() == before, "a refused request changed the store"


def _rss_mib(server: Server) -> float:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _stream(total: int, chunk: int = MIB, head: bytes = b'{"displayName": "', tail: bytes = b'"}') -> Iterator[bytes]:
    """A JSON body of about ``total`` bytes, sent chunked (no Content-Length)."""
    yield head
    for _ in range(total // chunk):
        yield b"x" * chunk
    yield tail


def _graph_error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return str(body["error"]["message"])


# -- Microsoft Graph ----------------------------------------------------------------------------------
def test_graph_refuses_a_caller_without_rights_before_reading_a_huge_body(server: Server) -> None:
    """The partner holds no Graph permission: 403 at once, while the client still streams 200 MiB
    (the server read none of it: its memory stays where it was)."""
    before = _rss_mib(server)
    with rbac.graph(server, "partner") as g, unchanged(server):
        started = time.monotonic()
        r = g.post("/servicePrincipals", content=_stream(200 * MIB), headers=JSON)
        _graph_error(r, 403, "Authorization_RequestDenied")
        assert time.monotonic() - started < 20
    assert _rss_mib(server) - before < 50, (before, _rss_mib(server))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_graph_bodies_over_4_mib_get_413(server: Server, chunked: bool) -> None:
    big = b'{"displayName": "' + b"x" * (4 * MIB) + b'"}'
    with rbac.graph(server, "admin") as g, unchanged(server):
        app_id = g.get("/applications").json()["value"][0]["id"]
        for method, path in [
            ("POST", "/applications"),
            ("POST", "/servicePrincipals"),
            ("PATCH", f"/applications/{app_id}"),
            ("POST", f"/applications/{app_id}/addPassword"),
            ("POST", "/directoryObjects/getByIds"),
        ]:
            content = _stream(5 * MIB) if chunked else big
            r = g.request(method, path, content=content, headers=JSON)
            message = _graph_error(r, 413, "Request_EntityTooLarge")
            assert "4194304 bytes" in message, (method, path, message)
    with rbac.graph(server, "admin") as g:  # just below the limit is read (and refused for its content)
        small = b'{"displayName": "", "pad": "' + b"x" * (4 * MIB - 64) + b'"}'
        r = g.post("/applications", content=small, headers=JSON)
        _graph_error(r, 400, "Request_BadRequest")


# -- the operator and lab API -------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_operator_bodies_over_4_mib_get_413(server: Server, chunked: bool) -> None:
    big = b'{"seconds": 1, "pad": "' + b"x" * (4 * MIB) + b'"}'
    with server.http("operator") as c, unchanged(server):
        for path in ("/faults-latency", "/port-pairs", "/subscriptions", "/features/approve"):
            content = _stream(5 * MIB, head=b'{"pad": "') if chunked else big
            r = c.post(f"/_crossconnect{path}", content=content, headers=JSON)
            status, code, message = arm_error(r)
            assert (status, code) == (413, "RequestEntityTooLarge"), (path, r.text)
            assert "maximum allowed size of 4194304 bytes" in message


def test_operator_api_refuses_other_callers_before_reading_the_body(server: Server) -> None:
    with server.http("partner") as c, unchanged(server):
        r = c.post("/_crossconnect/faults-latency", content=_stream(64 * MIB, head=b'{"pad": "'), headers=JSON)
        assert arm_error(r)[:2] == (403, "OperatorOnly"), r.text
        # the lab API: the partner may not touch a circuit it does not provide
        r = c.put(
            f"/_crossconnect/lab/circuits/{uuid.uuid4()}/edge/primary",
            content=_stream(64 * MIB, head=b'{"pad": "'),
            headers=JSON,
        )
        assert arm_error(r)[:2] == (404, "ResourceNotFound"), r.text


def test_snapshot_import_takes_a_snapshot_over_4_mib(server: Server) -> None:
    """All state does not fit in 4 MiB for a large deployment: the operator's snapshot import has a
    limit of its own (256 MiB), and a snapshot exported here imports again."""
    snapshot = server.operator("GET", "/snapshot").json()
    snapshot["tables"]["meta"].append({"key": "padding", "value": "x" * (5 * MIB)})
    r = server.operator("PUT", "/snapshot", snapshot)
    assert r.status_code == 200, r.text[:500]
    meta = server.operator("GET", "/snapshot").json()["tables"]["meta"]
    assert [row["value"] for row in meta if row["key"] == "padding"] == ["x" * (5 * MIB)]


# -- Azure AD -----------------------------------------------------------------------------------------
def test_aad_bodies_over_4_mib_get_413_in_aad_error_body(server: Server) -> None:
    tenant = server.env["tenant_id"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    fields = b"".join(b"&pad%d=" % i + b"x" * 8000 for i in range(600))  # 600 fields of 8 KB: 4.8 MB
    big = b"grant_type=client_credentials&client_id=x" + fields
    with httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=30) as c, unchanged(server):
        for path in (f"/{tenant}/oauth2/v2.0/token", f"/{tenant}/oauth2/token", f"/{tenant}/oauth2/v2.0/devicecode"):
            chunked = (big[i : i + MIB] for i in range(0, len(big), MIB))
            for content in (big, chunked):
                r = c.post(path, content=content, headers=form)
                assert r.status_code == 413, (path, r.text[:300])
                body = r.json()
                assert body["error"] == "invalid_request" and body["error_codes"] == [9002313], body
                assert "4194304 bytes" in body["error_description"]
        # the sign-in pages (HTML forms): 413 too
        r = c.post("/devicelogin", content=big, headers=form)
        assert r.status_code == 413 and r.json()["error"]["code"] == "RequestEntityTooLarge", r.text[:300]
    assert query(server, "SELECT count(*) AS n FROM device_codes")[0]["n"] == 0


# -- ARM: authorization before the body --------------------------------------------------------------
def test_arm_authorizes_before_reading_the_body(server: Server) -> None:
    """The partner may not write the customer's subscription: 403 while it streams 100 MiB."""
    customer_sub = server.subscription("customer")
    before = _rss_mib(server)
    with server.http("partner") as c, unchanged(server):
        r = c.put(group_url(customer_sub, "NotYours"), content=_stream(100 * MIB, head=b'{"pad": "'), headers=JSON)
        assert arm_error(r)[:2] == (403, "AuthorizationFailed"), r.text
    assert _rss_mib(server) - before < 50


# -- request heads ------------------------------------------------------------------------------------
def _raw_request(server: Server, head: bytes, read_timeout: float = 20) -> tuple[int, bytes]:
    """Send a request head as it is (plus whatever follows) over TLS and read the answer."""
    context = ssl.create_default_context(cafile=server.ca)
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            tls.sendall(head)  # the server may answer and close while this is still sending
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def _length(data: bytes) -> int:
    match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", data)
    return int(match.group(1)) if match else 0


def _get(path: str, *headers: bytes) -> bytes:
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    )


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("one header line over 8 KiB", 431, "RequestHeaderFieldsTooLarge"),
        ("headers over 64 KiB in total", 431, "RequestHeaderFieldsTooLarge"),
        ("an 8 MiB header", 431, "RequestHeaderFieldsTooLarge"),
        ("a request target over 16 KiB", 414, "RequestUriTooLong"),
    ],
)
def test_oversized_request_heads_are_refused(server: Server, case: str, status: int, code: str) -> None:
    head = {
        "one header line over 8 KiB": _get("/_crossconnect/health", b"X-Big: " + b"a" * (8 * 1024)),
        "headers over 64 KiB in total": _get(
            "/_crossconnect/health", *(b"X-Pad-%03d: " % i + b"a" * 1000 for i in range(70))
        ),
        "an 8 MiB header": _get("/_crossconnect/health", b"X-Big: " + b"a" * (8 * MIB)),
        "a request target over 16 KiB": _get("/_crossconnect/health?pad=" + "a" * (16 * 1024)),
    }[case]
    got, body = _raw_request(server, head)
    assert got == status, (got, body[:300])
    assert json.loads(body)["error"]["code"] == code
    # the server is healthy afterwards, and heads within the limits are served
    within = _get(
        "/_crossconnect/health?pad=" + "a" * 8000,
        b"X-Big: " + b"a" * (8 * 1024 - 9),
        *(b"X-Pad-%03d: " % i + b"a" * 1000 for i in range(50)),
    )
    assert _raw_request(server, within)[0] == 200
    with server.http("partner") as c:
        assert c.get(f"/subscriptions/{server.subscription('partner')}?api-version=2022-12-01").status_code == 200


# -- logs ---------------------------------------------------------------------------------------------
def _refuse_credential_inserts(server: Server) -> None:
    """Make the store itself refuse new client credentials (a failing insert)."""
    if server.database is None:
        with sqlite3.connect(server.data_dir / "crossconnect.db") as conn:
            conn.execute(
                "CREATE TRIGGER refuse_credentials BEFORE INSERT ON client_credentials "
                "BEGIN SELECT RAISE(ABORT, 'credentials refused by the test'); END"
            )
    else:
        import psycopg

        with psycopg.connect(server.database, autocommit=True) as conn:
            conn.execute(
                "ALTER TABLE client_credentials ADD CONSTRAINT refused_by_the_test CHECK (kind = 'none') NOT VALID"
            )


def test_a_failing_insert_logs_no_secret_hash_or_salt(servers: ServerFactory) -> None:
    server = servers.start()
    assert server.log_path is not None
    with rbac.graph(server, "admin") as g:
        app = g.post("/applications", json={"displayName": "log-check"}).json()
    _refuse_credential_inserts(server)
    with rbac.graph(server, "admin") as g:  # the server closes a connection after a 500: one each
        r = g.post(f"/applications/{app['id']}/addPassword", json={"passwordCredential": {"displayName": "p"}})
        assert r.status_code == 500, r.text
    with rbac.graph(server, "admin") as g:
        r = g.post("/applications", json={"displayName": "log-check-2", "passwordCredentials": [{}]})
        assert r.status_code == 500, r.text
    server.stop()
    log = server.log_path.read_text()
    assert "client_credentials" in log, "the failed insert was not logged at all"
    assert "[parameters:" not in log and "Failing row contains" not in log, log[-3000:]
    # a salt is 32 hex digits, a hash 64: neither appears anywhere in the log
    assert not re.search(r"(?<![0-9a-f])[0-9a-f]{32,}(?![0-9a-f])", log), log[-3000:]
