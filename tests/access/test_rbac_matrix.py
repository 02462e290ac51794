"""The allow/deny matrix: role × scope of its assignment × operation, through the real SDKs.

A fresh principal (made through Graph by the seeded admin) gets one role at one scope on one
side: the partner's (provider subscription: the subscription, the cross connection's resource
group, or the cross connection) or the customer's (customer subscription: the subscription, the
circuit's resource group, or the circuit). It then runs every operation of that side, reads
first, writes after. What each role may do is written out by hand here (the oracle), never
derived from the server's code: an operation is allowed when the role grants its action and the
assignment's scope is at or above the operation's scope. Every denial must be 403
AuthorizationFailed naming the action, and must leave the server's whole state unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import Server, rbac
from tests.support.network import GROUP as CIRCUIT_GROUP
from tests.support.network import PRIVATE, XC_GROUP, peering, provisioned_circuit, xc_peering

SUBSCRIPTION, GROUP, RESOURCE = "subscription", "group", "resource"
COVERS = {SUBSCRIPTION: {SUBSCRIPTION, GROUP, RESOURCE}, GROUP: {GROUP, RESOURCE}, RESOURCE: {RESOURCE}}
# Reads of the subscription itself and its providers need only some role within the subscription.
SUBSCRIPTION_METADATA = "subscription-metadata"

CUSTOM_READER_ACTIONS = ["Microsoft.Network/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read"]


@dataclass
class World:
    server: Server
    side: str  # "partner" (cross connection) or "customer" (circuit)
    subscription: str
    group: str  # the resource group of the resource
    resource_id: str
    name: str  # the cross connection's (the service key) or the circuit's name
    xc: Any  # the cross connection as the partner last wrote it
    bystander: rbac.Identity  # someone to assign a role to
    rc: Any = None
    nc: Any = None
    ac: Any = None
    fc: Any = None


@dataclass(frozen=True)
class Op:
    name: str
    level: str  # the scope the request is about (SUBSCRIPTION, GROUP, RESOURCE or SUBSCRIPTION_METADATA)
    action: str | None  # the action a denial names
    run: Callable[[World], Any]


def _xc_with_notes(w: World) -> Any:
    w.xc.service_provider_notes = "changed by the matrix"
    return w.nc.express_route_cross_connections.begin_create_or_update(XC_GROUP, w.name, w.xc).result()


def _assign_bystander(w: World) -> Any:
    scope = f"/subscriptions/{w.subscription}/resourceGroups/{w.group}"
    return w.ac.role_assignments.create(
        scope,
        "6a1d3f4e-0000-4000-8000-000000000001",
        {
            "role_definition_id": rbac.role_definition_id(w.subscription, rbac.ROLE_IDS["Reader"]),
            "principal_id": w.bystander.object_id,
            "principal_type": "ServicePrincipal",
        },
    )


NET = "Microsoft.Network/expressRouteCrossConnections"
CIRCUITS = "Microsoft.Network/expressRouteCircuits"
GROUPS = "Microsoft.Resources/subscriptions/resourceGroups"

# Operations on the subscription and groups, the same on both sides.
COMMON_READS = [
    Op("group.read", GROUP, f"{GROUPS}/read", lambda w: w.rc.resource_groups.get(w.group)),
    Op("groups.list", SUBSCRIPTION, f"{GROUPS}/read", lambda w: list(w.rc.resource_groups.list())),
    Op("assignments.read", GROUP, "Microsoft.Authorization/roleAssignments/read",
       lambda w: list(w.ac.role_assignments.list_for_resource_group(w.group))),
    Op("provider.read", SUBSCRIPTION_METADATA, "Microsoft.Resources/subscriptions/providers/read",
       lambda w: w.rc.providers.get("Microsoft.Network")),
    Op("features.list", SUBSCRIPTION, "Microsoft.Features/features/read", lambda w: list(w.fc.features.list_all())),
]  # fmt: skip
COMMON_WRITES = [
    Op("group.tag", GROUP, f"{GROUPS}/write", lambda w: w.rc.resource_groups.update(w.group, {"tags": {"m": "1"}})),
    Op("assignment.write", GROUP, "Microsoft.Authorization/roleAssignments/write", _assign_bystander),
    Op("provider.register", SUBSCRIPTION, "Microsoft.Network/register/action",
       lambda w: w.rc.providers.register("Microsoft.Network")),
    Op("feature.register", SUBSCRIPTION, "Microsoft.Features/providers/features/register/action",
       lambda w: w.fc.features.register("Microsoft.Network", "AllowExpressRouteIPv6MicrosoftPeering")),
    Op("group.create", SUBSCRIPTION, f"{GROUPS}/write",
       lambda w: w.rc.resource_groups.create_or_update("made-by-matrix", {"location": "westus"})),
]  # fmt: skip
GROUP_DELETE = Op("group.delete", SUBSCRIPTION, f"{GROUPS}/delete",
                  lambda w: w.rc.resource_groups.begin_delete("scratch-rg").result())  # fmt: skip

PARTNER_OPS = [
    *COMMON_READS,
    Op("resource.read", RESOURCE, f"{NET}/read", lambda w: w.nc.express_route_cross_connections.get(XC_GROUP, w.name)),
    Op("resources.list", SUBSCRIPTION, f"{NET}/read", lambda w: list(w.nc.express_route_cross_connections.list())),
    Op("peering.read", RESOURCE, f"{NET}/peerings/read",
       lambda w: w.nc.express_route_cross_connection_peerings.get(XC_GROUP, w.name, "AzurePrivatePeering")),
    Op("arp.read", RESOURCE, f"{NET}/peerings/arpTables/read",
       lambda w: w.nc.express_route_cross_connections.begin_list_arp_table(
           XC_GROUP, w.name, "AzurePrivatePeering", "primary").result()),
    Op("summary.read", RESOURCE, f"{NET}/peerings/routeTableSummary/read",  # singular for cross connections
       lambda w: w.nc.express_route_cross_connections.begin_list_routes_table_summary(
           XC_GROUP, w.name, "AzurePrivatePeering", "primary").result()),
    *COMMON_WRITES,
    Op("resource.write", RESOURCE, f"{NET}/write", _xc_with_notes),
    Op("peering.write", RESOURCE, f"{NET}/peerings/write",
       lambda w: w.nc.express_route_cross_connection_peerings.begin_create_or_update(
           XC_GROUP, w.name, "AzurePrivatePeering", peering(PRIVATE, vlanId=101)).result()),
    Op("peering.delete", RESOURCE, f"{NET}/peerings/delete",
       lambda w: w.nc.express_route_cross_connection_peerings.begin_delete(
           XC_GROUP, w.name, "AzurePrivatePeering").result()),
    GROUP_DELETE,
]  # fmt: skip

CUSTOMER_OPS = [
    *COMMON_READS,
    Op("resource.read", RESOURCE, f"{CIRCUITS}/read", lambda w: w.nc.express_route_circuits.get(w.group, w.name)),
    Op("resources.list", SUBSCRIPTION, f"{CIRCUITS}/read", lambda w: list(w.nc.express_route_circuits.list_all())),
    Op("stats.read", RESOURCE, f"{CIRCUITS}/read", lambda w: w.nc.express_route_circuits.get_stats(w.group, w.name)),
    Op("peering.read", RESOURCE, f"{CIRCUITS}/peerings/read",
       lambda w: w.nc.express_route_circuit_peerings.get(w.group, w.name, "AzurePrivatePeering")),
    Op("arp.read", RESOURCE, f"{CIRCUITS}/peerings/arpTables/read",
       lambda w: w.nc.express_route_circuits.begin_list_arp_table(
           w.group, w.name, "AzurePrivatePeering", "primary").result()),
    Op("summary.read", RESOURCE, f"{CIRCUITS}/peerings/routeTablesSummary/read",  # plural for circuits
       lambda w: w.nc.express_route_circuits.begin_list_routes_table_summary(
           w.group, w.name, "AzurePrivatePeering", "primary").result()),
    *COMMON_WRITES,
    Op("resource.write", RESOURCE, f"{CIRCUITS}/write",
       lambda w: w.nc.express_route_circuits.update_tags(w.group, w.name, {"tags": {"m": "1"}})),
    Op("authorization.write", RESOURCE, f"{CIRCUITS}/authorizations/write",
       lambda w: w.nc.express_route_circuit_authorizations.begin_create_or_update(
           w.group, w.name, "matrix-auth", {}).result()),
    Op("peering.write", RESOURCE, f"{CIRCUITS}/peerings/write",
       lambda w: w.nc.express_route_circuit_peerings.begin_create_or_update(
           w.group, w.name, "AzurePrivatePeering", peering(PRIVATE, vlanId=101)).result()),
    Op("peering.delete", RESOURCE, f"{CIRCUITS}/peerings/delete",
       lambda w: w.nc.express_route_circuit_peerings.begin_delete(w.group, w.name, "AzurePrivatePeering").result()),
    GROUP_DELETE,
]  # fmt: skip
OPS = {"partner": PARTNER_OPS, "customer": CUSTOMER_OPS}

ALL = {op.name for ops in OPS.values() for op in ops}
READS = {"group.read", "groups.list", "resource.read", "resources.list", "stats.read", "peering.read", "arp.read",
         "summary.read", "assignments.read", "provider.read", "features.list"}  # fmt: skip
NETWORK = {"resource.read", "resources.list", "stats.read", "peering.read", "arp.read", "summary.read",
           "resource.write", "authorization.write", "peering.write", "peering.delete",
           "provider.register"}  # fmt: skip

# The oracle: what each role's actions grant (Azure's built-in definitions, read by hand).
GRANTS: dict[str, set[str]] = {
    "Owner": ALL,
    "Contributor": ALL - {"assignment.write"},  # notActions Microsoft.Authorization/*/Write
    "Reader": READS,  # */read
    "Network Contributor": NETWORK  # Microsoft.Network/*
    | {"group.read", "groups.list"}  # Microsoft.Resources/subscriptions/resourceGroups/read
    | {"assignments.read"}  # Microsoft.Authorization/*/read
    | {"provider.read"},
    # Microsoft.Network/*/read + resourceGroups/read
    "Custom network reader": {op for op in READS if op not in ("assignments.read", "features.list")},
    "(no role)": set(),
}
ROLES = list(GRANTS)
LEVELS = [SUBSCRIPTION, GROUP, RESOURCE]


def expected(role: str, level: str, op: Op) -> bool:
    if role == "(no role)" or op.name not in GRANTS[role]:
        return False
    if op.level == SUBSCRIPTION_METADATA:
        return True
    return op.level in COVERS[level]


def test_the_matrix_has_more_denials_than_grants() -> None:
    cases = [expected(r, lvl, op) for ops in OPS.values() for r in ROLES for lvl in LEVELS for op in ops]
    assert cases.count(False) >= cases.count(True), (cases.count(False), cases.count(True))


@pytest.fixture(params=["partner", "customer"])
def world(server: Server, request: pytest.FixtureRequest) -> World:
    side = request.param
    admin = rbac.seeded(server, "admin")
    circuit, xc = provisioned_circuit(server)
    xc_peering(server, xc.name, "AzurePrivatePeering", PRIVATE)
    xc = server.network("partner").express_route_cross_connections.get(XC_GROUP, xc.name)
    subscription = server.subscription(side)
    rbac.resources(server, admin, subscription).resource_groups.create_or_update("scratch-rg", {"location": "westus"})
    bystander = rbac.create_identity(server, "bystander")
    if side == "partner":
        return World(server, side, subscription, XC_GROUP, xc.id, xc.name, xc, bystander)
    return World(server, side, subscription, CIRCUIT_GROUP, circuit.id, circuit.name, xc, bystander)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(world: World, role: str, level: str) -> None:
    server = world.server
    who = rbac.create_identity(server, f"matrix-{role}-{level}".replace(" ", "-").lower())
    scope = {
        SUBSCRIPTION: f"/subscriptions/{world.subscription}",
        GROUP: f"/subscriptions/{world.subscription}/resourceGroups/{world.group}",
        RESOURCE: world.resource_id,
    }[level]
    if role == "Custom network reader":
        guid = rbac.create_custom_role(server, "Custom network reader", CUSTOM_READER_ACTIONS,
                                       [f"/subscriptions/{world.subscription}"])  # fmt: skip
        rbac.assign(server, who, guid, scope)
    elif role != "(no role)":
        rbac.assign(server, who, rbac.ROLE_IDS[role], scope)
    world.rc = rbac.resources(server, who, world.subscription)
    world.nc = rbac.network(server, who, world.subscription)
    world.ac = rbac.authorization(server, who, world.subscription)
    world.fc = rbac.features(server, who, world.subscription)

    wrong: list[str] = []
    for op in OPS[world.side]:
        if expected(role, level, op):
            try:
                op.run(world)
            except Exception as exc:  # noqa: BLE001 - reported below with the operation's name
                wrong.append(f"{op.name}: expected allowed, got {type(exc).__name__}: {str(exc)[:300]}")
        else:
            try:
                rbac.assert_denied(server, lambda op=op: op.run(world), op.action)
            except AssertionError as exc:
                wrong.append(f"{op.name}: expected denied: {str(exc)[:300]}")
    assert not wrong, f"{role} at {level} ({world.side}):\n" + "\n".join(wrong)
