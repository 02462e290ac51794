"""Store.find_all runs prepared statements for plain values: the rows must be exactly those of
the statement built ad hoc (the way find_all built every statement before), on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
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

    assert _operation_indexes(store) == OPERATION_INDEXES
    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003_users")
    assert _operation_indexes(store) == {"ix_operations_resource_key", "ix_operations_status"}
    store.migrate()
    assert _operation_indexes(store) == OPERATION_INDEXES


OPERATION_INDEXES = {"ix_operations_resource_status", "ix_operations_status_due", "ix_operations_finished"}


def test_finished_index_after_upgrade_from_0009(store: Store) -> None:
    """0010 adds the index the purge reads (to a store made before it, with operations in it), and
    the purge's statement reads a range of it instead of every operation."""
    from alembic import command
    from alembic.config import Config

    from crossconnect.arm.operations import PURGE_BATCH
    from crossconnect.store import store as store_module

    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009_deployments")
    assert _operation_indexes(store) == OPERATION_INDEXES - {"ix_operations_finished"}
    for n in range(200):
        store.insert("operations", _operation(n, finished_at=None if n % 3 else float(n)))
    store.migrate()
    assert _operation_indexes(store) == OPERATION_INDEXES
    assert store.count("operations") == 200
    # the purge's batch (arm/operations.py): finished before the cutoff, oldest first
    t = schema.operations
    expired = (t.c.status != "InProgress") & t.c.finished_at.is_not(None) & (t.c.finished_at < 50.0)
    batch = select(t.c.seq).where(expired).order_by(t.c.finished_at).limit(PURGE_BATCH)
    sql = str(batch.compile(store.engine, compile_kwargs={"literal_binds": True}))
    plan = _plan(store, sql, ())
    assert "ix_operations_finished" in plan and "TEMP B-TREE" not in plan and "Sort" not in plan, plan


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
    with store.fresh_reads():
        store.remembered("k", lambda: "kept")
        with store.tx() as conn:  # a transaction that wrote nothing forgets nothing
            conn.execute(select(schema.meta.c.key)).all()
        assert store.remembered("k", lambda: "after tx") == "kept"
        store.set_meta("touched", 1)
        assert store.remembered("k", lambda: "after a write") == "after a write"


def test_a_write_forgets_what_was_read_from_its_tables_only(store: Store) -> None:
    """Rows and values read from a table are forgotten when a transaction writing that table
    commits; what was read from other tables is kept (SQLite; PostgreSQL within one
    ``fresh_reads``, where this process's own writes are known)."""
    store.insert(
        "subscriptions", {"id": "sub-1", "tenant_id": "t", "display_name": "one", "state": "Enabled", "created_at": 1.0}
    )
    with store.fresh_reads():
        assert store.remembered("sub", lambda: store.find("subscriptions", id="sub-1"), "subscriptions") is not None
        assert store.find("subscriptions", id="sub-1")["display_name"] == "one"
        store.set_meta("other-table", 1)  # meta: the subscription stays remembered
        assert store.remembered("sub", lambda: None, "subscriptions") is not None
        assert store.remembered("any", lambda: "computed") == "computed"
        store.update_where("subscriptions", {"display_name": "two"}, id="sub-1")
        assert store.remembered("sub", lambda: None, "subscriptions") is None
        assert store.find("subscriptions", id="sub-1")["display_name"] == "two"
        # a write whose table is not known forgets everything
        store.remembered("meta-read", lambda: "kept", "meta")
        with store.tx() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch_forget (x INTEGER)")
        assert store.remembered("meta-read", lambda: "recomputed", "meta") == "recomputed"


def _resource(
    n: int,
    name: str,
    *,
    type_key: str = "microsoft.network/expressroutecrossconnections",
    group: str = "rg-a",
    subscription: str = "sub-a",
) -> dict[str, Any]:
    key = f"/subscriptions/{subscription}/resourcegroups/{group}/providers/{type_key}/{name}".lower()
    return {"key": key, "id": key, "type_key": type_key, "subscription_id": subscription, "group_key": group,
            "parent_key": "", "name": name, "body": {"n": n}, "etag": str(n), "created_at": 1.0,
            "updated_at": 1.0}  # fmt: skip


