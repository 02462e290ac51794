"""Helpers for the network rule tests: circuits, cross connections and peerings through the
real azure-mgmt-network SDK (dict bodies are sent verbatim), raw HTTPS where the SDK cannot
express the bad input, and "nothing changed" checks against the server's full state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from azure.core.exceptions import HttpResponseError

from tests.support import Server, settled_snapshot

API = "2026-03-01"
PROVIDER = "Ibiza Test Provider"
GROUP = "customer-rg"
XC_GROUP = "CrossConnection-Area51"
NETWORK = "providers/Microsoft.Network"

PRIVATE: dict[str, Any] = {
    "peeringType": "AzurePrivatePeering",
    "peerASN": 65010,
    "vlanId": 100,
    "primaryPeerAddressPrefix": "192.168.100.128/30",
    "secondaryPeerAddressPrefix": "192.168.100.132/30",
    "sharedKey": "abc123",
}
MICROSOFT: dict[str, Any] = {
    "peeringType": "MicrosoftPeering",
    "peerASN": 3598,
    "vlanId": 200,
    "primaryPeerAddressPrefix": "131.107.1.0/30",
    "secondaryPeerAddressPrefix": "131.107.1.4/30",
    "microsoftPeeringConfig": {
        "advertisedPublicPrefixes": ["131.107.2.0/24"],
        "customerASN": 3598,
        "routingRegistryName": "ARIN",
    },
}
# The IPv6 session of a Microsoft peering (MICROSOFT's ipv6PeeringConfig): public subnets and a
# prefix registered to AS 3333 (RIPE NCC) in the default routing-registry model.
MICROSOFT_IPV6: dict[str, Any] = {
    "primaryPeerAddressPrefix": "2001:67c:2e8:1::/126",
    "secondaryPeerAddressPrefix": "2001:67c:2e8:1::4/126",
    "microsoftPeeringConfig": {
        "advertisedPublicPrefixes": ["2001:67c:2e8::/48"],
        "customerASN": 3333,
        "routingRegistryName": "RIPENCC",
    },
}

# What "nothing changed" compares: every resource, the fabric/catalog/registry state, the operations.
COMPARED_TABLES = ("resources", "meta", "operations", "deployments")


def peering(props: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A peering PUT body as JSON (the TypeSpec SDK sends dict bodies verbatim)."""
    return {"properties": {**props, **changes}}


def circuit_body(
    bandwidth: int = 50,
    *,
    provider: str = PROVIDER,
    peering_location: str = "Area51",
    location: str = "westus",
    tier: str = "Standard",
    family: str = "MeteredData",
) -> dict[str, Any]:
    return {
        "location": location,
        "sku": {"name": f"{tier}_{family}", "tier": tier, "family": family},
        "properties": {
            "serviceProviderProperties": {
                "serviceProviderName": provider,
                "peeringLocation": peering_location,
                "bandwidthInMbps": bandwidth,
            }
        },
    }


def ensure_group(server: Server, group: str = GROUP, role: str = "customer", subscription: str | None = None) -> None:
    server.resources(role, subscription).resource_groups.create_or_update(group, {"location": "westus"})


def create_circuit(
    server: Server, name: str = "er1", bandwidth: int = 50, group: str = GROUP, body: dict[str, Any] | None = None
) -> Any:
    ensure_group(server, group)
    customer = server.network("customer")
    return customer.express_route_circuits.begin_create_or_update(group, name, body or circuit_body(bandwidth)).result()


def circuit_path(server: Server, name: str = "er1", group: str = GROUP, subscription: str | None = None) -> str:
    sub = subscription or server.subscription("customer")
    return f"/subscriptions/{sub}/resourceGroups/{group}/{NETWORK}/expressRouteCircuits/{name}"


def cross_connection_path(server: Server, service_key: str, group: str = XC_GROUP) -> str:
    sub = server.subscription("partner")
    return f"/subscriptions/{sub}/resourceGroups/{group}/{NETWORK}/expressRouteCrossConnections/{service_key}"


def find_cross_connection(server: Server, service_key: str) -> Any:
    partner = server.network("partner")
    matches = [x for x in partner.express_route_cross_connections.list() if x.name == service_key]
    assert len(matches) == 1
    return matches[0]


def set_provider_state(server: Server, xc: Any, state: str, api_version: str | None = None) -> Any:
    """The partner sets the cross connection's serviceProviderProvisioningState (at ``api_version``
    when given, else the SDK's own)."""
    partner = server.network("partner")
    group = xc.id.split("/")[4]
    xc.service_provider_provisioning_state = state
    kwargs = {"api_version": api_version} if api_version else {}
    return partner.express_route_cross_connections.begin_create_or_update(group, xc.name, xc, **kwargs).result()


