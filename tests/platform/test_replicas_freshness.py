"""Two replicas on one PostgreSQL database, as a client sees them one request after another:

* what a replica remembers never outlives a write on the other (docs/behaviour.md "What replicas
  cache and how they learn of writes"): a client that got a write's answer from one replica reads
  it from the other at once — resources, tags and access rights (a revoked role denies at once);
* a request waiting on the database (a record another transaction holds) does not hold up the
  other requests of its replica (store work runs off the event loop);
* database connections the server closed (a restart, ``pg_terminate_backend``) are replaced
  without an error for the next request (no ``pool_pre_ping``).

PostgreSQL only: a SQLite store belongs to one server process (its races are in
test_concurrency_replicas.py, its caching rule in test_store_queries.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support import Server, require_postgres, running_replicas
from tests.support.rbac import ROLE_IDS

pytestmark = pytest.mark.slow

RG_API = {"api-version": "2021-04-01"}


@pytest.fixture(scope="module")
def pair(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database; a SQLite store is owned by one server process")
    require_postgres()
    with running_replicas(tmp_path_factory.mktemp("freshness")) as servers:
        yield servers


@pytest.fixture
def clients(pair: tuple[Server, Server]) -> Iterator[dict[tuple[int, str], httpx.Client]]:
    pair[1].reset()
    made: dict[tuple[int, str], httpx.Client] = {}
    for i, server in enumerate(pair):
        for role in ("admin", "partner"):
            made[(i, role)] = httpx.Client(
                base_url=server.base_url,
                verify=server.tls(),
                headers={"Authorization": f"Bearer {server.token(role)}"},
                timeout=60,
            )
    try:
        yield made
    finally:
        for c in made.values():
            c.close()


def group_path(server: Server, name: str) -> str:
    return f"/subscriptions/{server.subscription('partner')}/resourceGroups/{name}"


def put_group(client: httpx.Client, path: str, tags: dict[str, str] | None = None) -> httpx.Response:
    r = client.put(path, params=RG_API, json={"location": "westus", "tags": tags or {}})
    assert r.status_code in (200, 201), r.text
    return r


def test_a_write_on_one_replica_is_read_on_the_other_at_once(
    pair: tuple[Server, Server], clients: dict[tuple[int, str], httpx.Client]
) -> None:
    """200 times: a write on one replica, then at once a read on the other (alternating), of a
    group both replicas have read (and remember) just before: the read shows the write."""
    path = group_path(pair[0], "fresh-rg")
    put_group(clients[(0, "admin")], path)
    tags_path = f"{path}/providers/Microsoft.Resources/tags/default"
    for i in range(200):
        writer, reader = i % 2, 1 - i % 2
        for replica in (0, 1):  # both remember the current state
            assert clients[(replica, "partner")].get(path, params=RG_API).status_code == 200
        if i % 4 < 2:
            put_group(clients[(writer, "admin")], path, {"i": str(i)})
        else:
            r = clients[(writer, "admin")].put(tags_path, params=RG_API, json={"properties": {"tags": {"i": str(i)}}})
            assert r.status_code == 200, r.text
        got = clients[(reader, "partner")].get(path, params=RG_API)
        assert got.status_code == 200 and got.json()["tags"] == {"i": str(i)}, (i, got.text)
    # a delete on one is a 404 on the other
    r = clients[(0, "admin")].delete(path, params=RG_API)
    assert r.status_code in (200, 202), r.text
    deadline = time.time() + 30
    while clients[(0, "partner")].get(path, params=RG_API).status_code != 404:
        assert time.time() < deadline
        time.sleep(0.1)
    assert clients[(1, "partner")].get(path, params=RG_API).status_code == 404


def test_a_role_granted_or_revoked_on_one_replica_applies_on_the_other_at_once(
    pair: tuple[Server, Server], clients: dict[tuple[int, str], httpx.Client]
) -> None:
    """The partner (Network Contributor) may read a group but not write it. Granted Contributor
    on the group through one replica, it may write it through the other at once; revoked through
    one, it is refused (403) by the other at once. Ten rounds, alternating replicas."""
    path = group_path(pair[0], "rbac-fresh-rg")
    put_group(clients[(0, "admin")], path)
    partner = pair[0].env["partner"]["object_id"]
    sub = pair[0].subscription("partner")
    role_id = f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS['Contributor']}"
    body = {"properties": {"roleDefinitionId": role_id, "principalId": partner, "principalType": "ServicePrincipal"}}
    for i in range(10):
        a, b = i % 2, 1 - i % 2
        # both replicas have just refused (and remembered the access rules of) the partner's write
        for replica in (0, 1):
            r = clients[(replica, "partner")].put(path, params=RG_API, json={"location": "westus"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
        assignment = f"{path}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        r = clients[(a, "admin")].put(assignment, params={"api-version": "2022-04-01"}, json=body)
        assert r.status_code == 201, r.text
        r = clients[(b, "partner")].put(path, params=RG_API, json={"location": "westus", "tags": {"i": str(i)}})
        assert r.status_code == 200, (i, r.text)
        r = clients[(b, "admin")].delete(assignment, params={"api-version": "2022-04-01"})
        assert r.status_code == 200, r.text
        r = clients[(a, "partner")].put(path, params=RG_API, json={"location": "westus"})
        assert r.status_code == 403, (i, r.text)


def test_a_poll_answered_from_memory_is_still_authorized(
    pair: tuple[Server, Server], clients: dict[tuple[int, str], httpx.Client]
) -> None:
    """A poll a replica remembers is answered on the event loop, but access control runs there
    as on a thread: a service principal with no role on the operation's resource is refused
    (403), is answered once granted Reader on the group through the other replica, and is
    refused again at once when that role is revoked there."""
    from azure.identity import ClientSecretCredential

    from tests.support import ARM_SCOPE
    from tests.support.rbac import create_identity

    server = pair[0]
    group = group_path(server, "poll-rbac-rg")
    put_group(clients[(0, "admin")], group)
    status_path = _running_operation(server, clients[(0, "admin")], group)
    for _ in range(2):  # read once, then answered from memory
        assert clients[(0, "partner")].get(status_path).json()["status"] == "InProgress"
    who = create_identity(server, "poll-outsider")
    token = ClientSecretCredential(
        who.tenant_id, who.client_id, who.client_secret, authority=server.base_url,
        disable_instance_discovery=True, connection_verify=server.ca,
    ).get_token(ARM_SCOPE).token  # fmt: skip

    def poll() -> httpx.Response:
        with httpx.Client(base_url=server.base_url, verify=server.tls(), timeout=30) as c:
            return c.get(status_path, headers={"Authorization": f"Bearer {token}"})

    r = poll()
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
    assert "Microsoft.Network/locations/operations/read" in r.json()["error"]["message"], r.text
    sub = server.subscription("partner")
    role_id = f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS['Reader']}"
    body = {
        "properties": {"roleDefinitionId": role_id, "principalId": who.object_id, "principalType": "ServicePrincipal"}
    }
    assignment = f"{group}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    r = clients[(1, "admin")].put(assignment, params={"api-version": "2022-04-01"}, json=body)
    assert r.status_code == 201, r.text
    r = poll()
    assert r.status_code == 200 and r.json()["status"] == "InProgress", r.text
    r = clients[(1, "admin")].delete(assignment, params={"api-version": "2022-04-01"})
    assert r.status_code == 200, r.text
    r = poll()
    assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text


def _waiting_for_locks(database: str) -> int:
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
        return int(row[0]) if row else 0


@contextmanager
def record_held(database: str, path: str) -> Iterator[Callable[[], None]]:
    """The lock of ``path``'s record held by another session (as a transaction of another replica
    would hold it) until the block ends or the ``release`` it yields is called."""
    import psycopg

    from crossconnect.store.store import _lock_id

    with psycopg.connect(database, autocommit=True) as holder:
        key = _lock_id(path.lower())
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))

        def release() -> None:
            holder.execute("SELECT pg_advisory_unlock(%s)", (key,))

        yield release


def test_a_request_waiting_on_the_database_does_not_hold_up_the_others(
    pair: tuple[Server, Server], clients: dict[tuple[int, str], httpx.Client]
) -> None:
    """The test holds the lock of a group's record (as a transaction of another replica would):
    a PUT of that group on replica 0 waits for it. Meanwhile replica 0 answers 50 GETs and a PUT
    of another group, all while that PUT still waits; released, the PUT completes (200)."""
    server = pair[0]
    assert server.database is not None
    held_path = group_path(server, "held-rg")
    other_path = group_path(server, "other-rg")
    put_group(clients[(0, "admin")], held_path)
    put_group(clients[(0, "admin")], other_path)
    outcome: dict[str, Any] = {}

    def blocked_put() -> None:
        outcome["response"] = clients[(0, "admin")].put(
            held_path, params=RG_API, json={"location": "westus", "tags": {"after": "wait"}}
        )

    with record_held(server.database, held_path) as release:
        waiter = threading.Thread(target=blocked_put)
        waiter.start()
        deadline = time.time() + 30
        while _waiting_for_locks(server.database) == 0:
            assert time.time() < deadline, "the PUT never reached the lock"
            time.sleep(0.05)
        for _ in range(50):
            r = clients[(0, "partner")].get(other_path, params=RG_API)
            assert r.status_code == 200, r.text
        put_group(clients[(0, "admin")], other_path, {"during": "wait"})
        assert waiter.is_alive() and "response" not in outcome, "the held PUT did not wait"
        release()
    waiter.join(60)
    assert outcome["response"].status_code == 200, outcome["response"].text
    got = clients[(1, "partner")].get(held_path, params=RG_API).json()
    assert got["tags"] == {"after": "wait"}


def test_a_remembered_get_is_answered_while_every_store_thread_waits(
    pair: tuple[Server, Server], clients: dict[tuple[int, str], httpx.Client]
) -> None:
    """More PUTs than the replica has store threads wait on a record the test holds; GETs of a
    group the replica remembers, and polls of an operation it remembers, are still answered at
    once (served on the event loop after the generation check made there; a read the replica must
    make waits for a thread, and shows what the other replica wrote:
    test_a_write_on_one_replica_is_read_on_the_other_at_once), and so is the refusal of a write
    the caller may not make (a write's checks are made there before it takes a thread)."""

    from crossconnect.store import freshness
    from crossconnect.store.store import STORE_THREADS

    server = pair[0]
    assert server.database is not None
    held_path = group_path(server, "held-all-rg")
    read_path = group_path(server, "read-rg")
    put_group(clients[(0, "admin")], held_path)
    put_group(clients[(0, "admin")], read_path)
    status_path = _running_operation(server, clients[(0, "admin")], read_path)

    def client(role: str, timeout: float) -> httpx.Client:
        made = httpx.Client(
            base_url=server.base_url, verify=server.tls(), timeout=timeout,
            headers={"Authorization": f"Bearer {server.token(role)}"},
        )  # fmt: skip
        assert made.get(held_path, params=RG_API).status_code == 200  # connected before the clock starts
        return made

    writers = [client("admin", 60) for _ in range(STORE_THREADS + 2)]
    reader = client("partner", 5)
    responses: list[httpx.Response] = []

    def blocked_put(i: int) -> None:
        responses.append(writers[i].put(held_path, params=RG_API, json={"location": "westus", "tags": {"i": str(i)}}))

    try:
        with record_held(server.database, held_path) as release:
            # what replica 0 remembers is made anew from here (another replica wrote), and is
            # served for freshness.MAX_AGE seconds at most: the rest of the test takes less
            put_group(clients[(1, "admin")], read_path, {"from": "replica 1"})
            started = time.monotonic()
            assert reader.get(read_path, params=RG_API).json()["tags"] == {"from": "replica 1"}
            assert reader.get(status_path).json()["status"] == "InProgress"  # read once: remembered
            waiters = [threading.Thread(target=blocked_put, args=(i,)) for i in range(len(writers))]
            for waiter in waiters:
                waiter.start()
            deadline = time.time() + 30
            while _waiting_for_locks(server.database) < STORE_THREADS:
                assert time.time() < deadline, "the PUTs never filled the store threads"
                time.sleep(0.02)
            for _ in range(20):
                r = reader.get(read_path, params=RG_API)
                assert r.status_code == 200 and r.json()["tags"] == {"from": "replica 1"}, r.text
                r = reader.get(status_path)
                assert r.status_code == 200 and r.json()["status"] == "InProgress", r.text
                # a write's checks are made there too: one the caller may not make is refused
                r = reader.put(read_path, params=RG_API, json={"location": "westus"})
                assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
            assert time.monotonic() - started < freshness.MAX_AGE, "too slow a machine to tell"
            assert not responses, "the held PUTs did not wait"
            release()
        for waiter in waiters:
            waiter.join(60)
    finally:
        for c in (*writers, reader):
            c.close()
    assert sorted(r.status_code for r in responses) == [200] * len(writers), [r.text for r in responses]


def _running_operation(server: Server, admin: httpx.Client, group: str) -> str:
    """A route filter PUT in ``group`` whose operation stays InProgress (an hour of injected
    latency): the path of its Azure-AsyncOperation status URL."""
    route_filter = f"{group}/providers/Microsoft.Network/routeFilters/held-filter"
    r = server.operator("POST", "/faults-latency", {"resourceId": route_filter, "seconds": 3600})
    assert r.status_code == 200, r.text
    r = admin.put(route_filter, params={"api-version": "2023-09-01"}, json={"location": "westus"})
    assert r.status_code == 201, r.text
    return httpx.URL(r.headers["Azure-AsyncOperation"]).raw_path.decode()


def test_connections_the_database_closed_are_replaced_without_an_error(
    pair: tuple[Server, Server], clients: dict[tuple[int, str], httpx.Client]
) -> None:
    """Five times: every connection of both replicas is terminated (``pg_terminate_backend``, as a
    database restart or failover does); the next GETs and writes on both answer as before, no 500."""
    import psycopg

    database = pair[0].database
    assert database is not None
    name = database.rsplit("/", 1)[1]
    path = group_path(pair[0], "reconnect-rg")
    put_group(clients[(0, "admin")], path)
    for i in range(5):
        for replica in (0, 1):  # connections in use by every kind of request before the cut
            assert clients[(replica, "partner")].get(path, params=RG_API).status_code == 200
            put_group(clients[(replica, "admin")], path, {"before": str(i)})
        with psycopg.connect(database, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchone()
        assert killed is not None and killed[0] > 0
        time.sleep(0.2)  # the server-side ends of the connections are closed
        for replica in (0, 1):
            r = clients[(replica, "partner")].get(path, params=RG_API)
            assert r.status_code == 200, (i, replica, r.text)
            r = clients[(replica, "admin")].put(path, params=RG_API, json={"location": "westus", "tags": {"n": str(i)}})
            assert r.status_code == 200, (i, replica, r.text)
            assert clients[(1 - replica, "partner")].get(path, params=RG_API).json()["tags"] == {"n": str(i)}