def test_list_resources_by_name(store: Store) -> None:
    """The look-up by name matches without case, within the scope, in seq order, after a seq."""
    xc = "microsoft.network/expressroutecrossconnections"
    rows = [
        _resource(1, "aaaa-0001"),
        _resource(2, "AAAA-0001", group="rg-b"),
        _resource(3, "bbbb-0002"),
        _resource(4, "aaaa-0001", type_key="microsoft.network/expressroutecircuits"),
        _resource(5, "aaaa-0001", subscription="sub-b"),
        _resource(6, "aaaa-00011"),
    ]
    for row in rows:
        store.insert("resources", row)

    def names(**kwargs: Any) -> list[tuple[str, str]]:
        found = store.list_resources(subscription_id="sub-a", type_key=xc, **kwargs)
        return [(r["group_key"], r["name"]) for r in found]

    assert names(name="Aaaa-0001") == [("rg-a", "aaaa-0001"), ("rg-b", "AAAA-0001")]
    assert names(name="aaaa-0001", group_key="RG-B") == [("rg-b", "AAAA-0001")]
    assert names(name="aaaa-0001", limit=1) == [("rg-a", "aaaa-0001")]
    first = store.list_resources(subscription_id="sub-a", type_key=xc, name="aaaa-0001")[0]
    assert names(name="aaaa-0001", after_seq=first["seq"]) == [("rg-b", "AAAA-0001")]
    assert names(name="aaaa") == [] and names(name="aaaa-000%") == [] and names(name="x\x00") == []
    assert first["body"] == {"n": 1}  # whole rows, decoded as find_all decodes them
    with store.tx() as conn:
        assert names(name="BBBB-0002", conn=conn) == [("rg-a", "bbbb-0002")]


def _resource_indexes(store: Store) -> set[str]:
    from sqlalchemy import text

    # from the catalogs: SQLAlchemy's SQLite reflection skips an index on an expression
    if store.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'resources'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'resources'"
    with store.engine.connect() as c:
        return {name for (name,) in c.execute(text(sql)) if name.startswith("ix_")}


def test_resource_indexes_after_upgrade_from_0007(store: Store) -> None:
    """A store made before 0008 ends with the same resource indexes as a new one, and its rows
    are found by name."""
    from alembic import command
    from alembic.config import Config

    from crossconnect.store import store as store_module

    new = {"ix_resources_scope_seq", "ix_resources_type_seq", "ix_resources_name", "ix_resources_parent"}
    assert _resource_indexes(store) == new
    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007_groups")
    assert _resource_indexes(store) == {"ix_resources_scope", "ix_resources_parent"}
    store.insert("resources", _resource(1, "CCCC-0003"))
    store.migrate()
    assert _resource_indexes(store) == new
    found = store.list_resources(subscription_id="sub-a", type_key="microsoft.network/expressroutecrossconnections",
                                 name="cccc-0003")  # fmt: skip
    assert [r["name"] for r in found] == ["CCCC-0003"]


