"""Store.find_all runs prepared statements for plain values: the rows must be exactly those of
the statement built ad hoc (the way find_all built every statement before), on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from crossconnect.store import Store, database_url, schema


def reference_find_all(store: Store, table: str, *, limit: int | None = None, after_seq: int | None = None, **where):
    t = schema.metadata.tables[table]
    stmt = select(t)
    for column, value in where.items():
        stmt = stmt.where(t.c[column] == value)
    if after_seq is not None:
        stmt = stmt.where(t.c.seq > after_seq)
    if "seq" in t.c:
        stmt = stmt.order_by(t.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    with store.engine.begin() as c:
        return [dict(r._mapping) for r in c.execute(stmt)]


def _operation(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"op-{n}",
        "subscription_id": "sub-a" if n % 2 else "sub-b",
        "location": "westeurope",
        "kind": "put",
        "resource_key": f"/subscriptions/sub/resourcegroups/rg/r{n % 3}",
        "resource_type": "Microsoft.Network/things",
        "status": "InProgress" if n % 3 else "Succeeded",
        "payload": {"n": n},
        "due_at": float(n),
        "created_at": float(n),
        **extra,
    }


def test_prepared_find_all_matches_ad_hoc_statements(store: Store) -> None:
    for n in range(1, 13):
        extra = {"lease_owner": "me", "lease_until": 5.0} if n % 4 == 0 else {}
        store.insert("operations", _operation(n, **extra))
    queries: list[dict[str, Any]] = [
        {},
        {"status": "InProgress"},
        {"resource_key": "/subscriptions/sub/resourcegroups/rg/r1", "status": "InProgress"},
        {"status": "InProgress", "resource_key": "/subscriptions/sub/resourcegroups/rg/r1"},
        {"id": "op-7"},
        {"id": "missing"},
        {"due_at": 4.0},
        {"lease_owner": None},  # IS NULL: the ad hoc path
        {"lease_owner": "me", "lease_until": 5.0},
        {"subscription_id": "sub-a", "limit": 2},
        {"subscription_id": "sub-a", "after_seq": 3},
        {"subscription_id": "sub-a", "after_seq": 3, "limit": 1},
        {"status": "InProgress", "limit": 0},
        {"limit": 5, "after_seq": 0},
    ]
    for query in queries:
        for _ in range(2):  # the second time from the statement cache
            assert store.find_all("operations", **query) == reference_find_all(store, "operations", **query), query
    assert store.find("operations", id="op-7") == reference_find_all(store, "operations", id="op-7")[0]
    assert store.find("operations", id="missing") is None


def test_prepared_find_all_binds_per_column_type(store: Store) -> None:
    store.insert("signing_keys", {"kid": "k1", "private_pem": "x", "created_at": 1.0, "active": True})
    store.insert("signing_keys", {"kid": "k2", "private_pem": "y", "created_at": 2.0, "active": False})
    for value in (True, False):
        assert store.find_all("signing_keys", active=value) == reference_find_all(store, "signing_keys", active=value)
    assert [r["kid"] for r in store.find_all("signing_keys", active=True)] == ["k1"]
    assert store.find("signing_keys", kid="k2")["active"] is False


def _operation_indexes(store: Store) -> set[str]:
    from sqlalchemy import inspect

    with store.engine.connect() as c:
        return {i["name"] for i in inspect(c).get_indexes("operations") if i["name"].startswith("ix_")}


def test_operation_indexes_after_upgrade_from_0003(store: Store) -> None:
    """A store made before 0004 ends with the same operation indexes as a new one."""
    from alembic import command
    from alembic.config import Config

    from crossconnect.store import store as store_module

    assert _operation_indexes(store) == {"ix_operations_resource_status", "ix_operations_status_due"}
    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003_users")
    assert _operation_indexes(store) == {"ix_operations_resource_key", "ix_operations_status"}
    store.migrate()
    assert _operation_indexes(store) == {"ix_operations_resource_status", "ix_operations_status_due"}


def test_running_operations_of_a_resource_do_not_scan_all_running(tmp_path: Path) -> None:
    import sqlite3

    s = Store(database_url(None, tmp_path))
    s.migrate()
    s.dispose()
    sql, _, _ = s._fast_sql("operations", ("resource_key", "status"), False, False)
    plan = sqlite3.connect(tmp_path / "crossconnect.db").execute(f"EXPLAIN QUERY PLAN {sql}", ("k", "InProgress"))
    assert "ix_operations_resource_status (resource_key=? AND status=?)" in str(plan.fetchall())


def _device_code(code_hash: str, user_code: str) -> dict[str, Any]:
    return {"device_code_hash": code_hash, "user_code": user_code, "tenant_id": "t", "client_id": "c",
            "scope": "", "user_id": None, "expires_at": 5.0}  # fmt: skip


def test_insert_if_absent_and_delete_before(store: Store) -> None:
    assert store.insert_if_absent("redeemed_codes", {"jti": "a", "expires_at": 1.0})
    assert not store.insert_if_absent("redeemed_codes", {"jti": "a", "expires_at": 9.0})
    with store.tx() as conn:  # a conflict inside a transaction leaves the transaction usable
        assert not store.insert_if_absent("redeemed_codes", {"jti": "a", "expires_at": 9.0}, conn)
        assert store.insert_if_absent("redeemed_codes", {"jti": "b", "expires_at": 2.0}, conn)
    assert store.find("redeemed_codes", jti="a") == {"jti": "a", "expires_at": 1.0}  # the first row stays
    # any unique key counts, not only the primary key
    assert store.insert_if_absent("device_codes", _device_code("h1", "ABC"))
    assert not store.insert_if_absent("device_codes", _device_code("h2", "ABC"))
    assert store.count("device_codes") == 1
    assert store.delete_before("redeemed_codes", "expires_at", 2.0) == 1
    assert [r["jti"] for r in store.find_all("redeemed_codes")] == ["b"]


def test_sign_in_tables_after_upgrade_from_0004(store: Store) -> None:
    """A store made before 0005 gets the sign-in tables; a downgrade drops them."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from crossconnect.store import store as store_module

    def tables() -> set[str]:
        with store.engine.connect() as c:
            return set(inspect(c).get_table_names())

    sign_in = {"device_codes", "redeemed_codes", "sign_in_failures"}
    assert sign_in <= tables()
    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004_operation_indexes")
    assert not sign_in & tables()
    store.migrate()
    assert sign_in <= tables()


