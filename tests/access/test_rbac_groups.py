"""RBAC through groups: a role assigned to a group applies to every direct and nested member,
through the real SDK; membership and assignment changes take effect on the very next request;
assignedTo() includes the principal's groups; a deleted group's assignment stays, granting nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from tests.support import Server, groups, rbac, settled_snapshot


def test_nested_group_grants_and_revocation_take_effect_at_once(server: Server) -> None:
    provider = f"/subscriptions/{server.subscription('partner')}"
    bot = rbac.create_identity(server, "ops-bot")
    assert not groups.lists_cross_connections(server, bot)
    with rbac.graph(server) as g:
        ops, engineers = groups.create(g, "ops")["id"], groups.create(g, "engineers")["id"]
        assignment = groups.assign(server, ops, "Network Contributor", provider)
        assert (assignment.principal_type, assignment.principal_id) == ("Group", ops)
        groups.add_member(server, g, ops, engineers)
        assert not groups.lists_cross_connections(server, bot)  # not a member yet
        groups.add_member(server, g, engineers, bot.object_id)
        assert groups.lists_cross_connections(server, bot)  # nested member: granted on the next request
        # Network Contributor through the group, and nothing more
        rbac.assert_denied(
            server,
            lambda: rbac.resources(server, bot, provider.split("/")[2]).resource_groups.create_or_update(
                "x", {"location": "westus"}
            ),
            "Microsoft.Resources/subscriptions/resourceGroups/write",
        )
        assert g.delete(f"/groups/{ops}/members/{engineers}/$ref").status_code == 204
        assert not groups.lists_cross_connections(server, bot)
        groups.add_member(server, g, ops, bot.object_id)
        assert groups.lists_cross_connections(server, bot)
    admin = rbac.authorization(server, rbac.seeded(server, "admin"), provider.split("/")[2])
    admin.role_assignments.delete_by_id(assignment.id)
    assert not groups.lists_cross_connections(server, bot)


def test_assigned_to_includes_the_principals_groups(server: Server) -> None:
    provider = server.subscription("partner")
    bot = rbac.create_identity(server, "assigned-bot")
    with rbac.graph(server) as g:
        outer, inner = groups.create(g, "outer")["id"], groups.create(g, "inner")["id"]
        groups.add_member(server, g, outer, inner)
        groups.add_member(server, g, inner, bot.object_id)
    via_outer = groups.assign(server, outer, "Reader", f"/subscriptions/{provider}")
    own = rbac.assign(server, bot, rbac.ROLE_IDS["Network Contributor"], f"/subscriptions/{provider}")
    client = rbac.authorization(server, rbac.seeded(server, "admin"), provider)
    assigned = {a.id for a in client.role_assignments.list_for_subscription(filter=f"assignedTo('{bot.object_id}')")}
    assert assigned == {via_outer.id, own.id}
    at_scope = client.role_assignments.list_for_scope(
        f"/subscriptions/{provider}", filter=f"atScope() and assignedTo('{bot.object_id}')"
    )
    assert {a.id for a in at_scope} == {via_outer.id, own.id}
    only_own = client.role_assignments.list_for_subscription(filter=f"principalId eq '{bot.object_id}'")
    assert [a.id for a in only_own] == [own.id]


def test_deleted_group_keeps_its_assignment_and_grants_nothing(server: Server) -> None:
    provider = server.subscription("partner")
    bot = rbac.create_identity(server, "orphan-bot")
    with rbac.graph(server) as g:
        ops = groups.create(g, "short-lived")["id"]
        groups.add_member(server, g, ops, bot.object_id)
        assignment = groups.assign(server, ops, "Network Contributor", f"/subscriptions/{provider}")
        assert groups.lists_cross_connections(server, bot)
        assert g.delete(f"/groups/{ops}").status_code == 204
        assert g.post("/directoryObjects/getByIds", json={"ids": [ops]}).json()["value"] == []  # unknown principal
    assert not groups.lists_cross_connections(server, bot)
    client = rbac.authorization(server, rbac.seeded(server, "admin"), provider)
    kept = client.role_assignments.get_by_id(assignment.id)
    assert (kept.principal_id, kept.principal_type) == (ops, "Group")


def test_group_assignment_with_wrong_principal_type_is_refused(server: Server) -> None:
    provider = server.subscription("partner")
    with rbac.graph(server) as g:
        ops = groups.create(g, "typed")["id"]
    client = rbac.authorization(server, rbac.seeded(server, "admin"), provider)
    before = settled_snapshot(server)
    with pytest.raises(HttpResponseError) as info:
        client.role_assignments.create(
            f"/subscriptions/{provider}",
            str(uuid.uuid4()),
            {"role_definition_id": rbac.role_definition_id(provider, rbac.ROLE_IDS["Reader"]), "principal_id": ops,
             "principal_type": "ServicePrincipal"},
        )  # fmt: skip
    assert (info.value.status_code, info.value.error.code) == (400, "UnmatchedPrincipalType")
    assert "'Group'" in info.value.error.message and "ServicePrincipal" in info.value.error.message
    assert settled_snapshot(server) == before


def test_seed_step_4_with_the_seeded_group(server: Server) -> None:
    """The partner's own Network Contributor assignment removed, it still manages cross
    connections as a member of "ExpressRoute Partner Operations"; out of the group, it is refused."""
    provider = server.subscription("partner")
    partner = rbac.seeded(server, "partner")
    group = server.env["groups"][0]["object_id"]
    admin = rbac.authorization(server, rbac.seeded(server, "admin"), provider)
    for a in admin.role_assignments.list_for_subscription(filter=f"principalId eq '{partner.object_id}'"):
        admin.role_assignments.delete_by_id(a.id)
    via_group = admin.role_assignments.list_for_subscription(filter=f"assignedTo('{partner.object_id}')")
    assert [(a.principal_id, a.principal_type) for a in via_group] == [(group, "Group")]
    assert groups.lists_cross_connections(server, partner)
    with rbac.graph(server) as g:
        assert g.delete(f"/groups/{group}/members/{partner.object_id}/$ref").status_code == 204
    assert not groups.lists_cross_connections(server, partner)


def test_membership_change_on_one_replica_is_seen_by_the_other(replicas: tuple[Server, Server]) -> None:
    first, second = replicas
    provider = first.subscription("partner")
    bot = rbac.create_identity(first, "replica-bot")
    with rbac.graph(first) as g:
        ops = groups.create(g, "replicated")["id"]
        groups.assign(first, ops, "Network Contributor", f"/subscriptions/{provider}")
        assert not groups.lists_cross_connections(second, bot)
        groups.add_member(first, g, ops, bot.object_id)
        assert groups.lists_cross_connections(second, bot)
        assert g.delete(f"/groups/{ops}/members/{bot.object_id}/$ref").status_code == 204
    assert not groups.lists_cross_connections(second, bot)


def test_two_replicas_cannot_close_a_cycle(replicas: tuple[Server, Server]) -> None:
    """Two writers nest two groups in each other at the same moment, on two replicas: one wins and
    the other is refused (the check and the write are serialized), never both."""
    import threading

    first, second = replicas
    with rbac.graph(first) as g1, rbac.graph(second) as g2:
        for attempt in range(5):
            a, b = groups.create(g1, f"race-a-{attempt}")["id"], groups.create(g1, f"race-b-{attempt}")["id"]
            barrier = threading.Barrier(2)
            statuses: dict[str, int] = {}

            threads = [
                threading.Thread(target=_nest, args=(barrier, statuses, "a-holds-b", g1, first, a, b)),
                threading.Thread(target=_nest, args=(barrier, statuses, "b-holds-a", g2, second, b, a)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(statuses.values()) == [204, 400], statuses
            nested = _member_ids(g1, a) + _member_ids(g1, b)
            assert len(nested) == 1, nested


def _member_ids(g: httpx.Client, group: str) -> list[str]:
    r = g.get(f"/groups/{group}/members")
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["value"]]


def _nest(
    barrier: Any, statuses: dict[str, int], name: str, g: httpx.Client, server: Server, group: str, member: str
) -> None:
    body = {"@odata.id": f"{server.base_url}/v1.0/directoryObjects/{member}"}
    barrier.wait()
    statuses[name] = g.post(f"/groups/{group}/members/$ref", json=body).status_code