def provisioned_circuit(server: Server, name: str = "er1") -> tuple[Any, Any]:
    """A circuit whose provider has provisioned layer 2 (peerings can be configured)."""
    circuit = create_circuit(server, name)
    xc = set_provider_state(server, find_cross_connection(server, circuit.service_key), "Provisioned")
    return circuit, xc


def circuit_peering(server: Server, name: str, props: dict[str, Any], circuit: str = "er1") -> Any:
    """The customer creates or updates peering ``name`` of its circuit."""
    peerings = server.network("customer").express_route_circuit_peerings
    return peerings.begin_create_or_update(GROUP, circuit, name, peering(props)).result()


def xc_peering(server: Server, service_key: str, name: str, props: dict[str, Any]) -> Any:
    """The partner creates or updates peering ``name`` of the cross connection ``service_key``."""
    peerings = server.network("partner").express_route_cross_connection_peerings
    return peerings.begin_create_or_update(XC_GROUP, service_key, name, peering(props)).result()


def circuit_peering_path(server: Server, name: str, circuit: str = "er1") -> str:
    return f"{circuit_path(server, circuit)}/peerings/{name}"


def xc_peering_path(server: Server, service_key: str, name: str) -> str:
    return f"{cross_connection_path(server, service_key)}/peerings/{name}"


class PeeringView:
    """One of the two ARM views of a circuit's peerings: the customer's circuit peerings or the
    partner's cross-connection peerings."""

    def __init__(self, server: Server, view: str, circuit: Any, circuit_name: str = "er1") -> None:
        self.server, self.view, self.circuit = server, view, circuit
        self.circuit_name = circuit_name
        self.key = circuit.service_key
        if view == "circuit":
            self.ops = server.network("customer").express_route_circuit_peerings
            self.parent = (GROUP, circuit_name)
            self.role = "customer"
            self.path = circuit_path(server, circuit_name)
        else:
            self.ops = server.network("partner").express_route_cross_connection_peerings
            self.parent = (XC_GROUP, self.key)
            self.role = "partner"
            self.path = cross_connection_path(server, self.key)

    @property
    def modified_by(self) -> str:
        return "Customer" if self.view == "circuit" else "ServiceProvider"

    def put(self, name: str, body: dict[str, Any]) -> Any:
        return self.ops.begin_create_or_update(*self.parent, name, body).result()

    def get(self, name: str) -> Any:
        return self.ops.get(*self.parent, name)

    def list(self) -> list[Any]:
        return list(self.ops.list(*self.parent))

    def delete(self, name: str) -> None:
        self.ops.begin_delete(*self.parent, name).result()

    def put_raw(self, name: str, body: Any) -> httpx.Response:
        with self.server.http(self.role) as client:
            return client.put(f"{self.path}/peerings/{name}", params={"api-version": API}, json=body)


# -- "nothing changed" ----------------------------------------------------------------------------


def state(server: Server) -> dict[str, Any]:
    """The compared tables once no operation is still running."""
    tables = settled_snapshot(server)
    return {name: tables.get(name, []) for name in COMPARED_TABLES}


def assert_unchanged(server: Server, before: dict[str, Any]) -> None:
    after = state(server)
    for name in COMPARED_TABLES:
        assert after[name] == before[name], f"table {name!r} changed"


def check_error(status: int, error: dict[str, Any], want_status: int, code: str, field: str | None) -> None:
    assert status == want_status, (status, error)
    assert error.get("code") == code, error
    if field is not None:
        named = f"{error.get('target') or ''} {error.get('message') or ''}"
        assert field in named, f"{field!r} not named in {error}"


def rejected(
    server: Server, call: Callable[[], Any], status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """Run ``call`` (an SDK call, or a raw request returning an httpx.Response), expect an ARM error
    with ``status`` and ``code`` naming ``field`` (in target or message), and that no state changed.
    Returns the error (code, message, target)."""
    before = state(server)
    error: dict[str, Any]
    try:
        result = call()
    except HttpResponseError as exc:
        assert exc.error is not None, exc
        error = {"code": exc.error.code, "message": exc.error.message, "target": exc.error.target}
        got = exc.status_code
    else:
        assert isinstance(result, httpx.Response), f"expected {status} {code}, the call succeeded: {result}"
        got = result.status_code
        error = result.json().get("error", {}) if result.content else {}
    check_error(got, error, status, code, field)
    assert_unchanged(server, before)
    return error
