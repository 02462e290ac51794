"""The store's tools for integrity across replicas, on both backends: two ``Store`` objects on one
database stand for two replicas (SQLite: two engines on one file, as two threads of the owning
process would be), writing at once from threads.

- ``set_meta`` of a new key racing another never fails (it was SELECT-then-INSERT: a
  UniqueViolation, answered 500);
- ``update_meta`` changes of one value take turns: none is lost;
- ``lock`` holds until the transaction ends;
- migration 0006 (one role assignment per principal, role and scope) upgrades a store from 0005
  that holds duplicates a race left, keeping the oldest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from crossconnect.store import Store
from tests.support.races import at_once


def test_a_new_meta_key_written_at_once_never_fails(store: Store, twin: Store) -> None:
    for round_ in range(20):
        key = f"race.{round_}"
        at_once([lambda s=(store, twin)[n % 2], n=n, k=key: s.set_meta(k, {"n": n}) for n in range(8)])
        assert store.get_meta(key) in [{"n": n} for n in range(8)]


def test_update_meta_loses_no_change(store: Store, twin: Store) -> None:
    def append(s: Store, item: int) -> Callable[[], Any]:
        return lambda: s.update_meta("race.list", lambda current: [*(current or []), item])

    at_once([append((store, twin)[i % 2], i) for i in range(80)])
    assert sorted(store.get_meta("race.list")) == list(range(80))
    assert sorted(twin.get_meta("race.list")) == list(range(80))


def test_get_meta_for_update_needs_the_transaction(store: Store) -> None:
    with pytest.raises(ValueError, match="needs the transaction"):
        store.get_meta("k", for_update=True)


def test_a_lock_holds_until_the_transaction_ends(store: Store, twin: Store) -> None:
    """The second holder gets the lock only after the first committed, and sees its write."""
    events: list[str] = []
    first_has_it = threading.Event()

    def first() -> None:
        with store.tx() as conn:
            store.lock(conn, "record")
            first_has_it.set()
            time.sleep(0.3)
            store.set_meta("seen", "first", conn)
            events.append("first commits")

    def second() -> None:
        first_has_it.wait(5)
        with twin.tx() as conn:
            twin.lock(conn, "record")
            events.append(f"second reads {twin.get_meta('seen', conn)}")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: f(), [first, second]))
    assert events == ["first commits", "second reads first"]


def _assignment(seq: int, name: str, principal: str = "p1", role: str = "r1") -> dict[str, Any]:
    return {
        "seq": seq, "key": f"/subscriptions/s/providers/microsoft.authorization/roleassignments/{name}", "name": name,
        "scope": "/subscriptions/s", "scope_key": "/subscriptions/s", "subscription_id": "s", "tenant_id": "t",
        "principal_id": principal, "principal_type": "ServicePrincipal", "role_definition_id": role,
        "created_at": float(seq), "updated_at": float(seq),
    }  # fmt: skip


def _indexes(store: Store) -> set[str]:
    with store.engine.connect() as c:
        return {i["name"] for i in inspect(c).get_indexes("role_assignments") if i.get("unique")}


def test_one_role_assignment_after_upgrade_from_0005(store: Store, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from crossconnect.store import store as store_module

    index = "uq_role_assignments_principal_role_scope"
    assert index in _indexes(store)
    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005_sign_in_state")
    assert index not in _indexes(store)
    # what the race left: three assignments of one principal, role and scope under three names
    store.insert("rbac_generation", {"id": 1, "token": "before"})
    for seq, name in ((3, "b"), (1, "a"), (5, "c")):
        store.insert("role_assignments", _assignment(seq, name))
    store.insert("role_assignments", _assignment(4, "other", role="r2"))
    store.migrate()
    assert index in _indexes(store)
    assert [(r["name"], r["role_definition_id"]) for r in store.find_all("role_assignments")] == [
        ("a", "r1"),
        ("other", "r2"),
    ]
    assert store.find("rbac_generation", id=1)["token"] != "before"  # every replica reloads
    with pytest.raises(IntegrityError):
        store.insert("role_assignments", _assignment(9, "d"))
    store.migrate()  # at head: nothing more to do
    assert len(store.find_all("role_assignments")) == 2