def _plan(store: Store, sql: str, params: tuple[Any, ...]) -> str:
    """The query plan of ``sql``; PostgreSQL told to avoid sequential scans (a table of a few rows
    is scanned whatever its indexes) and sorts, so the plan shows what the indexes serve."""
    held = store.engine.raw_connection()
    try:
        cursor = held.driver_connection.cursor()
        if store.is_sqlite:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("SET enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        return str(cursor.fetchall())
    finally:
        held.close()


def test_resource_pages_and_names_are_read_from_an_index(store: Store) -> None:
    """A keyset page of a subscription's or a group's resources reads its rows in seq order from
    an index (no sort of the whole scope per page), and the look-up by name uses its index."""
    from crossconnect.store.store import _named_resources

    for n in range(1, 30):
        store.insert("resources", _resource(n, f"name-{n:04d}", group=f"rg-{n % 3}"))
    mark = "?" if store.is_sqlite else "%s"
    xc = "microsoft.network/expressroutecrossconnections"
    by_subscription, _, _ = store._fast_sql("resources", ("subscription_id", "type_key"), True, True)
    by_group, _, _ = store._fast_sql("resources", ("subscription_id", "type_key", "group_key"), True, True)
    named = str(
        _named_resources({"subscription_id": "sub-a", "type_key": xc}, "NAME-0007", 0, 101).compile(
            store.engine, compile_kwargs={"literal_binds": True}
        )
    )
    plans = {
        "ix_resources_type_seq": _plan(store, by_subscription, ("sub-a", xc, 0, 101)),
        "ix_resources_scope_seq": _plan(store, by_group, ("sub-a", xc, "rg-1", 0, 101)),
        "ix_resources_name": _plan(store, named, ()),
    }
    assert mark in by_subscription
    for index, plan in plans.items():
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, (index, plan)
        # SQLite's choice is fixed by the equality columns; PostgreSQL's follows the statistics of
        # a 29-row table (it may take ix_resources_type_seq and filter the group): any index
        # range in seq order will do there.
        assert index in plan if store.is_sqlite else "Index Scan using ix_resources_" in plan, (index, plan)


def test_a_page_deep_in_a_large_listing_is_an_index_range_on_both_backends(store: Store) -> None:
    """The SDK pager's page 26 of 50: with 5,000 cross connections among 15,000 other resources and
    the planner's own statistics, nothing forced, the page reads its 101 rows
    from the index in seq order, starting at the continuation: no sort, no scan of the scope."""
    xc = "microsoft.network/expressroutecrossconnections"
    rows = []
    for n in range(5000):  # each cross connection between three resources of another subscription
        rows.append(_resource(n, f"xc-{n:05d}", group=f"rg-{n % 7}"))
        rows += [_resource(n, f"c-{n:05d}-{i}", type_key=f"microsoft.network/t{i}", subscription="sub-b")
                 for i in range(3)]  # fmt: skip
    with store.tx() as conn:
        store.insert_resources(rows, conn)
    middle = store.list_resources(subscription_id="sub-a", type_key=xc, after_seq=0, limit=2500)[-1]["seq"]
    sql, _, _ = store._fast_sql("resources", ("subscription_id", "type_key"), True, True)
    held = store.engine.raw_connection()
    try:
        cursor = held.driver_connection.cursor()
        if store.is_sqlite:
            cursor.execute("ANALYZE")
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", ("sub-a", xc, middle, 101))
        else:
            cursor.execute("ANALYZE resources")
            cursor.execute(f"EXPLAIN {sql}", ("sub-a", xc, middle, 101))
        plan = str(cursor.fetchall())
    finally:
        held.close()
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    if store.is_sqlite:
        assert "ix_resources_type_seq (subscription_id=? AND type_key=? AND seq>?)" in plan, plan
    else:
        # PostgreSQL's own choice at this size: ix_resources_type_seq, or the primary key from the
        # continuation on with the scope as a filter (it reads a few rows of other scopes per row
        # of the page; its statistics guess the scope's share). Either is a range starting at the
        # continuation in seq order, never a sort of the scope.
        conditions = [line for line in plan.split("',)") if "Index Cond:" in line]
        assert "Index Scan using" in plan and any("seq > " in line for line in conditions), plan
    page = store.list_resources(subscription_id="sub-a", type_key=xc, after_seq=middle, limit=101)
    assert [r["name"] for r in page] == [f"xc-{n:05d}" for n in range(2500, 2601)]


def _record(key: str, parent_key: str = "", type_key: str = "t/circuits") -> dict[str, Any]:
    name = key.rsplit("/", 1)[-1]
    return {"key": key, "id": key.upper(), "type_key": type_key, "subscription_id": "sub", "group_key": "rg",
            "parent_key": parent_key, "name": name, "body": {"n": name}, "etag": "e"}  # fmt: skip


def test_find_in_matches_one_look_up_per_value(store: Store) -> None:
    """The batch fetch of a list page: the same rows as one find per value, in seq order."""
    for n in range(6):
        store.put_resource(_record(f"/c{n}"))
        for p in ("b", "a"):
            store.put_resource(_record(f"/c{n}/peerings/{p}", f"/c{n}", "t/circuits/peerings"))
    keys = ["/C4", "/c1", "/missing", "/c1", "\x00bad"]
    assert sorted(store.get_resources(keys)) == ["/c1", "/c4"]
    assert store.get_resources(keys)["/c4"] == store.get_resource("/c4")
    assert store.get_resources([]) == {}
    peerings = store.find_in("resources", "parent_key", ["/c4", "/c1"], type_key="t/circuits/peerings")
    expected = sorted(
        store.find_all("resources", parent_key="/c1", type_key="t/circuits/peerings")
        + store.find_all("resources", parent_key="/c4", type_key="t/circuits/peerings"),
        key=lambda r: r["seq"],
    )
    assert peerings == expected and [r["name"] for r in peerings] == ["b", "a", "b", "a"]
    assert store.find_in("resources", "parent_key", ["/c1"], type_key="other") == []


def test_find_in_reads_through_indexes(store: Store) -> None:
    """A page's circuits (by key) and their peerings (by parent) are found through indexes, not
    by reading the table, on both backends."""
    from sqlalchemy.dialects import postgresql, sqlite

    with store.tx() as conn:  # enough rows that the planner prefers an index where one serves
        for n in range(1000):
            store.put_resource(_record(f"/c{n}"), conn)
            store.put_resource(_record(f"/c{n}/peerings/a", f"/c{n}", "t/circuits/peerings"), conn)
    by_key = store._select_in("resources", "key", ())
    by_parent = store._select_in("resources", "parent_key", ("type_key",))
    params = {"p_in": ["/c1", "/c2"], "w_type_key": "t/circuits/peerings"}
    with store.engine.connect() as c:
        if store.is_sqlite:
            dialect: Any = sqlite.dialect()
            index_of = {by_key: "sqlite_autoindex_resources_1 (key=?)", by_parent: "ix_resources_parent (parent_key=?"}
            explain = "EXPLAIN QUERY PLAN "
        else:
            c.exec_driver_sql("ANALYZE resources")
            c.exec_driver_sql("SET enable_seqscan = off")  # the plan an index can give, whatever the table's size
            dialect = postgresql.dialect()
            index_of = {by_key: "resources_key_key", by_parent: "ix_resources_parent"}
            explain = "EXPLAIN "
        for stmt, index in index_of.items():
            sql = str(stmt.params(**params).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r) for r in c.exec_driver_sql(explain + sql))
            assert index in plan and "SCAN resources" not in plan and "Seq Scan" not in plan, (sql, plan)


