"""The operator API under /_crossconnect/ (and the ``crossconnect operator`` CLI): open health,
operator-only everything else, enlisting, reset, snapshots, signing-key rotation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.support import REPO, Server
from tests.support.platform import (
    WRITER,
    ServerFactory,
    arm_error,
    client,
    dedicated_servers,
    group_url,
    mint,
    new_rsa_key,
)

OPERATOR_ENDPOINTS = [
    ("GET", "/subscriptions", None),
    ("POST", "/subscriptions", {"tenantId": "x", "displayName": "y"}),
    ("GET", "/features", None),
    ("POST", "/features/approve", {"subscriptionId": "x", "feature": "Microsoft.Network/AllowExpressRoutePorts"}),
    ("POST", "/features/deny", {"subscriptionId": "x", "feature": "Microsoft.Network/AllowExpressRoutePorts"}),
    ("POST", "/reset", None),
    ("GET", "/snapshot", None),
    ("PUT", "/snapshot", {"format": "crossconnect-snapshot/1", "tables": {}}),
    ("POST", "/signing-keys/rotate", None),
    ("GET", "/clock", None),
    ("POST", "/clock", {"advance": 60}),
    ("GET", "/no-such-endpoint", None),
]


@pytest.fixture
def servers(backend: str, tmp_path: Path) -> Iterator[ServerFactory]:
    yield from dedicated_servers(backend, tmp_path)


def _secrets(server: Server) -> list[str]:
    return [server.env[role]["client_secret"] for role in ("partner", "customer", "operator")]


def _cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossconnect.cli.main", "operator", *args, "--data-dir", str(server.data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- access -------------------------------------------------------------------------------------------
def test_health_is_open_and_has_no_secrets(server: Server) -> None:
    with client(server) as c:
        r = c.get("/_crossconnect/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")
    text = r.text
    for secret in _secrets(server):
        assert secret not in text
    for role in ("partner", "customer", "operator"):
        assert server.env[role]["client_id"] not in text
    assert "PRIVATE KEY" not in text
    if server.database:
        assert server.database not in text and "postgres" + "ql://" not in text


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_ENDPOINTS)
def test_operator_endpoints_need_the_operator(server: Server, method: str, path: str, body: object) -> None:
    before = server.snapshot()
    with client(server) as c:
        r = c.request(method, f"/_crossconnect{path}", json=body)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "AuthenticationFailed"
        r = c.request(method, f"/_crossconnect{path}", json=body, headers={"Authorization": "Bearer not.a.token"})
        assert r.status_code == 401, r.text
        r = c.request(
            method,
            f"/_crossconnect{path}",
            json=body,
            headers={"Authorization": f"Bearer {mint(server, 'operator', key=new_rsa_key())}"},
        )
        assert r.status_code == 401, r.text
        for role in ("partner", "customer"):
            r = c.request(
                method, f"/_crossconnect{path}", json=body, headers={"Authorization": f"Bearer {server.token(role)}"}
            )
            assert r.status_code == 403, (role, r.text)
            assert r.json()["error"]["code"] == "OperatorOnly"
    assert server.snapshot() == before


def test_unknown_operator_path_is_404_for_the_operator(server: Server) -> None:
    r = server.operator("GET", "/no-such-endpoint")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "NotFound"


# -- enlisting ----------------------------------------------------------------------------------------
def test_enlist_subscription(server: Server) -> None:
    r = server.operator(
        "POST",
        "/subscriptions",
        {"tenantId": server.env["tenant_id"].upper(), "displayName": "ExpressRoute_API_Second_Sub"},
    )
    assert r.status_code == 201, r.text
    sub = r.json()["subscriptionId"]
    listed = server.operator("GET", "/subscriptions").json()["value"]
    assert {
        "subscriptionId": sub,
        "tenantId": server.env["tenant_id"],
        "displayName": "ExpressRoute_API_Second_Sub",
        "state": "Enabled",
    } in listed
    # stored for ARM: in the partner tenant, enabled, with no provider registered yet
    state = server.snapshot()
    row = next(r for r in state["subscriptions"] if r["id"] == sub)
    assert (row["tenant_id"], row["display_name"], row["state"]) == (
        server.env["tenant_id"],
        "ExpressRoute_API_Second_Sub",
        "Enabled",
    )
    assert [r for r in state["provider_registrations"] if r["subscription_id"] == sub] == []
    # a chosen id, once
    chosen = "0123abcd-0000-4000-8000-000000000001"
    r = server.operator(
        "POST",
        "/subscriptions",
        {"tenantId": server.env["tenant_id"], "displayName": "Chosen", "subscriptionId": chosen},
    )
    assert (r.status_code, r.json()["subscriptionId"]) == (201, chosen)
    before = server.snapshot()
    r = server.operator(
        "POST",
        "/subscriptions",
        {"tenantId": server.env["tenant_id"], "displayName": "Again", "subscriptionId": chosen.upper()},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "SubscriptionAlreadyExists")
    for body, status, code in [
        ({"displayName": "NoTenant"}, 400, "InvalidRequestContent"),
        ({"tenantId": server.env["tenant_id"]}, 400, "InvalidRequestContent"),
        ({"tenantId": "00000000-0000-0000-0000-000000000009", "displayName": "Ghost"}, 404, "TenantNotFound"),
    ]:
        r = server.operator("POST", "/subscriptions", body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert server.snapshot() == before


# -- reset --------------------------------------------------------------------------------------------
def test_reset_returns_to_the_seeded_state(server: Server) -> None:
    seeded = server.snapshot()
    old_token = server.token(WRITER)
    rc = server.resources(WRITER)
    rc.resource_groups.create_or_update("Ephemeral", {"location": "eastus"})
    server.operator("POST", "/subscriptions", {"tenantId": server.env["tenant_id"], "displayName": "Temp"})
    r = server.operator("POST", "/reset")
    assert (r.status_code, r.json()) == (200, {"status": "reset"})
    assert rc.resource_groups.check_existence("Ephemeral") is False
    assert [g.name for g in rc.resource_groups.list()] == []
    after = server.snapshot()
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in seeded.items()}
    assert sorted(s["display_name"] for s in after["subscriptions"]) == sorted(
        s["display_name"] for s in seeded["subscriptions"]
    )
    # credentials still work: new tokens, and tokens issued before the reset
    assert server.credential("customer").get_token("https://management.azure.com/.default").token
    with client(server, old_token) as c:
        assert c.get(group_url(server.subscription(WRITER))).status_code == 200


# -- snapshots ----------------------------------------------------------------------------------------
def test_snapshot_export_modify_import_restores(server: Server) -> None:
    rc = server.resources(WRITER)
    rc.resource_groups.create_or_update("Kept", {"location": "eastus", "tags": {"v": "1"}})
    exported = server.operator("GET", "/snapshot")
    assert exported.status_code == 200
    snapshot = exported.json()
    assert snapshot["format"] == "crossconnect-snapshot/1"
    for secret in _secrets(server):
        assert secret not in exported.text  # only hashes
    saved = server.snapshot()

    # change the server: a new group, a changed one, a deleted one, a new subscription
    rc.resource_groups.create_or_update("Added", {"location": "eastus"})
    rc.resource_groups.create_or_update("Kept", {"location": "eastus", "tags": {"v": "2"}})
    server.operator("POST", "/subscriptions", {"tenantId": server.env["tenant_id"], "displayName": "Later"})
    assert server.snapshot() != saved

    r = server.operator("PUT", "/snapshot", snapshot)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "imported"
    assert server.snapshot() == saved
    assert sorted(g.name for g in rc.resource_groups.list()) == ["Kept"]
    assert rc.resource_groups.get("kept").tags == {"v": "1"}
    # the server keeps working after the import: writes get fresh sequence numbers
    for i in range(3):
        rc.resource_groups.create_or_update(f"After-{i}", {"location": "eastus"})
    assert sorted(g.name for g in rc.resource_groups.list()) == ["After-0", "After-1", "After-2", "Kept"]

    # an edited snapshot imports as edited
    edited = json.loads(json.dumps(snapshot))
    for row in edited["tables"]["subscriptions"]:
        if row["id"] == server.subscription(WRITER):
            row["display_name"] = "Renamed_By_Snapshot"
    assert server.operator("PUT", "/snapshot", edited).status_code == 200
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    subs = SubscriptionClient(server.credential(WRITER), base_url=server.base_url, connection_verify=server.ca)
    assert subs.subscriptions.get(server.subscription(WRITER)).display_name == "Renamed_By_Snapshot"


def test_snapshot_moves_to_a_fresh_server(server: Server, servers: ServerFactory) -> None:
    """A snapshot from one server imported into another: same data, and the new server keeps
    creating rows without colliding with the imported ones."""
    rc = server.resources(WRITER)
    for name in ("Moved-1", "Moved-2"):
        rc.resource_groups.create_or_update(name, {"location": "eastus"})
    snapshot = server.operator("GET", "/snapshot").json()
    fresh = servers.start()
    # Put the snapshot's rows exactly where the fresh server would number its next rows: an
    # import must leave the numbering past every imported row.
    own = fresh.snapshot()
    for name, table in snapshot["tables"].items():
        start = max((r["seq"] for r in own.get(name, []) if "seq" in r), default=0)
        for i, row in enumerate(sorted((r for r in table if "seq" in r), key=lambda r: r["seq"])):
            row["seq"] = start + 1 + i
    with client(fresh, fresh.token("operator")) as c:
        r = c.put("/_crossconnect/snapshot", json=snapshot)
        assert r.status_code == 200, r.text
    # the imported principals are the source server's: sign in with those
    fresh.env = {**server.env, "arm_endpoint": fresh.base_url, "authority_host": fresh.base_url}
    moved = fresh.resources(WRITER)
    assert sorted(g.name for g in moved.resource_groups.list()) == ["Moved-1", "Moved-2"]
    for i in range(4):
        moved.resource_groups.create_or_update(f"New-{i}", {"location": "eastus"})
    r = fresh.operator("POST", "/subscriptions", {"tenantId": server.env["tenant_id"], "displayName": "OnFresh"})
    assert r.status_code == 201, r.text
    assert len(list(moved.resource_groups.list())) == 6


@pytest.mark.parametrize(
    "payload",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b'{"format": "something-else/1", "tables": {}}',
        b'{"format": "crossconnect-snapshot/1"}',
        b'{"format": "crossconnect-snapshot/1", "tables": []}',
        b'{"format": "crossconnect-snapshot/1", "tables": {"no_such_table": []}}',
        b'{"format": "crossconnect-snapshot/1", "tables": {"resources": [{"bogus": 1}]}}',
        b'{"format": "crossconnect-snapshot/1", "tables": {"subscriptions": [{"id": "x"}]}}',
        b'{"format": "crossconnect-snapshot/1", "tables": {"resources": "abc"}}',
        b'{"format": "crossconnect-snapshot/1", "tables": {"tenants": [1, 2]}}',
        b'{"format": "crossconnect-snapshot/1", "tables": {}}',
    ],
)
def test_import_of_garbage_changes_nothing(server: Server, payload: bytes) -> None:
    server.resources(WRITER).resource_groups.create_or_update("Precious", {"location": "eastus"})
    before = server.snapshot()
    with client(server, server.token("operator")) as c:
        r = c.put("/_crossconnect/snapshot", content=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in ("InvalidSnapshot", "InvalidRequestFormat", "InvalidRequestContent")
    assert server.snapshot() == before
    assert server.resources(WRITER).resource_groups.check_existence("Precious") is True


def test_snapshot_replacing_the_operator_is_refused(server: Server) -> None:
    """Importing a snapshot without the operator would lock the operator out of its own API."""
    snapshot = server.operator("GET", "/snapshot").json()
    snapshot["tables"]["meta"] = [r for r in snapshot["tables"]["meta"] if r["key"] != "operator"]
    before = server.snapshot()
    r = server.operator("PUT", "/snapshot", snapshot)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "InvalidSnapshot"), r.text
    assert server.snapshot() == before
    assert server.operator("GET", "/subscriptions").status_code == 200


# -- signing keys -------------------------------------------------------------------------------------
def test_signing_key_rotation_keeps_old_tokens_valid(server: Server) -> None:
    old_writer = server.token(WRITER)
    old_operator = server.token("operator")
    old_kid = jwt.get_unverified_header(old_writer)["kid"]
    r = server.operator("POST", "/signing-keys/rotate")
    assert r.status_code == 200, r.text
    new_kid = r.json()["activeKid"]
    assert new_kid != old_kid
    new_writer = server.token(WRITER)
    assert jwt.get_unverified_header(new_writer)["kid"] == new_kid
    with client(server) as c:
        jwks = c.get(f"/{server.env['tenant_id']}/discovery/v2.0/keys").json()
    assert {old_kid, new_kid} <= {k["kid"] for k in jwks["keys"]}
    for token in (old_writer, new_writer):
        with client(server, token) as c:
            assert c.get(group_url(server.subscription(WRITER))).status_code == 200
        key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
        jwt.decode(token, key.key, algorithms=["RS256"], audience="https://management.azure.com/")
    with client(server, old_operator) as c:
        assert c.get("/_crossconnect/subscriptions").status_code == 200
    # the SDK signs in afresh and works
    assert (
        server.resources(WRITER).resource_groups.create_or_update("Rotated", {"location": "eastus"}).name == "Rotated"
    )


def test_rotated_keys_survive_a_restart(servers: ServerFactory) -> None:
    first = servers.start()
    before = first.token(WRITER)
    with client(first, first.token("operator")) as c:
        assert c.post("/_crossconnect/signing-keys/rotate").status_code == 200
    after = first.token(WRITER)
    first.stop()
    second = servers.restart(first)
    for token in (before, after):
        with client(second, token) as c:
            r = c.get(group_url(second.subscription(WRITER)))
            assert r.status_code == 200, r.text
    assert jwt.get_unverified_header(second.token(WRITER))["kid"] == jwt.get_unverified_header(after)["kid"]


# -- the CLI ------------------------------------------------------------------------------------------
def test_cli_features_and_export(server: Server) -> None:
    from azure.mgmt.resource.features import FeatureClient

    features = FeatureClient(
        server.credential(WRITER), server.subscription(WRITER), base_url=server.base_url, connection_verify=server.ca
    )
    # (the seed may have it approved already: ask afresh)
    features.features.unregister("Microsoft.Network", "AllowExpressRouteTestPeeringLocations")
    assert features.features.register(
        "Microsoft.Network", "AllowExpressRouteTestPeeringLocations"
    ).properties.state == ("Pending")

    listed = _cli(server, "features", "--state", "Pending")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["value"] == [
        {
            "subscriptionId": server.subscription(WRITER),
            "feature": "Microsoft.Network/AllowExpressRouteTestPeeringLocations",
            "state": "Pending",
        }
    ]
    approved = _cli(
        server, "approve", server.subscription(WRITER), "Microsoft.Network/AllowExpressRouteTestPeeringLocations"
    )
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["state"] == "Registered"
    assert json.loads(_cli(server, "features", "--state", "Pending").stdout)["value"] == []
    state = features.features.get("Microsoft.Network", "AllowExpressRouteTestPeeringLocations").properties.state
    assert state == "Registered"

    exported = _cli(server, "export", "-")
    assert exported.returncode == 0, exported.stderr
    snapshot = json.loads(exported.stdout)
    assert snapshot["format"] == "crossconnect-snapshot/1"
    assert {s["id"] for s in snapshot["tables"]["subscriptions"]} >= {
        server.subscription("partner"),
        server.subscription("customer"),
    }
    for secret in _secrets(server):
        assert secret not in exported.stdout


def test_cli_reports_errors(server: Server) -> None:
    denied = _cli(server, "deny", server.subscription(WRITER), "Microsoft.Network/AllowExpressRoutePorts")
    assert denied.returncode != 0
    assert "FeatureNotPending" in denied.stderr
    unreachable = subprocess.run(
        [
            sys.executable,
            "-m",
            "crossconnect.cli.main",
            "operator",
            "features",
            "--data-dir",
            str(server.data_dir.parent / "nowhere"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode != 0
    assert "crossconnect serve" in " ".join(unreachable.stderr.split())


def test_operator_token_is_refused_by_arm_on_partner_subscriptions(server: Server) -> None:
    with client(server, server.token("operator")) as c:
        r = c.get(group_url(server.subscription(WRITER)))
    assert arm_error(r)[:2] == (401, "InvalidAuthenticationTokenTenant")
