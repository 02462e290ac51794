"""Every rule of expressRouteCrossConnections (the partner's side) with a failing input: status,
code, the field named, and nothing changed; plus the allowed side of each rule."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.support import Server, free_port
from tests.support.network import (
    API,
    GROUP,
    MICROSOFT,
    PRIVATE,
    XC_GROUP,
    circuit_body,
    create_circuit,
    cross_connection_path,
    find_cross_connection,
    rejected,
    set_provider_state,
    state,
)


def _xc_json(server: Server, key: str) -> dict[str, Any]:
    with server.http("partner") as client:
        r = client.get(cross_connection_path(server, key), params={"api-version": API})
        assert r.status_code == 200, r.text
        return dict(r.json())


def _put_raw(server: Server, key: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    with server.http("partner") as client:
        return client.put(
            cross_connection_path(server, key), params={"api-version": API}, json=body, headers=headers or {}
        )


def _customer_circuit(server: Server, name: str = "er1") -> Any:
    return server.network("customer").express_route_circuits.get(GROUP, name)


def test_put_answers_200_never_201(server: Server) -> None:
    circuit = create_circuit(server)
    body = _xc_json(server, circuit.service_key)
    r = _put_raw(server, circuit.service_key, body)
    assert r.status_code == 200, r.text
    body["properties"]["serviceProviderProvisioningState"] = "Provisioning"
    r = _put_raw(server, circuit.service_key, body)
    assert r.status_code == 200, r.text
    assert r.headers.get("Azure-AsyncOperation")
    assert r.json()["properties"]["serviceProviderProvisioningState"] == "Provisioning"


READ_ONLY = [
    pytest.param("location", "eastus", id="location"),
    pytest.param("properties.bandwidthInMbps", 100, id="bandwidthInMbps"),
    pytest.param("properties.peeringLocation", "EUAP Test", id="peeringLocation"),
    pytest.param("properties.primaryAzurePort", "A51-TEST-06GMR-CIS-3-PRI-A", id="primaryAzurePort"),
    pytest.param("properties.secondaryAzurePort", "A51-TEST-06GMR-CIS-4-SEC-A", id="secondaryAzurePort"),
    pytest.param("properties.sTag", 999, id="sTag"),
    pytest.param("properties.expressRouteCircuit.id", "other", id="expressRouteCircuit.id"),
]


@pytest.mark.parametrize(("field", "value"), READ_ONLY)
def test_read_only_fields_cannot_change(server: Server, field: str, value: Any) -> None:
    circuit = create_circuit(server)
    other = create_circuit(server, "er2")
    if value == "other":
        value = other.id
    partner = server.network("partner")
    body = _xc_json(server, circuit.service_key)
    node = body
    *parents, last = field.split(".")
    for p in parents:
        node = node[p]
    node[last] = value
    body["properties"]["serviceProviderProvisioningState"] = "Provisioned"  # must not be applied either
    error = rejected(
        server,
        lambda: partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, circuit.service_key, body),
        400,
        "ReadOnlyPropertyCannotBeChanged",
        field,
    )
    assert error["target"] == field
    assert _customer_circuit(server).service_provider_provisioning_state == "NotProvisioned"


def test_read_only_fields_unchanged_or_left_out_are_kept(server: Server) -> None:
    circuit = create_circuit(server)
    key = circuit.service_key
    partner = server.network("partner")
    full = _xc_json(server, key)
    full["location"] = "West US"  # the same region, spelled as a display name
    full["properties"]["expressRouteCircuit"]["id"] = circuit.id.upper()  # ids are case-insensitive
    full["properties"]["serviceProviderProvisioningState"] = "Provisioning"
    xc = partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, key, full).result()
    assert xc.service_provider_provisioning_state == "Provisioning"
    sparse = {"properties": {"serviceProviderProvisioningState": "Provisioned"}}
    xc = partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, key, sparse).result()
    original = full["properties"]
    assert xc.service_provider_provisioning_state == "Provisioned"
    assert (xc.bandwidth_in_mbps, xc.peering_location, xc.s_tag) == (50, "Area51", original["sTag"])
    assert (xc.primary_azure_port, xc.secondary_azure_port) == (
        original["primaryAzurePort"],
        original["secondaryAzurePort"],
    )
    assert xc.express_route_circuit.id == circuit.id and xc.location == "westus"


# -- the provider provisioning state machine -------------------------------------------------------

STATES = ("NotProvisioned", "Provisioning", "Provisioned", "Deprovisioning")
LEGAL = {
    ("NotProvisioned", "Provisioning"),
    ("NotProvisioned", "Provisioned"),
    ("Provisioning", "Provisioned"),
    ("Provisioning", "NotProvisioned"),
    ("Provisioned", "Deprovisioning"),
    ("Provisioned", "NotProvisioned"),
    ("Deprovisioning", "NotProvisioned"),
    ("Deprovisioning", "Provisioned"),
}
PATH_TO = {
    "NotProvisioned": [],
    "Provisioning": ["Provisioning"],
    "Provisioned": ["Provisioned"],
    "Deprovisioning": ["Provisioned", "Deprovisioning"],
}
TRANSITIONS = [(a, b) for a in STATES for b in STATES if a != b]


def _reach(server: Server, key: str, wanted: str) -> Any:
    xc = find_cross_connection(server, key)
    for step in PATH_TO[wanted]:
        xc = set_provider_state(server, xc, step)
    assert xc.service_provider_provisioning_state == wanted
    return xc


@pytest.mark.parametrize(("start", "target"), [pytest.param(a, b, id=f"{a}-{b}") for a, b in TRANSITIONS])
def test_provider_state_transitions(server: Server, start: str, target: str) -> None:
    circuit = create_circuit(server)
    xc = _reach(server, circuit.service_key, start)
    if (start, target) in LEGAL:
        xc = set_provider_state(server, xc, target)
        assert xc.service_provider_provisioning_state == target
        assert _customer_circuit(server).service_provider_provisioning_state == target
        return
    error = rejected(
        server,
        lambda: set_provider_state(server, xc, target),
        400,
        "InvalidServiceProviderProvisioningStateTransition",
        "serviceProviderProvisioningState",
    )
    assert start in error["message"] and target in error["message"]
    assert _customer_circuit(server).service_provider_provisioning_state == start


@pytest.mark.parametrize("value", ["Active", "provisioned", ""])
def test_unknown_provider_state_is_rejected(server: Server, value: str) -> None:
    circuit = create_circuit(server)
    body = {"properties": {"serviceProviderProvisioningState": value}}
    rejected(
        server,
        lambda: _put_raw(server, circuit.service_key, body),
        400,
        "InvalidServiceProviderProvisioningState",
        "properties.serviceProviderProvisioningState",
    )


def test_notes_are_shown_on_the_circuit(server: Server) -> None:
    circuit = create_circuit(server)
    partner = server.network("partner")
    body = {"properties": {"serviceProviderNotes": "VLAN 1000 on ge-0/0/1"}}
    xc = partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, circuit.service_key, body).result()
    assert xc.service_provider_notes == "VLAN 1000 on ge-0/0/1"
    assert _customer_circuit(server).service_provider_notes == "VLAN 1000 on ge-0/0/1"
    assert xc.service_provider_provisioning_state == "NotProvisioned"
    too_long = {"properties": {"serviceProviderNotes": "x" * 1025}}
    rejected(
        server,
        lambda: _put_raw(server, circuit.service_key, too_long),
        400,
        "InvalidServiceProviderNotes",
        "properties.serviceProviderNotes",
    )


def test_patch_tags(server: Server) -> None:
    circuit = create_circuit(server)
    partner = server.network("partner")
    before = _xc_json(server, circuit.service_key)
    xc = partner.express_route_cross_connections.update_tags(
        XC_GROUP, circuit.service_key, {"tags": {"owner": "noc", "ticket": "42"}}
    )
    assert xc.tags == {"owner": "noc", "ticket": "42"}
    assert xc.etag != before["etag"]
    assert partner.express_route_cross_connections.get(XC_GROUP, circuit.service_key).tags == xc.tags
    assert not _customer_circuit(server).tags
    with server.http("partner") as client:
        r = client.patch(
            cross_connection_path(server, circuit.service_key), params={"api-version": API}, json={"tags": {"bad": 1}}
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent"


def test_list_by_filter_and_by_resource_group(server: Server) -> None:
    first = create_circuit(server, "er1")
    second = create_circuit(server, "er2")
    create_circuit(server, "euap", body=circuit_body(peering_location="EUAP Test"))
    partner = server.network("partner")
    assert [x.name for x in partner.express_route_cross_connections.list(filter=f"name eq '{second.service_key}'")] == [
        second.service_key
    ]
    assert list(partner.express_route_cross_connections.list(filter="name eq 'no-such-key'")) == []
    # the service key compares without case, also within a resource group (found through the index)
    upper = f"name eq '{first.service_key.upper()}'"
    assert [x.name for x in partner.express_route_cross_connections.list(filter=upper)] == [first.service_key]
    with server.http("partner") as client:
        for group, expected in ((XC_GROUP, [first.service_key]), ("CrossConnection-EUAPTest", [])):
            r = client.get(
                f"/subscriptions/{server.subscription('partner')}/resourceGroups/{group}/providers/"
                "Microsoft.Network/expressRouteCrossConnections",
                params={"api-version": API, "$filter": upper},
            )
            assert r.status_code == 200 and [x["name"] for x in r.json()["value"]] == expected, r.text
    in_area51 = {x.name for x in partner.express_route_cross_connections.list_by_resource_group(XC_GROUP)}
    assert in_area51 == {first.service_key, second.service_key}
    in_euap = list(partner.express_route_cross_connections.list_by_resource_group("CrossConnection-EUAPTest"))
    assert len(in_euap) == 1 and in_euap[0].peering_location == "EUAP Test"
    assert len(list(partner.express_route_cross_connections.list())) == 3
    with server.http("partner") as client:
        sub = server.subscription("partner")
        r = client.get(
            f"/subscriptions/{sub}/providers/Microsoft.Network/expressRouteCrossConnections",
            params={"api-version": API, "$filter": "location eq 'westus'"},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidFilter"


def test_customer_subscription_has_no_cross_connections(server: Server) -> None:
    circuit = create_circuit(server)
    customer = server.network("customer")
    rejected(server, lambda: list(customer.express_route_cross_connections.list()), 404, "InvalidResourceType", None)
    rejected(
        server,
        lambda: customer.express_route_cross_connections.get(XC_GROUP, circuit.service_key),
        404,
        "InvalidResourceType",
        None,
    )
    rejected(
        server,
        lambda: list(customer.express_route_cross_connections.list_by_resource_group(GROUP)),
        404,
        "InvalidResourceType",
        None,
    )


def test_put_of_unknown_cross_connection_is_404(server: Server) -> None:
    create_circuit(server)
    partner = server.network("partner")
    body = {"location": "westus", "properties": {"serviceProviderProvisioningState": "Provisioned"}}
    unknown = "00000000-0000-0000-0000-000000000001"
    rejected(
        server,
        lambda: partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, unknown, body),
        404,
        "ResourceNotFound",
        None,
    )
    rejected(
        server,
        lambda: partner.express_route_cross_connections.begin_create_or_update("nowhere", unknown, body),
        404,
        "ResourceGroupNotFound",
        None,
    )
    with pytest.raises(ResourceNotFoundError):
        partner.express_route_cross_connections.get(XC_GROUP, unknown)


def test_stale_if_match_is_412(server: Server) -> None:
    circuit = create_circuit(server)
    key = circuit.service_key
    stale = _xc_json(server, key)["etag"]
    partner = server.network("partner")
    partner.express_route_cross_connections.begin_create_or_update(
        XC_GROUP, key, {"properties": {"serviceProviderNotes": "first"}}
    ).result()
    body = {"properties": {"serviceProviderProvisioningState": "Provisioned"}}
    rejected(server, lambda: _put_raw(server, key, body, {"If-Match": stale}), 412, "PreconditionFailed", None)

    def patch_stale() -> Any:
        with server.http("partner") as client:
            return client.patch(
                cross_connection_path(server, key),
                params={"api-version": API},
                json={"tags": {"a": "b"}},
                headers={"If-Match": stale},
            )

    rejected(server, patch_stale, 412, "PreconditionFailed", None)
    # a customer-side change (bandwidth) also changes the cross connection's ETag
    current = _xc_json(server, key)["etag"]
    customer = server.network("customer")
    customer.express_route_circuits.begin_create_or_update(GROUP, "er1", circuit_body(100)).result()
    rejected(server, lambda: _put_raw(server, key, body, {"If-Match": current}), 412, "PreconditionFailed", None)
    fresh = _xc_json(server, key)["etag"]
    r = _put_raw(server, key, body, {"If-Match": fresh})
    assert r.status_code == 200, r.text
    assert _customer_circuit(server).service_provider_provisioning_state == "Provisioned"


def _raw_state(server: Server) -> dict[str, Any]:
    tables = server.snapshot()
    return {name: tables[name] for name in ("resources", "meta", "operations")}


def test_second_write_while_operation_in_progress_is_409(tmp_path: Path) -> None:
    slow = Server(tmp_path / "data", free_port(), extra_args=["--operation-delay", "3"])
    slow.start()
    try:
        circuit = create_circuit(slow)
        key = circuit.service_key
        r = _put_raw(slow, key, {"properties": {"serviceProviderProvisioningState": "Provisioning"}})
        assert r.status_code == 200, r.text
        assert r.json()["properties"]["provisioningState"] == "Updating"
        before = _raw_state(slow)
        started = time.time()
        second = _put_raw(slow, key, {"properties": {"serviceProviderProvisioningState": "Provisioned"}})
        assert time.time() - started < 2.5, "the first operation finished before the check"
        assert second.status_code == 409, second.text
        error = second.json()["error"]
        assert error["code"] == "AnotherOperationInProgress"
        assert "/operations/" in error["message"]
        assert _raw_state(slow) == before
        # once the first operation is done, the write goes through
        state(slow)  # waits for it
        xc = set_provider_state(slow, find_cross_connection(slow, key), "Provisioned")
        assert xc.service_provider_provisioning_state == "Provisioned"
    finally:
        slow.stop()


# -- peerings sent inside the cross connection follow the peering rules ----------------------------


def _embedded(*peerings: dict[str, Any], state: str = "Provisioned") -> dict[str, Any]:
    return {
        "properties": {
            "serviceProviderProvisioningState": state,
            "peerings": [{"name": p["peeringType"], "properties": p} for p in peerings],
        }
    }


@pytest.mark.parametrize(
    ("peerings", "code", "field"),
    [
        pytest.param([{**PRIVATE, "vlanId": 0}], "InvalidVlanId", "vlanId", id="vlan-0"),
        pytest.param([{**PRIVATE, "peerASN": 65515}], "ReservedPeerAsn", "peerASN", id="asn-65515"),
        pytest.param(
            [{**PRIVATE, "primaryPeerAddressPrefix": "192.168.100.128/31"}],
            "InvalidPeerAddressPrefix",
            "primaryPeerAddressPrefix",
            id="prefix-31",
        ),
        pytest.param([{**PRIVATE, "sharedKey": "not-alphanumeric"}], "InvalidSharedKey", "sharedKey", id="shared-key"),
        pytest.param(
            [PRIVATE, {**MICROSOFT, "vlanId": PRIVATE["vlanId"]}], "VlanIdInUse", "vlanId", id="same-vlan-twice"
        ),
    ],
)
def test_embedded_peerings_are_validated(server: Server, peerings: list[dict[str, Any]], code: str, field: str) -> None:
    circuit = create_circuit(server)
    partner = server.network("partner")
    body = _embedded(*peerings)
    rejected(
        server,
        lambda: partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, circuit.service_key, body),
        400,
        code,
        field,
    )
    assert _customer_circuit(server).service_provider_provisioning_state == "NotProvisioned"


def test_embedded_peerings_need_a_provisioned_circuit(server: Server) -> None:
    circuit = create_circuit(server)
    partner = server.network("partner")
    body = _embedded(PRIVATE, state="Provisioning")
    rejected(
        server,
        lambda: partner.express_route_cross_connections.begin_create_or_update(XC_GROUP, circuit.service_key, body),
        400,
        "CircuitNotProvisioned",
        "serviceProviderProvisioningState",
    )
    xc = partner.express_route_cross_connections.begin_create_or_update(
        XC_GROUP, circuit.service_key, _embedded(PRIVATE, MICROSOFT)
    ).result()
    assert {p.name: p.vlan_id for p in xc.peerings} == {"AzurePrivatePeering": 100, "MicrosoftPeering": 200}