def test_head_revision_is_alembics_and_a_store_at_head_starts_without_alembic(tmp_path: Path) -> None:
    """The start-up check of the schema version (no Alembic loaded when nothing is pending)."""
    import subprocess
    import sys

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from crossconnect.store import store as store_module

    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    assert store_module.head_revision() == ScriptDirectory.from_config(config).get_current_head()
    url = database_url(None, tmp_path)
    Store(url).migrate()  # a new database: migrated by Alembic
    check = (
        "import sys; from crossconnect.store import Store; Store(sys.argv[1]).migrate(); "
        "assert 'alembic' not in sys.modules, 'Alembic was loaded'"
    )
    subprocess.run([sys.executable, "-c", check, url], check=True, timeout=60)


def test_prepared_find_in_reads_through_indexes(store: Store) -> None:
    """The text ``find_in`` runs (a page's circuits by key, their peerings by parent, a write's
    running operations by resource) is served by the same indexes as the statement built ad hoc."""
    with store.tx() as conn:
        for n in range(1000):
            store.put_resource(_record(f"/c{n}"), conn)
            store.put_resource(_record(f"/c{n}/peerings/a", f"/c{n}", "t/circuits/peerings"), conn)
            store.insert("operations", _operation(n, resource_key=f"/c{n}", status="Succeeded"), conn)
    shapes = {
        ("resources", ("key in 2",)): (["/c1", "/c2"], "sqlite_autoindex_resources_1", "resources_key_key"),
        ("resources", ("type_key", "parent_key in 2")): (
            ["t/circuits/peerings", "/c1", "/c2"],
            "ix_resources_parent",
            "ix_resources_parent",
        ),
        ("operations", ("status", "resource_key in 2")): (
            ["InProgress", "/c1", "/c2"],
            "ix_operations_resource_status",
            "Index Scan using ix_operations_",  # by resource and status, or by status (none running)
        ),
    }
    with store.engine.connect() as c:
        if not store.is_sqlite:
            c.exec_driver_sql("ANALYZE")
            c.exec_driver_sql("SET enable_seqscan = off")
        for (table, columns), (params, sqlite_index, pg_index) in shapes.items():
            sql = store._fast_sql(table, columns, False, False)[0]
            explain = "EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN "
            plan = " ".join(str(r) for r in c.exec_driver_sql(explain + sql, tuple(params)))
            index = sqlite_index if store.is_sqlite else pg_index
            assert index in plan and f"SCAN {table}" not in plan and "Seq Scan" not in plan, (sql, plan)


