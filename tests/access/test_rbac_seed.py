"""The seeded roles and the admin principal: in `crossconnect env --json`, kept across restarts,
added to a data dir (credentials.json, store) made before access control existed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support import Server, free_port, rbac


def test_env_names_the_admin_like_the_partner(server: Server) -> None:
    admin, partner = server.env["admin"], server.env["partner"]
    assert set(admin) == set(partner)
    assert admin["subscription_id"] == partner["subscription_id"]
    assignments = rbac.authorization(server, rbac.seeded(server, "admin"), partner["subscription_id"])
    seen = {
        (a.principal_id, a.role_definition_id.rsplit("/", 1)[1], a.scope)
        for a in assignments.role_assignments.list_for_subscription()
    }
    provider = f"/subscriptions/{partner['subscription_id']}"
    assert seen == {
        (partner["object_id"], rbac.ROLE_IDS["Network Contributor"], provider),
        (admin["object_id"], rbac.ROLE_IDS["Owner"], provider),
        (server.env["user"]["object_id"], rbac.ROLE_IDS["Owner"], provider),  # the admin user (portal)
        # the "ExpressRoute Partner Operations" group, the partner application its member
        (server.env["groups"][0]["object_id"], rbac.ROLE_IDS["Network Contributor"], provider),
    }


def test_a_data_dir_from_before_access_control_gets_the_admin_and_the_roles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Server(data, free_port()).start()
    first.stop()
    # make it look like it was written before access control: no admin, no roles
    creds_path = data / "credentials.json"
    creds = json.loads(creds_path.read_text())
    old_admin = creds.pop("admin")
    creds_path.write_text(json.dumps(creds))
    engine = create_engine(f"sqlite:///{data / 'crossconnect.db'}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM role_assignments"))
        conn.execute(text("DELETE FROM rbac_generation"))
        conn.execute(text("DELETE FROM meta WHERE key IN ('access_control_seeded', 'tenant_admins')"))
        for table in ("applications", "service_principals", "client_credentials"):
            conn.execute(text(f"DELETE FROM {table} WHERE app_id = :a"), {"a": old_admin["client_id"]})
    engine.dispose()

    second = Server(data, free_port()).start()
    try:
        creds = json.loads(creds_path.read_text())
        assert "admin" in creds and creds["admin"]["client_id"] != old_admin["client_id"]
        assert stat.S_IMODE(creds_path.stat().st_mode) == 0o600
        assert second.env["admin"]["client_id"] == creds["admin"]["client_id"]
        provider, customer = second.subscription("partner"), second.subscription("customer")
        admin = rbac.seeded(second, "admin")
        assert {s.subscription_id for s in rbac.subscriptions(second, admin).subscriptions.list()} == {
            provider,
            customer,
        }
        partner = rbac.seeded(second, "partner")
        assert {s.subscription_id for s in rbac.subscriptions(second, partner).subscriptions.list()} == {provider}
        rbac.resources(second, admin, provider).resource_groups.create_or_update(
            "after-upgrade", {"location": "westus"}
        )
        assert rbac.resources(second, partner, provider).resource_groups.get("after-upgrade").name == "after-upgrade"
    finally:
        second.stop()


def test_a_restart_keeps_roles_and_the_admin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Server(data, free_port()).start()
    who = rbac.create_identity(first, "survivor")
    rbac.assign(first, who, rbac.ROLE_IDS["Reader"], f"/subscriptions/{first.subscription('partner')}")
    first.stop()
    second = Server(data, free_port()).start()
    try:
        assert second.env["admin"] == first.env["admin"]
        seen = rbac.subscriptions(second, who).subscriptions.list()
        assert {s.subscription_id for s in seen} == {second.subscription("partner")}
    finally:
        second.stop()


def test_bare_start_has_no_admin_and_no_roles(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", free_port(), extra_args=["--bare"]).start()
    try:
        assert "admin" not in server.env and "partner" not in server.env
        tables = server.snapshot()
        assert tables["role_assignments"] == [] and tables["role_definitions"] == []
    finally:
        server.stop()
