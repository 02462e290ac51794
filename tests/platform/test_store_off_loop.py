"""PostgreSQL: sign-in (the token endpoint and the sign-in pages), Microsoft Graph and the operator API run their store work where ARM
requests do (``Store.calls``, a pool of threads), not on the event loop. Each test holds a table
another transaction locked (as a long migration, a ``VACUUM FULL`` or a stuck replica would): the
request that reads it waits, and meanwhile the same server answers its health check at once;
released, the waiting request completes.

SQLite runs store work inline (store/executor.py): a SQLite store belongs to one process whose
reads take microseconds, so these tests are PostgreSQL's only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support import Server
from tests.support.rbac import graph
from tests.support.signin import AZURE_CLI_CLIENT, authorize_params, code_from, error_text, pkce

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_server(server: Server) -> Server:
    if server.database is None:
        pytest.skip("a SQLite store runs store work inline (store/executor.py)")
    return server


def _waiting_for_table(database: str) -> int:
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND NOT granted").fetchone()
        return int(row[0]) if row else 0


@contextmanager
def table_held(server: Server, table: str) -> Iterator[None]:
    """``table`` locked by another transaction until the block ends: every read of it waits."""
    import psycopg

    assert server.database is not None
    with psycopg.connect(server.database) as holder:
        holder.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        try:
            yield
        finally:
            holder.rollback()


def _answers_while_waiting(server: Server, table: str, request: Callable[[], httpx.Response]) -> httpx.Response:
    """Run ``request`` while ``table`` is held; the health check must answer meanwhile (within a
    second, five times), the request must still be waiting then, and complete once released."""
    assert server.database is not None
    outcome: dict[str, Any] = {}

    def waiting() -> None:
        try:
            outcome["response"] = request()
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    with httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=1.0) as health:
        with table_held(server, table):
            waiter = threading.Thread(target=waiting)
            waiter.start()
            deadline = time.time() + 30
            while _waiting_for_table(server.database) == 0:
                assert time.time() < deadline and waiter.is_alive(), ("the request never waited on the table", outcome)
                time.sleep(0.05)
            for _ in range(5):  # a blocked event loop answers nothing: the 1 s timeout fails this
                assert health.get("/_crossconnect/health").status_code == 200
            assert waiter.is_alive() and not outcome, "the request did not wait for the table"
        waiter.join(30)
    assert "error" not in outcome, outcome
    response: httpx.Response = outcome["response"]
    return response


def test_a_token_request_waiting_on_the_database_holds_up_no_other(pg_server: Server) -> None:
    token = _answers_while_waiting(pg_server, "tenants", lambda: httpx.Client(verify=pg_server.tls(), timeout=60).post(
        f"{pg_server.base_url}/{pg_server.tenant_for('partner')}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": pg_server.env["partner"]["client_id"],
              "client_secret": pg_server.env["partner"]["client_secret"], "scope": "https://management.azure.com/.default"},
    ))  # fmt: skip
    assert token.status_code == 200 and token.json()["access_token"], token.text


def test_the_device_code_pages_waiting_on_the_database_hold_up_no_other(pg_server: Server) -> None:
    user = pg_server.env["user"]
    with httpx.Client(base_url=pg_server.base_url, verify=pg_server.tls(), timeout=60) as c:
        # a new device code: its form is read on the event loop, the code stored where the store works
        device = _answers_while_waiting(pg_server, "device_codes", lambda: c.post(
            f"/{pg_server.env['tenant_id']}/oauth2/v2.0/devicecode",
            data={"client_id": AZURE_CLI_CLIENT, "scope": "https://management.azure.com/.default offline_access"},
        ))  # fmt: skip
        assert device.status_code == 200, device.text
        user_code = device.json()["user_code"]
        # the device login form: the code looked up, then the user and the password checked
        page = _answers_while_waiting(pg_server, "device_codes", lambda: c.post(
            "/devicelogin", data={"user_code": user_code}
        ))  # fmt: skip
        assert page.status_code == 200 and not error_text(page.text), page.text
        done = _answers_while_waiting(pg_server, "users", lambda: c.post(
            "/devicelogin", data={"user_code": user_code, "username": user["username"], "password": user["password"]},
        ))  # fmt: skip
        assert done.status_code == 200 and "signed in" in done.text, done.text
        token = c.post(f"/{pg_server.env['tenant_id']}/oauth2/v2.0/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": AZURE_CLI_CLIENT,
            "device_code": device.json()["device_code"]})  # fmt: skip
        assert token.status_code == 200 and token.json()["access_token"], token.text


def test_the_authorization_code_page_waiting_on_the_database_holds_up_no_other(pg_server: Server) -> None:
    user = pg_server.env["user"]
    tenant = pg_server.env["tenant_id"]
    _, challenge = pkce()
    params = authorize_params(pg_server, challenge)
    with httpx.Client(base_url=pg_server.base_url, verify=pg_server.tls(), timeout=60) as c:
        page = _answers_while_waiting(pg_server, "tenants", lambda: c.get(f"/{tenant}/oauth2/v2.0/authorize",
                                                                          params=params))  # fmt: skip
        assert page.status_code == 200 and "password" in page.text, page.text
        # the sign-in form: read on the event loop; the user and the wrong-password count where the store works
        signed_in = _answers_while_waiting(pg_server, "users", lambda: c.post(
            f"/{tenant}/oauth2/v2.0/authorize",
            data={**params, "username": user["username"], "password": user["password"]},
        ))  # fmt: skip
        assert code_from(signed_in)
        refused = _answers_while_waiting(pg_server, "sign_in_failures", lambda: c.post(
            f"/{tenant}/oauth2/v2.0/authorize", data={**params, "username": user["username"], "password": "wrong"},
        ))  # fmt: skip
        assert refused.status_code == 200 and "incorrect" in error_text(refused.text), refused.text


def test_a_graph_request_waiting_on_the_database_holds_up_no_other(pg_server: Server) -> None:
    with graph(pg_server, "admin") as g:  # (the token first: the token endpoint reads the principals too)
        listed = _answers_while_waiting(pg_server, "service_principals", lambda: g.get("/servicePrincipals"))
        assert listed.status_code == 200 and listed.json()["value"], listed.text
        # a write with a body: the body is read on the event loop, the rest where the store works
        created = _answers_while_waiting(
            pg_server, "applications", lambda: g.post("/applications", json={"displayName": "off-loop"})
        )
        assert created.status_code == 201, created.text
        assert created.json()["displayName"] == "off-loop"


def test_an_operator_request_waiting_on_the_database_holds_up_no_other(pg_server: Server) -> None:
    with pg_server.http("operator") as c:
        c.timeout = httpx.Timeout(60)
        listed = _answers_while_waiting(pg_server, "subscriptions", lambda: c.get("/_crossconnect/subscriptions"))
        assert listed.status_code == 200 and listed.json()["value"], listed.text
        # the caller's check of a handler that runs in a worker thread of its own (the snapshot)
        exported = _answers_while_waiting(pg_server, "meta", lambda: c.get("/_crossconnect/snapshot"))
        assert exported.status_code == 200 and exported.json()["tables"]["meta"], exported.text


def test_slow_uploads_hold_no_store_thread(pg_server: Server) -> None:
    """More Graph writes than the store has threads (6), each stalled in the middle of its body:
    the bodies are read on the event loop with no thread held, so an ARM GET is served meanwhile;
    once the uploads go on, each completes."""
    release = threading.Event()

    def stalled_body(name: str) -> Iterator[bytes]:
        yield b'{"displayName": "'
        release.wait(30)
        yield name.encode() + b'"}'

    outcomes: list[httpx.Response | Exception] = []
    with graph(pg_server, "admin") as g, pg_server.http("partner") as arm:
        g.timeout = httpx.Timeout(60)

        def upload(n: int) -> None:
            try:
                outcomes.append(g.post("/applications", content=stalled_body(f"slow-{n}"),
                                       headers={"Content-Type": "application/json"}))  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)

        uploads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
        for thread in uploads:
            thread.start()
        try:
            time.sleep(1.0)  # the uploads are in their bodies
            arm.timeout = httpx.Timeout(5)
            r = arm.get(f"/subscriptions/{pg_server.subscription('partner')}", params={"api-version": "2022-12-01"})
            assert r.status_code == 200, r.text
            assert not outcomes, outcomes
        finally:
            release.set()
            for thread in uploads:
                thread.join(60)
    assert sorted(r.status_code for r in outcomes if isinstance(r, httpx.Response)) == [201] * 8, outcomes


def test_sign_in_forms_with_a_large_upload_are_parsed(pg_server: Server) -> None:
    """A multipart form part over 1 MiB is spooled to a file through a worker thread of the event
    loop's (Starlette): the sign-in pages parse their forms on the loop, where that thread is
    reachable, not only read them there; a 500 here was a form parsed on a store thread."""
    upload = {"upload": ("big.bin", b"x" * (2 * 1024 * 1024), "application/octet-stream")}
    with httpx.Client(base_url=pg_server.base_url, verify=pg_server.tls(), timeout=60) as c:
        page = c.post("/devicelogin", data={"user_code": "NOPE"}, files=upload)
        assert page.status_code == 200 and "work. Check the code" in error_text(page.text), page.text
        device = c.post(f"/{pg_server.env['tenant_id']}/oauth2/v2.0/devicecode",
                        data={"client_id": AZURE_CLI_CLIENT, "scope": "openid"}, files=upload)  # fmt: skip
        assert device.status_code == 200 and device.json()["user_code"], device.text
        _, challenge = pkce()
        signed_in = c.post(f"/{pg_server.env['tenant_id']}/oauth2/v2.0/authorize", files=upload, data={
            **authorize_params(pg_server, challenge), "username": pg_server.env["user"]["username"],
            "password": pg_server.env["user"]["password"]})  # fmt: skip
        assert code_from(signed_in)