def test_a_write_of_known_rows_forgets_only_their_look_ups(store: Store, twin: Store) -> None:
    """A transaction whose every write to ``resources`` named its row (an update by key) forgets
    the look-ups of those keys and the table's other reads (a list may hold the row); the look-ups
    of other keys stay remembered. A write whose rows are not known (an insert, a statement by
    condition) forgets every read of the table. ``twin`` (another process) changes rows behind
    the store's back: what the store then still answers is what it remembered."""
    from tests.support.store_rows import resource_row

    for key in ("/a", "/b"):
        store.put_resource(resource_row(key, {"properties": {"n": 1}}))
    with store.fresh_reads():

        def n(key: str) -> int:
            row = store.get_resource(key)
            assert row is not None
            return int(row["body"]["properties"]["n"])

        def listed() -> dict[str, int]:
            rows = store.find_all("resources", subscription_id="sub", group_key="rg", parent_key="")
            return {r["key"]: r["body"]["properties"]["n"] for r in rows}

        assert (n("/a"), n("/b"), listed()) == (1, 1, {"/a": 1, "/b": 1})  # remembered
        twin.put_resource(resource_row("/b", {"properties": {"n": 9}}))  # behind the store's back
        with store.tx() as conn:
            existing = store.get_resource("/a", conn)
            assert existing is not None
            store.replace_resource(resource_row("/a", {"properties": {"n": 2}}), existing, conn)
        assert n("/a") == 2  # its look-up was forgotten
        assert n("/b") == 1  # another key's look-up stays remembered (the twin's write is not seen)
        assert listed() == {"/a": 2, "/b": 9}  # every other read of the table was forgotten
        store.put_resource(resource_row("/c"))  # an insert: rows not known by key
        assert n("/b") == 9
        twin.put_resource(resource_row("/b", {"properties": {"n": 10}}))
        with store.tx() as conn:
            existing = store.get_resource("/a", conn)
            assert existing is not None
            store.replace_resource(resource_row("/a", {"properties": {"n": 3}}), existing, conn)
            store.update_where("resources", {"etag": "e2"}, conn, key="/c")  # by condition: unknown rows
        assert (n("/a"), n("/b")) == (3, 10)


def test_a_caller_that_changes_a_remembered_row_changes_only_its_own_copy(store: Store) -> None:
    """Rows served from memory are decoded anew for each caller (on PostgreSQL the read
    connections hand JSON back as text for that): a handler that changes a body in place must
    not change what the next request is served."""
    from tests.support.store_rows import resource_row

    store.put_resource(resource_row("/a", {"properties": {"n": 1, "list": [1]}}))
    with store.fresh_reads():
        first = store.get_resource("/a")
        assert first is not None
        first["body"]["properties"]["n"] = 99
        first["body"]["properties"]["list"].append(2)
        (listed,) = store.find_all("resources", key="/a")
        listed["body"]["properties"].clear()
        again = store.get_resource("/a")
        assert again is not None and again["body"]["properties"] == {"n": 1, "list": [1]}
        assert store.find_all("resources", key="/a")[0]["body"]["properties"] == {"n": 1, "list": [1]}


