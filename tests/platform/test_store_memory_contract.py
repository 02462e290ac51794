"""The store's read memory against what the database holds, on the paths a review checked: every
way a transaction writes (Core, driver SQL, the store's own calls) is seen by its later reads and
after its commit; rollbacks, imports and wipes leave nothing behind; each caller gets its own JSON;
another replica's write is seen at the next generation check."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text, update

from crossconnect.store import Store, schema
from tests.support.store_rows import database_row, resource_row, served

T = schema.resources


def _etag_writes() -> dict[str, Any]:
    return {
        "core_update": lambda s, c: c.execute(update(T).where(T.c.key == "/r").values(etag="e2")),
        "raw_update": lambda s, c: c.exec_driver_sql("UPDATE resources SET etag = 'e2' WHERE \"key\" = '/r'"),
        "text_update": lambda s, c: c.execute(text("update \"resources\" set etag = 'e2' where \"key\" = '/r'")),
        "update_where": lambda s, c: s.update_where("resources", {"etag": "e2"}, c, key="/r"),
        "put_resource": lambda s, c: s.put_resource(resource_row("/r", etag="e2"), c),
    }


@pytest.mark.parametrize("how", list(_etag_writes()))
def test_writes_in_a_transaction_are_seen_by_its_reads_and_after_commit(store: Store, how: str) -> None:
    store.put_resource(resource_row("/r"))
    store.put_resource(resource_row("/s"))
    served(store, "/r")
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        store.get_resources(["/r", "/s"], conn)
        store.list_resources(subscription_id="sub", type_key="t/things", conn=conn)
        store.replace_resource({**previous, "etag": "e1b"}, previous, conn)
        assert store.get_resource("/r", conn)["etag"] == "e1b"
        _etag_writes()[how](store, conn)
        assert store.get_resource("/r", conn)["etag"] == "e2"
        assert store.get_resources(["/r", "/s"], conn)["/r"]["etag"] == "e2"
        assert [r["etag"] for r in store.list_resources(subscription_id="sub", type_key="t/things", conn=conn)][
            0
        ] == "e2"
    assert served(store, "/r")["etag"] == database_row(store, "/r")["etag"] == "e2"


@pytest.mark.parametrize("how", ["delete_where", "delete_resource_tree", "delete_group"])
def test_deletes_in_a_transaction(store: Store, how: str) -> None:
    store.put_resource(resource_row("/r"))
    store.put_resource(resource_row("/r/c", parent="/r"))
    served(store, "/r")
    served(store, "/r/c")
    with store.tx() as conn:
        previous = store.get_resource("/r", conn)
        assert store.get_resource("/r/c", conn) is not None
        store.replace_resource({**previous, "etag": "e2"}, previous, conn)
        if how == "delete_where":
            store.delete_where("resources", conn, key="/r")
            store.delete_where("resources", conn, key="/r/c")
        elif how == "delete_resource_tree":
            store.delete_resource_tree("/r", conn)
        else:
            store.delete_group_resources("sub", "rg", conn)
        assert store.get_resource("/r", conn) is None
        assert store.get_resource("/r/c", conn) is None
    assert served(store, "/r") is None and served(store, "/r/c") is None


def test_inserts_in_a_transaction(store: Store) -> None:
    served(store, "/a")
    served(store, "/b")
    with store.tx() as conn:
        assert store.get_resource("/a", conn) is None and store.get_resource("/b", conn) is None
        store.insert_resources([resource_row("/a")], conn)
        store.insert("resources", {**resource_row("/b"), "created_at": 1.0, "updated_at": 1.0}, conn)
        assert store.get_resource("/a", conn) is not None and store.get_resource("/b", conn) is not None
    assert served(store, "/a") is not None and served(store, "/b") is not None


def test_a_rolled_back_transaction_leaves_nothing(store: Store) -> None:
    store.put_resource(resource_row("/r"))
    served(store, "/r")
    with pytest.raises(RuntimeError), store.tx() as conn:
        previous = store.get_resource("/r", conn)
        store.replace_resource({**previous, "etag": "e2"}, previous, conn)
        store.after_commit(conn, lambda: pytest.fail("ran after a rollback"))
        raise RuntimeError
    assert served(store, "/r")["etag"] == "e1"
    with store.tx() as conn:  # the connection's memo of reads is gone with the transaction
        assert store.get_resource("/r", conn)["etag"] == "e1"


def test_more_reads_than_the_memo_holds(store: Store) -> None:
    from crossconnect.store.store import _TX_READS_MAX

    keys = [f"/k{n}" for n in range(_TX_READS_MAX + 5)]
    for key in keys:
        store.put_resource(resource_row(key))
    with store.tx() as conn:
        for key in keys:
            store.get_resource(key, conn)
        store.update_where("resources", {"etag": "e2"}, conn, key=keys[0])
        for key in keys:
            store.get_resource(key, conn)
        assert store.get_resource(keys[0], conn)["etag"] == "e2"


def test_json_values_are_each_callers_own(store: Store) -> None:
    store.put_resource(resource_row("/r", {"properties": {"list": [1], "n": 1}}))
    served(store, "/r")["body"]["properties"]["list"].append(2)
    assert served(store, "/r")["body"] == {"properties": {"list": [1], "n": 1}}
    with store.tx() as conn:
        store.get_resource("/r", conn)["body"]["properties"]["list"].append(3)
        previous = store.get_resource("/r", conn)
        assert previous["body"] == {"properties": {"list": [1], "n": 1}}
        stored = store.replace_resource({**previous, "etag": "e2"}, previous, conn)
        stored["body"]["properties"]["list"].append(4)
        assert store.get_resource("/r", conn)["body"]["properties"]["list"] == [1]
    first = served(store, "/r")
    first["body"]["properties"]["n"] = 5
    assert served(store, "/r")["body"] == {"properties": {"list": [1], "n": 1}}
    store.set_meta("m", {"a": [1]})
    with store.fresh_reads():
        store.get_meta("m")["a"].append(2)
        assert store.get_meta("m") == {"a": [1]}


def test_import_and_wipe_forget(store: Store) -> None:
    store.put_resource(resource_row("/r"))
    store.set_meta("m", 1)
    state = store.export_state()
    served(store, "/r")
    with store.fresh_reads():
        assert store.get_meta("m") == 1
    store.wipe_state()
    assert served(store, "/r") is None
    with store.fresh_reads():
        assert store.get_meta("m") is None
    store.import_state(state)
    assert served(store, "/r")["etag"] == "e1"


def test_another_replica_write_is_seen(store: Store, twin: Store) -> None:
    if store.is_sqlite:
        pytest.skip("one process per SQLite file")
    store.put_resource(resource_row("/r"))
    served(store, "/r")
    served(store, "/r")
    with twin.tx() as conn:
        previous = twin.get_resource("/r", conn)
        twin.replace_resource({**previous, "etag": "e2"}, previous, conn)
    assert served(store, "/r")["etag"] == "e2"
