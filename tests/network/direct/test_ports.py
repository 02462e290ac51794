"""ExpressRoute Direct through the real azure-mgmt-network SDK: port locations with their stock,
ports (PUT/GET/PATCH tags/DELETE/list), links, the letter of authorization, port
authorizations, and every port rule with failing input (status, code, the field named, nothing
stored)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pypdf
import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.network.direct.support import (
    LOCATION,
    create_direct_circuit,
    create_port,
    port_body,
    port_path,
    ports,
)
from tests.support import Server, rbac
from tests.support.network import API, GROUP, ensure_group, rejected


def _locations(server: Server, role: str = "customer") -> Any:
    return server.network(role).express_route_ports_locations


def test_locations_list_and_get_with_the_stock(server: Server) -> None:
    listed = {loc.name: loc for loc in _locations(server).list()}
    assert LOCATION in listed
    area51 = listed[LOCATION]
    assert area51.type == "Microsoft.Network/expressRoutePortsLocations"
    assert area51.address and area51.contact
    assert not area51.available_bandwidths  # as Azure: only GET of one location shows the inventory

    got = _locations(server).get(LOCATION)
    assert [(b.offer_name, b.value_in_gbps) for b in got.available_bandwidths] == [("10 Gbps", 10), ("100 Gbps", 100)]
    with pytest.raises(ResourceNotFoundError):
        _locations(server).get("Atlantis")

    # the one 100 Gbps pair is taken by a port: 100 Gbps is no longer offered there
    big = create_port(server, "big", port_body(100))
    assert [b.value_in_gbps for b in _locations(server).get(LOCATION).available_bandwidths] == [10]
    # the operator's devices API shows the location's Direct pairs and who holds them
    r = server.operator("GET", f"/devices?location={LOCATION}")
    assert r.status_code == 200, r.text
    direct = {p["portPairDescriptor"]: p for p in r.json()["value"] if p["kind"] == "ExpressRouteDirect"}
    assert sorted(p["portBandwidthInMbps"] for p in direct.values()) == [10_000, 10_000, 100_000]
    held = [p for p in direct.values() if p["expressRoutePort"]]
    assert [(p["expressRoutePort"], p["portBandwidthInMbps"]) for p in held] == [(big.id, 100_000)]
    assert held[0]["primaryAzurePort"] == big.links[0].interface_name
    assert held[0]["primaryDevice"] == big.links[0].router_name
    ports(server).begin_delete(GROUP, "big").result()
    assert [b.value_in_gbps for b in _locations(server).get(LOCATION).available_bandwidths] == [10, 100]


def test_port_round_trip(server: Server) -> None:
    created = create_port(server, body=port_body(10, "QinQ", billingType="MeteredData"))
    assert created.id == port_path(server)
    assert created.type == "Microsoft.Network/expressRoutePorts"
    assert created.provisioning_state == "Succeeded"
    assert created.peering_location == LOCATION
    assert created.bandwidth_in_gbps == 10
    assert created.provisioned_bandwidth_in_gbps == 0
    assert created.encapsulation == "QinQ"
    assert created.ether_type == "0x8100"
    assert created.mtu == "1500"
    assert created.billing_type == "MeteredData"
    assert created.allocation_date and created.allocation_date.endswith(created.allocation_date.split()[-1])
    assert created.resource_guid
    assert created.circuits == []
    assert [link.name for link in created.links] == ["link1", "link2"]
    link1, link2 = created.links
    assert link1.id == port_path(server) + "/links/link1"
    assert link1.admin_state == "Disabled" and link2.admin_state == "Disabled"
    assert link1.router_name.endswith("-PRI") and link2.router_name.endswith("-SEC")
    assert link1.interface_name != link2.interface_name
    assert link1.connector_type == "LC"
    assert link1.colo_location == LOCATION

    got = ports(server).get(GROUP, "port1")
    assert got.as_dict() == created.as_dict()
    assert [p.name for p in ports(server).list_by_resource_group(GROUP)] == ["port1"]
    assert "port1" in [p.name for p in ports(server).list()]

    # links
    links = server.network("customer").express_route_links
    assert [link.name for link in links.list(GROUP, "port1")] == ["link1", "link2"]
    assert links.get(GROUP, "port1", "link2").as_dict() == link2.as_dict()
    with pytest.raises(ResourceNotFoundError):
        links.get(GROUP, "port1", "link3")

    # PATCH changes tags only
    tagged = ports(server).update_tags(GROUP, "port1", {"tags": {"env": "lab"}})
    assert tagged.tags == {"env": "lab"} and tagged.bandwidth_in_gbps == 10

    # link admin state and MACsec through a PUT of the port (what the SDK read, sent back)
    port = ports(server).get(GROUP, "port1")
    port.links[0].admin_state = "Enabled"
    port.links[0].mac_sec_config = {
        "cknSecretIdentifier": "https://vault1.vault.azure.net/secrets/ckn",
        "cakSecretIdentifier": "https://vault1.vault.azure.net/secrets/cak",
        "cipher": "GcmAes256",
        "sciState": "Enabled",
    }
    updated = ports(server).begin_create_or_update(GROUP, "port1", port).result()
    assert updated.links[0].admin_state == "Enabled"
    assert updated.links[0].mac_sec_config.cipher == "GcmAes256"
    assert updated.links[0].mac_sec_config.sci_state == "Enabled"
    assert updated.links[1].admin_state == "Disabled"
    assert updated.tags == {"env": "lab"}
    assert updated.resource_guid == created.resource_guid

    ports(server).begin_delete(GROUP, "port1").result()
    with pytest.raises(ResourceNotFoundError):
        ports(server).get(GROUP, "port1")


def test_generate_loa_is_a_pdf_naming_customer_and_port(server: Server) -> None:
    create_port(server)
    result = ports(server).generate_loa(GROUP, "port1", {"customerName": "Contoso (Ltd)"})
    document = base64.b64decode(result.encoded_content)
    assert document.startswith(b"%PDF-1.4") and document.rstrip().endswith(b"%%EOF")
    assert b"Customer: Contoso \\(Ltd\\)" in document
    assert b"ExpressRoute port: port1" in document
    port = ports(server).get(GROUP, "port1")
    for link in port.links:
        assert link.interface_name.encode() in document and link.patch_panel_id.encode() in document
    # a PDF reader (strict: a broken cross-reference table is an error) reads the letter's text
    reader = pypdf.PdfReader(io.BytesIO(document), strict=True)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Customer: Contoso (Ltd)" in text and "Peering location: Area51" in text
    assert port.links[0].router_name in text and port.links[1].rack_id in text
    # the cross-reference table points at every object exactly
    xref = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert document[xref:].startswith(b"xref")
    entries = document[xref:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert document[offset:].startswith(f"{number} 0 obj".encode())

    for bad in ({"customerName": ""}, {"customerName": "x" * 129}, {"customerName": "a\x07b"}):
        rejected(
            server,
            lambda bad=bad: ports(server).generate_loa(GROUP, "port1", bad),
            400,
            "InvalidCustomerName",
            "customerName",
        )
    rejected(
        server, lambda: ports(server).generate_loa(GROUP, "port1", {}), 400, "InvalidRequestContent", "customerName"
    )
    with pytest.raises(ResourceNotFoundError):
        ports(server).generate_loa(GROUP, "nope", {"customerName": "Contoso"})


def test_port_authorizations(server: Server) -> None:
    create_port(server)
    auths = server.network("customer").express_route_port_authorizations
    created = auths.begin_create_or_update(GROUP, "port1", "auth1", {}).result()
    assert created.type == "Microsoft.Network/expressRoutePorts/authorizations"
    assert created.id == port_path(server) + "/authorizations/auth1"
    assert created.authorization_use_status == "Available"
    assert created.authorization_key
    assert created.circuit_resource_uri is None
    assert auths.get(GROUP, "port1", "auth1").authorization_key == created.authorization_key
    assert [a.name for a in auths.list(GROUP, "port1")] == ["auth1"]
    # a second PUT keeps the key
    assert auths.begin_create_or_update(GROUP, "port1", "auth1", {}).result().authorization_key == (
        created.authorization_key
    )
    auths.begin_delete(GROUP, "port1", "auth1").result()
    assert list(auths.list(GROUP, "port1")) == []
    rejected(
        server,
        lambda: auths.begin_create_or_update(GROUP, "port1", "auth2", {"properties": {"foo": 1}}).result(),
        400,
        "InvalidRequestContent",
        "foo",
    )


# -- the rules of a port ------------------------------------------------------------------------


def _put(server: Server, body: Any, name: str = "port1") -> Any:
    return lambda: ports(server).begin_create_or_update(GROUP, name, body).result()


def _raw_put(server: Server, body: Any, name: str = "port1") -> Any:
    def call() -> Any:
        with server.http("customer") as client:
            return client.put(port_path(server, name), params={"api-version": API}, json=body)

    return call


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"location": "westus", "properties": {"bandwidthInGbps": 10, "encapsulation": "QinQ"}},
         "MissingPeeringLocation", "properties.peeringLocation"),
        ({"location": "westus", "properties": {"peeringLocation": LOCATION, "encapsulation": "QinQ"}},
         "MissingBandwidth", "properties.bandwidthInGbps"),
        ({"location": "westus", "properties": {"peeringLocation": LOCATION, "bandwidthInGbps": 10}},
         "MissingEncapsulation", "properties.encapsulation"),
        (port_body(40), "InvalidBandwidth", "properties.bandwidthInGbps"),
        (port_body(encapsulation="QinQ2"), "InvalidEncapsulation", "properties.encapsulation"),
        (port_body(billingType="Free"), "InvalidBillingType", "properties.billingType"),
        (port_body(location="Atlantis"), "InvalidPeeringLocation", "properties.peeringLocation"),
        ({**port_body(), "location": "mars"}, "InvalidLocation", "location"),
        ({"properties": port_body()["properties"]}, "LocationRequired", "location"),
        (port_body(links=[{"name": "link3", "properties": {"adminState": "Enabled"}}]),
         "InvalidExpressRouteLinkName", "properties.links[0].name"),
        (port_body(links=[{"name": "link1"}, {"name": "link1"}]), "DuplicateExpressRouteLink", "properties.links[1]"),
        (port_body(links=[{"name": "link1", "properties": {"adminState": "On"}}]),
         "InvalidAdminState", "adminState"),
        (port_body(links=[{"name": "link1", "properties": {"macSecConfig": {"cipher": "Rot13"}}}]),
         "InvalidMacSecCipher", "macSecConfig.cipher"),
        (port_body(links=[{"name": "link1", "properties": {"macSecConfig": {"sciState": "Maybe"}}}]),
         "InvalidMacSecSciState", "macSecConfig.sciState"),
        (port_body(links=[{"name": "link1", "properties": {"macSecConfig": {"cknSecretIdentifier": "ckn"}}}]),
         "InvalidMacSecSecretIdentifier", "cknSecretIdentifier"),
        ({**port_body(), "identity": {"type": "UserAssigned"}}, "ManagedIdentityNotSupported", "identity"),
        (port_body(bandwidthInGbps="10"), "InvalidRequestContent", "properties.bandwidthInGbps"),
        (port_body(speed=10), "InvalidRequestContent", "speed"),
        ({**port_body(), "tags": {"a": 1}}, "InvalidRequestContent", "tags.a"),
    ],
)  # fmt: skip
def test_port_create_rules(server: Server, body: dict, code: str, field: str) -> None:
    ensure_group(server)
    rejected(server, _raw_put(server, body), 400, code, field)


def test_port_update_rules_and_stock(server: Server) -> None:
    create_port(server, body=port_body(10, "Dot1Q", billingType="UnlimitedData"))
    for changed, code, field in [
        (port_body(100, "Dot1Q"), "CannotChangeBandwidth", "properties.bandwidthInGbps"),
        (port_body(10, "QinQ"), "CannotChangeEncapsulation", "properties.encapsulation"),
        (port_body(10, "Dot1Q", billingType="MeteredData"), "CannotChangeBillingType", "properties.billingType"),
        ({**port_body(10, "Dot1Q"), "location": "eastus"}, "CannotChangeLocation", "location"),
        (port_body(10, "Dot1Q", location="Silicon Valley"), "CannotChangePeeringLocation", "peeringLocation"),
    ]:
        rejected(server, _put(server, changed), 400, code, field)
    # the 10 Gbps stock at the location is two pairs: a third port finds none
    create_port(server, "port2")
    rejected(
        server,
        _put(server, port_body(10), "port3"),
        400,
        "ExpressRoutePortsLocationOutOfStock",
        "properties.peeringLocation",
    )
    # deleting a port gives its pair back
    ports(server).begin_delete(GROUP, "port2").result()
    assert create_port(server, "port3").provisioning_state == "Succeeded"


def test_port_with_circuits_cannot_be_deleted(server: Server) -> None:
    before = create_port(server)
    circuit = create_direct_circuit(server)
    port = ports(server).get(GROUP, "port1")
    assert port.etag != before.etag  # its circuits changed
    assert [c.id for c in port.circuits] == [circuit.id]
    assert port.provisioned_bandwidth_in_gbps == 5
    rejected(
        server,
        lambda: ports(server).begin_delete(GROUP, "port1").result(),
        400,
        "ExpressRoutePortInUseByCircuits",
        circuit.id,
    )
    server.network("customer").express_route_circuits.begin_delete(GROUP, "dc1").result()
    after = ports(server).get(GROUP, "port1")
    assert after.circuits == [] and after.etag != port.etag
    ports(server).begin_delete(GROUP, "port1").result()


def test_partner_and_reader_cannot_touch_ports(server: Server) -> None:
    create_port(server)
    with server.http("partner") as client:
        r = client.get(port_path(server), params={"api-version": API})
        assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
        r = client.post(port_path(server) + "/generateLoa", params={"api-version": API}, json={"customerName": "x"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed", r.text
        sub = server.subscription("customer")
        r = client.get(
            f"/subscriptions/{sub}/providers/Microsoft.Network/expressRoutePorts", params={"api-version": API}
        )
        assert r.status_code == 403, r.text


def test_reader_reads_ports_but_cannot_write_nor_get_a_letter(server: Server) -> None:
    """Azure's action names: a Reader reads ports, links and locations; the letter of authorization
    is an action (``…/generateloa/action``) that Reader lacks and a custom role can grant."""
    create_port(server)
    sub = server.subscription("customer")
    scope = f"/subscriptions/{sub}"
    reader = rbac.create_identity(server, "direct-reader")
    rbac.assign(server, reader, rbac.ROLE_IDS["Reader"], scope)
    net = rbac.network(server, reader, sub)
    assert net.express_route_ports.get(GROUP, "port1").name == "port1"
    assert [link.name for link in net.express_route_links.list(GROUP, "port1")] == ["link1", "link2"]
    assert LOCATION in [loc.name for loc in net.express_route_ports_locations.list()]
    rbac.assert_denied(
        server,
        lambda: net.express_route_ports.generate_loa(GROUP, "port1", {"customerName": "Contoso"}),
        "Microsoft.Network/expressRoutePorts/generateloa/action",
    )
    rbac.assert_denied(
        server,
        lambda: net.express_route_ports.begin_create_or_update(GROUP, "port2", port_body()).result(),
        "Microsoft.Network/expressRoutePorts/write",
    )
    rbac.assert_denied(
        server,
        lambda: net.express_route_port_authorizations.begin_create_or_update(GROUP, "port1", "a1", {}).result(),
        "Microsoft.Network/expressRoutePorts/authorizations/write",
    )
    letters = rbac.create_custom_role(
        server, "Direct letters", ["Microsoft.Network/expressRoutePorts/generateloa/action"], [scope]
    )
    rbac.assign(server, reader, letters, scope)
    assert net.express_route_ports.generate_loa(GROUP, "port1", {"customerName": "Contoso"}).encoded_content


def test_ports_as_generic_resources(server: Server) -> None:
    """Microsoft.Resources sees ports and their authorizations by id, and the provider metadata
    lists the Direct types."""
    port = create_port(server)
    server.network("customer").express_route_port_authorizations.begin_create_or_update(
        GROUP, "port1", "auth1", {}
    ).result()
    rc = server.resources("customer")
    types = {t.resource_type: t.api_versions for t in rc.providers.get("Microsoft.Network").resource_types}
    for name in ("expressRoutePorts", "expressRoutePorts/authorizations", "expressRoutePortsLocations"):
        assert API in types[name], name
    shown = rc.resources.get_by_id(port.id, api_version=API)
    assert (shown.type, shown.properties["bandwidthInGbps"]) == ("Microsoft.Network/expressRoutePorts", 10)
    auth_id = port.id + "/authorizations/auth1"
    assert rc.resources.check_existence_by_id(auth_id, api_version=API) is True
    listed = [r.id for r in rc.resources.list_by_resource_group(GROUP)]
    assert port.id in listed
    rc.resources.begin_delete_by_id(port.id, api_version=API).result()
    assert rc.resources.check_existence_by_id(port.id, api_version=API) is False
    assert [b.value_in_gbps for b in _locations(server).get(LOCATION).available_bandwidths] == [10, 100]