def test_a_committed_replace_is_remembered_as_the_look_up_of_its_row(
    store: Store, twin: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row ``replace_resource`` wrote is what a look-up of its key returns once the
    transaction committed (a long-running PUT's final GET needs no read); ``twin`` (another
    process) changes the row behind the store's back to show what is served from memory. When
    another thread's write ended between the transaction's last statement and its commit, the
    row is not remembered: that write may be a newer one of the same row."""
    from tests.support.store_rows import resource_row

    store.put_resource(resource_row("/a", {"properties": {"n": 1}}))

    def replace(n: int) -> None:
        with store.tx() as conn:
            existing = store.get_resource("/a", conn)
            assert existing is not None
            store.replace_resource(resource_row("/a", {"properties": {"n": n}}), existing, conn)

    def served() -> Any:
        row = store.get_resource("/a")
        assert row is not None
        return row["body"]["properties"]["n"]

    with store.fresh_reads():
        replace(2)
        twin.put_resource(resource_row("/a", {"properties": {"n": 7}}))  # behind the store's back
        assert served() == 2
    with store.fresh_reads():  # (PostgreSQL: the check sees the twin's write and forgets)
        if not store.is_sqlite:
            assert served() == 7
        forget = store._forget_reads

        def another_thread_ends_a_write_too(*args: Any, **kwargs: Any) -> None:
            forget(*args, **kwargs)
            forget({"meta"})

        monkeypatch.setattr(store, "_forget_reads", another_thread_ends_a_write_too)
        replace(3)
        monkeypatch.undo()
        twin.put_resource(resource_row("/a", {"properties": {"n": 8}}))
        assert served() == 8  # read from the database: nothing was remembered


def test_a_row_noted_in_a_transaction_is_remembered_as_its_look_up_once_committed(store: Store, twin: Store) -> None:
    """``remember_after_commit``: the row a transaction wrote (an operation it finished) is what
    ``find`` by that column returns once the transaction committed, with no read (``twin``, another
    process, changes the row behind the store's back to show what is served from memory), and each
    caller gets its own copy of its JSON. A rolled-back transaction remembers nothing; a write of
    the table by a statement whose rows are not known, after the note, drops it (it may have
    changed the row)."""
    store.insert("operations", _operation(1))

    def finish(result: Any, *, then_write: bool = False, fail: bool = False) -> None:
        with store.tx() as conn:
            row = store.find("operations", conn, id="op-1")
            assert row is not None
            values = {"status": "Succeeded", "result": result}
            assert store.update_where("operations", values, conn, id="op-1") == 1
            store.remember_after_commit(conn, "operations", "id", {**row, **values})
            if then_write:
                store.update_where("operations", {"location": "eastus"}, conn, id="op-1")
            if fail:
                raise RuntimeError("rolled back")

    def served() -> dict[str, Any]:
        row = store.find("operations", id="op-1")
        assert row is not None
        return row

    with store.fresh_reads():
        finish({"n": [1]})
        twin.update_where("operations", {"status": "Failed", "result": {"n": [9]}}, id="op-1")  # behind its back
        first = served()
        assert (first["status"], first["result"], first["payload"]) == ("Succeeded", {"n": [1]}, {"n": 1})
        assert first == {
            **reference_find_all(twin, "operations", id="op-1")[0],
            "status": "Succeeded",
            "result": {"n": [1]},
        }
        first["result"]["n"].append(2)
        assert served()["result"] == {"n": [1]}  # the caller changed only its own copy

    with store.fresh_reads():  # (PostgreSQL: the twin's write moved the generation: all forgotten)
        with pytest.raises(RuntimeError):
            finish({"n": [2]}, fail=True)
        assert served()["result"] == {"n": [9]}  # the database's: nothing of the rolled-back write
        finish({"n": [3]}, then_write=True)
        twin.update_where("operations", {"result": {"n": [10]}}, id="op-1")
        assert served()["result"] == {"n": [10]}  # read from the database: the note was dropped
