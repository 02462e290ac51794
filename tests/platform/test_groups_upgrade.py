"""Groups on an existing installation: migration 0007 adds (and its downgrade drops) the group
tables on SQLite and PostgreSQL, and a data dir seeded before groups existed gets the seeded
"ExpressRoute Partner Operations" group on its next start (once: a deleted one stays deleted)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from crossconnect.store import Store
from tests.support import Server, free_port, rbac

GROUP_TABLES = {"groups", "group_members"}


def test_group_tables_after_upgrade_from_0006(store: Store) -> None:
    from alembic import command
    from alembic.config import Config

    from crossconnect.store import store as store_module

    def tables() -> set[str]:
        with store.engine.connect() as c:
            return set(inspect(c).get_table_names())

    assert tables() >= GROUP_TABLES
    config = Config()
    config.set_main_option("script_location", store_module._MIGRATIONS)
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006_one_role_assignment")
    assert not GROUP_TABLES & tables()
    store.migrate()
    assert tables() >= GROUP_TABLES


def test_a_data_dir_from_before_groups_gets_the_seeded_group_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Server(data, free_port()).start()
    first.stop()
    # as written before groups: no group in credentials.json, no group tables, no group assignment
    creds_path = data / "credentials.json"
    creds = json.loads(creds_path.read_text())
    old_group = creds.pop("group")
    creds_path.write_text(json.dumps(creds))
    engine = create_engine(f"sqlite:///{data / 'crossconnect.db'}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE group_members"))
        conn.execute(text("DROP TABLE groups"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0006_one_role_assignment'"))
        conn.execute(text("DELETE FROM role_assignments WHERE principal_id = :g"), {"g": old_group["object_id"]})
        conn.execute(text("DELETE FROM meta WHERE key = 'groups_seeded'"))
    engine.dispose()

    second = Server(data, free_port()).start()
    try:
        group = second.env["groups"][0]
        assert group["object_id"] != old_group["object_id"]
        assert (group["display_name"], group["members"]) == (
            "ExpressRoute Partner Operations",
            [second.env["partner"]["object_id"]],
        )
        provider = second.subscription("partner")
        admin = rbac.authorization(second, rbac.seeded(second, "admin"), provider)
        held = [a for a in admin.role_assignments.list_for_subscription() if a.principal_id == group["object_id"]]
        assert [(a.principal_type, a.role_definition_id.rsplit("/", 1)[1]) for a in held] == [
            ("Group", rbac.ROLE_IDS["Network Contributor"])
        ]
        with rbac.graph(second) as g:  # the admin application may now manage groups
            assert g.delete(f"/groups/{group['object_id']}").status_code == 204
    finally:
        second.stop()
    third = Server(data, free_port()).start()  # a deleted seeded group is not brought back
    try:
        with rbac.graph(third) as g:
            assert g.get(f"/groups/{group['object_id']}").status_code == 404
    finally:
        third.stop()