def test_remembered_values_last_until_the_next_write(store: Store) -> None:
    """SQLite (one owning process): a derived value is computed once until a write ends;
    PostgreSQL (replicas write too): computed on every call."""
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    first = store.remembered("k", compute)
    again = store.remembered("k", compute)
    if store.is_sqlite:
        assert (first, again, len(calls)) == (1, 1, 1)
    else:
        assert (first, again, len(calls)) == (1, 2, 2)
    store.set_meta("touched", 1)  # any write forgets
    assert store.remembered("k", compute) == len(calls) == (2 if store.is_sqlite else 3)


def test_a_value_computed_across_a_write_is_not_remembered(store: Store) -> None:
    """A write that ends while the value is being computed may have made it stale."""

    def compute_while_writing() -> str:
        store.set_meta("during", 1)
        return "stale?"

    assert store.remembered("k", compute_while_writing) == "stale?"
    assert store.remembered("k", lambda: "fresh") == "fresh"


def test_reading_keeps_remembered_values(store: Store) -> None:
    """Read-only statements (the reconciler's every second) do not forget what tx() would."""
    store.remembered("k", lambda: "kept")
    with store.reading() as conn:
        conn.execute(select(schema.meta.c.key)).all()
    assert store.remembered("k", lambda: "recomputed") == ("kept" if store.is_sqlite else "recomputed")
    with store.tx() as conn:
        conn.execute(select(schema.meta.c.key)).all()
    assert store.remembered("k", lambda: "after tx") == "after tx"
