"""Every validation rule of expressRouteCircuits (the customer's side) with a failing input:
status, code, the field named, and nothing changed; plus the allowed side of each boundary."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server
from tests.support.network import (
    API,
    GROUP,
    PROVIDER,
    XC_GROUP,
    circuit_body,
    circuit_path,
    create_circuit,
    ensure_group,
    find_cross_connection,
    rejected,
    set_provider_state,
)

SPP = "properties.serviceProviderProperties"


def _mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = circuit_body()
    change(body)
    return body


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for p in parents:
            node = node[p]
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for p in parents:
            node = node[p]
        del node[last]

    return change


CREATE_RULES = [
    pytest.param(
        _set(f"{SPP}.serviceProviderName", "No Such Provider"),
        "InvalidServiceProviderName",
        f"{SPP}.serviceProviderName",
        id="unknown-provider",
    ),
    pytest.param(
        _set(f"{SPP}.serviceProviderName", "ibiza test provider"),
        "InvalidServiceProviderName",
        f"{SPP}.serviceProviderName",
        id="provider-wrong-casing",
    ),
    pytest.param(
        _set(f"{SPP}.peeringLocation", "Silicon Valley"),
        "InvalidPeeringLocation",
        f"{SPP}.peeringLocation",
        id="location-not-offered",
    ),
    pytest.param(
        _set(f"{SPP}.peeringLocation", "area51"),
        "InvalidPeeringLocation",
        f"{SPP}.peeringLocation",
        id="location-wrong-casing",
    ),
    pytest.param(
        _set(f"{SPP}.bandwidthInMbps", 300), "InvalidBandwidth", f"{SPP}.bandwidthInMbps", id="bandwidth-not-offered"
    ),
    pytest.param(
        _set(f"{SPP}.bandwidthInMbps", 20000), "InvalidBandwidth", f"{SPP}.bandwidthInMbps", id="bandwidth-above-offers"
    ),
    pytest.param(
        _set("sku", {"name": "Gold_MeteredData", "tier": "Gold", "family": "MeteredData"}),
        "InvalidSkuTier",
        "sku.tier",
        id="sku-tier-invalid",
    ),
    pytest.param(
        _set("sku", {"name": "Standard_Free", "tier": "Standard", "family": "Free"}),
        "InvalidSkuFamily",
        "sku.family",
        id="sku-family-invalid",
    ),
    pytest.param(
        _set("sku", {"name": "Premium_MeteredData", "tier": "Standard", "family": "MeteredData"}),
        "InvalidSkuName",
        "sku.name",
        id="sku-name-mismatch-tier",
    ),
    pytest.param(
        _set("sku", {"name": "Standard_UnlimitedData", "tier": "Standard", "family": "MeteredData"}),
        "InvalidSkuName",
        "sku.name",
        id="sku-name-mismatch-family",
    ),
    pytest.param(_drop("sku"), "MissingSku", "sku", id="missing-sku"),
    pytest.param(
        _drop("properties.serviceProviderProperties"),
        "MissingServiceProviderProperties",
        SPP,
        id="missing-service-provider-properties",
    ),
    pytest.param(
        _drop(f"{SPP}.serviceProviderName"),
        "MissingServiceProviderName",
        f"{SPP}.serviceProviderName",
        id="missing-provider-name",
    ),
    pytest.param(
        _drop(f"{SPP}.peeringLocation"),
        "MissingPeeringLocation",
        f"{SPP}.peeringLocation",
        id="missing-peering-location",
    ),
    pytest.param(_drop(f"{SPP}.bandwidthInMbps"), "MissingBandwidth", f"{SPP}.bandwidthInMbps", id="missing-bandwidth"),
    pytest.param(_set("location", "middleearth"), "InvalidLocation", "location", id="invalid-location"),
]


@pytest.mark.parametrize(("change", "code", "field"), CREATE_RULES)
def test_create_rejects(server: Server, change: Callable[[dict[str, Any]], None], code: str, field: str) -> None:
    ensure_group(server)
    customer = server.network("customer")
    body = _mutate(change)
    error = rejected(
        server, lambda: customer.express_route_circuits.begin_create_or_update(GROUP, "er1", body), 400, code, field
    )
    assert error["target"] == field
    if code == "InvalidServiceProviderName":
        assert "exactly" in error["message"]
    with pytest.raises(ResourceNotFoundError):
        customer.express_route_circuits.get(GROUP, "er1")


@pytest.mark.parametrize(
    "sku",
    [
        {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        {"name": "Premium_UnlimitedData", "tier": "Premium", "family": "UnlimitedData"},
        {"name": "Local_UnlimitedData", "tier": "Local", "family": "UnlimitedData"},
        {"name": "Premium_MeteredData"},  # tier and family follow from the name
    ],
)
def test_create_accepts_valid_skus(server: Server, sku: dict[str, str]) -> None:
    body = circuit_body()
    body["sku"] = sku
    circuit = create_circuit(server, body=body)
    tier, family = sku["name"].split("_")
    assert (circuit.sku.name, circuit.sku.tier, circuit.sku.family) == (sku["name"], tier, family)


@pytest.mark.parametrize("bandwidth", [50, 10000])
def test_create_accepts_offered_bandwidth_bounds(server: Server, bandwidth: int) -> None:
    circuit = create_circuit(server, bandwidth=bandwidth)
    assert circuit.service_provider_properties.bandwidth_in_mbps == bandwidth
    assert find_cross_connection(server, circuit.service_key).bandwidth_in_mbps == bandwidth


def test_new_circuit_gets_service_key_states_and_stag(server: Server) -> None:
    first = create_circuit(server, "er1")
    second = create_circuit(server, "er2")
    for circuit in (first, second):
        assert str(uuid.UUID(circuit.service_key)) == circuit.service_key
        assert circuit.service_provider_provisioning_state == "NotProvisioned"
        assert circuit.circuit_provisioning_state == "Enabled"
        assert circuit.provisioning_state == "Succeeded"
    assert first.service_key != second.service_key
    x1, x2 = find_cross_connection(server, first.service_key), find_cross_connection(server, second.service_key)
    assert x1.service_provider_provisioning_state == "NotProvisioned"
    # both small circuits land on the same port pair, each with its own s-tag
    assert (x1.primary_azure_port, x1.secondary_azure_port) == (x2.primary_azure_port, x2.secondary_azure_port)
    assert x1.s_tag != x2.s_tag
    assert first.stag == x1.s_tag and second.stag == x2.s_tag


# -- updates -------------------------------------------------------------------------------------


def _update(server: Server, change: Callable[[dict[str, Any]], None], name: str = "er1") -> Any:
    customer = server.network("customer")
    body = copy.deepcopy(customer.express_route_circuits.get(GROUP, name).as_dict())
    change(body)
    return lambda: customer.express_route_circuits.begin_create_or_update(GROUP, name, body).result()


def test_bandwidth_can_increase_but_not_decrease(server: Server) -> None:
    circuit = create_circuit(server, bandwidth=100)
    rejected(
        server,
        _update(server, _set(f"{SPP}.bandwidthInMbps", 50)),
        400,
        "CannotDecreaseBandwidth",
        f"{SPP}.bandwidthInMbps",
    )
    updated = _update(server, _set(f"{SPP}.bandwidthInMbps", 200))()
    assert updated.service_provider_properties.bandwidth_in_mbps == 200
    assert find_cross_connection(server, circuit.service_key).bandwidth_in_mbps == 200
    rejected(
        server,
        _update(server, _set(f"{SPP}.bandwidthInMbps", 100)),
        400,
        "CannotDecreaseBandwidth",
        f"{SPP}.bandwidthInMbps",
    )


def test_sku_family_metered_to_unlimited_only(server: Server) -> None:
    create_circuit(server, "unlimited", body=circuit_body(family="UnlimitedData"))
    metered = {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"}
    rejected(server, _update(server, _set("sku", metered), "unlimited"), 400, "CannotChangeSkuFamily", "sku.family")

    create_circuit(server, "metered")
    unlimited = {"name": "Standard_UnlimitedData", "tier": "Standard", "family": "UnlimitedData"}
    updated = _update(server, _set("sku", unlimited), "metered")()
    assert updated.sku.family == "UnlimitedData" and updated.sku.name == "Standard_UnlimitedData"


def test_tier_can_change(server: Server) -> None:
    create_circuit(server)
    premium = {"name": "Premium_MeteredData", "tier": "Premium", "family": "MeteredData"}
    assert _update(server, _set("sku", premium))().sku.tier == "Premium"


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        pytest.param(f"{SPP}.serviceProviderName", "Equinix", "CannotChangeServiceProvider", id="provider"),
        pytest.param(f"{SPP}.peeringLocation", "EUAP Test", "CannotChangePeeringLocation", id="peering-location"),
        pytest.param("location", "eastus", "CannotChangeLocation", id="location"),
    ],
)
def test_immutable_circuit_fields(server: Server, path: str, value: str, code: str) -> None:
    create_circuit(server)
    rejected(server, _update(server, _set(path, value)), 400, code, path)


def test_unchanged_update_is_accepted(server: Server) -> None:
    circuit = create_circuit(server)
    again = _update(server, lambda body: None)()
    assert again.service_key == circuit.service_key
    assert again.service_provider_properties.peering_location == "Area51"


# -- delete --------------------------------------------------------------------------------------


def test_delete_refused_until_provider_deprovisions(server: Server) -> None:
    circuit = create_circuit(server)
    customer = server.network("customer")
    xc = find_cross_connection(server, circuit.service_key)
    for provider_state in ("Provisioning", "Provisioned", "Deprovisioning"):
        xc = set_provider_state(server, xc, provider_state)
        error = rejected(
            server,
            lambda: customer.express_route_circuits.begin_delete(GROUP, "er1").result(),
            400,
            "CircuitDeleteRequiresProviderDeprovisioning",
            "serviceProviderProvisioningState",
        )
        assert "deprovision" in error["message"]
        assert provider_state in error["message"]
    set_provider_state(server, xc, "NotProvisioned")
    customer.express_route_circuits.begin_delete(GROUP, "er1").result()
    with pytest.raises(ResourceNotFoundError):
        customer.express_route_circuits.get(GROUP, "er1")
    partner = server.network("partner")
    assert [x for x in partner.express_route_cross_connections.list() if x.name == circuit.service_key] == []
    with pytest.raises(ResourceNotFoundError):
        partner.express_route_cross_connections.get(XC_GROUP, circuit.service_key)


# -- test locations and the feature flag ----------------------------------------------------------


def test_test_provider_visible_with_the_feature(server: Server) -> None:
    customer = server.network("customer")
    providers = {p.name: p for p in customer.express_route_service_providers.list()}
    assert PROVIDER in providers
    assert set(providers[PROVIDER].peering_locations) == {"Area51", "EUAP Test"}


def test_test_locations_invisible_without_the_feature(server: Server) -> None:
    enlist = {
        "tenantId": server.env["tenant_id"],
        "displayName": "x",
        "registeredProviders": ["Microsoft.Network"],
        "owners": [server.env["customer"]["object_id"]],  # the customer app may use it
    }
    r = server.operator("POST", "/subscriptions", enlist)
    assert r.status_code == 201, r.text
    sub = r.json()["subscriptionId"]
    network = server.network("customer", subscription=sub)
    names = [p.name for p in network.express_route_service_providers.list()]
    assert names and PROVIDER not in names
    ensure_group(server, GROUP, subscription=sub)
    for location in ("Area51", "EUAP Test"):
        body = circuit_body(peering_location=location)
        rejected(
            server,
            lambda b=body: network.express_route_circuits.begin_create_or_update(GROUP, "er1", b),
            400,
            "InvalidServiceProviderName",
            f"{SPP}.serviceProviderName",
        )


FEATURE = "providers/Microsoft.Features/providers/Microsoft.Network/features/AllowExpressRouteTestPeeringLocations"


def test_test_locations_follow_the_feature_registration(server: Server) -> None:
    """The seeded customer subscription gives the feature up, asks again (Pending: invisible until
    the operator approves) and is approved."""
    create_circuit(server, "before")  # existing circuits stay
    sub = server.subscription("customer")
    customer = server.network("customer")
    with server.http("customer") as client:
        r = client.post(f"/subscriptions/{sub}/{FEATURE}/unregister", params={"api-version": "2021-07-01"})
        assert r.status_code == 200, r.text
        assert PROVIDER not in [p.name for p in customer.express_route_service_providers.list()]
        rejected(
            server,
            lambda: customer.express_route_circuits.begin_create_or_update(GROUP, "er1", circuit_body()),
            400,
            "InvalidServiceProviderName",
            f"{SPP}.serviceProviderName",
        )
        r = client.post(f"/subscriptions/{sub}/{FEATURE}/register", params={"api-version": "2021-07-01"})
        assert r.json()["properties"]["state"] == "Pending"
        rejected(
            server,
            lambda: customer.express_route_circuits.begin_create_or_update(GROUP, "er1", circuit_body()),
            400,
            "InvalidServiceProviderName",
            f"{SPP}.serviceProviderName",
        )
    feature = "Microsoft.Network/AllowExpressRouteTestPeeringLocations"
    r = server.operator("POST", "/features/approve", {"subscriptionId": sub, "feature": feature})
    assert r.status_code == 200, r.text
    assert PROVIDER in [p.name for p in customer.express_route_service_providers.list()]
    assert create_circuit(server).service_provider_properties.peering_location == "Area51"
    assert customer.express_route_circuits.get(GROUP, "before").provisioning_state == "Succeeded"


# -- port capacity (2 port pairs × 10 Gbps × overprovision 4 per provider and location) ------------


def _raw_create(server: Server, client: httpx.Client, name: str, bandwidth: int) -> httpx.Response:
    return client.put(circuit_path(server, name), params={"api-version": API}, json=circuit_body(bandwidth))


def test_capacity_exhausted(server: Server) -> None:
    ensure_group(server)
    with server.http("customer") as client:
        for i in range(8):
            r = _raw_create(server, client, f"big{i}", 10000)
            assert r.status_code == 201, r.text
        rejected(
            server,
            lambda: _raw_create(server, client, "one-too-many", 50),
            400,
            "ExpressRoutePortCapacityExhausted",
            "peeringLocation",
        )
        # the other test location of the provider has its own ports
        body = circuit_body(50, peering_location="EUAP Test")
        r = client.put(circuit_path(server, "euap"), params={"api-version": API}, json=body)
        assert r.status_code == 201, r.text
    # deleting a circuit gives its capacity back
    customer = server.network("customer")
    customer.express_route_circuits.begin_delete(GROUP, "big0").result()
    assert create_circuit(server, "fits-again", bandwidth=10000).provisioning_state == "Succeeded"


def test_bandwidth_increase_needs_port_capacity(server: Server) -> None:
    create_circuit(server, "a", bandwidth=5000)
    for i in range(3):
        create_circuit(server, f"big{i}", bandwidth=10000)
    create_circuit(server, "b", bandwidth=5000)  # port pair 1 is now full (40 Gbps)
    c = create_circuit(server, "c", bandwidth=5000)  # lands on pair 2
    a = server.network("customer").express_route_circuits.get(GROUP, "a")
    xa, xc = find_cross_connection(server, a.service_key), find_cross_connection(server, c.service_key)
    assert xa.primary_azure_port != xc.primary_azure_port
    rejected(
        server,
        _update(server, _set(f"{SPP}.bandwidthInMbps", 10000), "a"),
        400,
        "ExpressRoutePortCapacityExhausted",
        f"{SPP}.bandwidthInMbps",
    )
    grown = _update(server, _set(f"{SPP}.bandwidthInMbps", 10000), "c")()
    assert grown.service_provider_properties.bandwidth_in_mbps == 10000
