"""ExpressRoute Direct through the real Azure CLI (``az network express-route port …`` and
``az network express-route create --express-route-port``), signed in as the subscription admin
on the customer subscription."""

from __future__ import annotations

from pathlib import Path

from tests.network.direct.support import LOCATION, ports
from tests.support.azure_cli import AzureCli
from tests.support.network import GROUP, ensure_group, state


def test_az_network_express_route_port(az_admin: AzureCli, tmp_path: Path) -> None:
    server = az_admin.server
    ensure_group(server)
    az_admin("account", "set", "--subscription", server.subscription("customer"))
    port = ["-g", GROUP, "-n", "port1"]

    locations = az_admin("network", "express-route", "port", "location", "list")
    assert LOCATION in [loc["name"] for loc in locations]
    shown_location = az_admin("network", "express-route", "port", "location", "show", "-l", LOCATION)
    assert [b["valueInGbps"] for b in shown_location["availableBandwidths"]] == [10, 100]

    # a refused create stores nothing
    before = state(server)
    error = az_admin.fails(
        "network", "express-route", "port", "create", *port, "--peering-location", LOCATION,
        "--bandwidth", "40", "--encapsulation", "QinQ", "-l", "westus",
    )  # fmt: skip
    assert "InvalidBandwidth" in error.stderr and "bandwidthInGbps" in error.stderr
    assert state(server) == before

    created = az_admin(
        "network", "express-route", "port", "create", *port, "--peering-location", LOCATION,
        "--bandwidth", "10", "--encapsulation", "QinQ", "-l", "westus",
    )  # fmt: skip
    assert created["provisioningState"] == "Succeeded"
    assert created["bandwidthInGbps"] == 10 and created["encapsulation"] == "QinQ"
    assert [link["name"] for link in created["links"]] == ["link1", "link2"]
    shown = az_admin("network", "express-route", "port", "show", *port)
    assert shown["id"] == created["id"]
    assert [p["name"] for p in az_admin("network", "express-route", "port", "list", "-g", GROUP)] == ["port1"]
    updated = az_admin("network", "express-route", "port", "update", *port, "--tags", "env=lab")
    assert updated["tags"] == {"env": "lab"}

    # links: show, list, and the admin state through the CLI's read-modify-write of the port
    links = az_admin("network", "express-route", "port", "link", "list", "-g", GROUP, "--port-name", "port1")
    assert [link["name"] for link in links] == ["link1", "link2"]
    link = az_admin(
        "network", "express-route", "port", "link", "update", "-g", GROUP, "--port-name", "port1",
        "-n", "link1", "--admin-state", "Enabled",
    )  # fmt: skip
    assert link["adminState"] == "Enabled"
    assert ports(server).get(GROUP, "port1").links[0].admin_state == "Enabled"
    shown_link = az_admin(
        "network", "express-route", "port", "link", "show", "-g", GROUP, "--port-name", "port1", "-n", "link2"
    )
    assert shown_link["adminState"] == "Disabled"

    # the letter of authorization, downloaded as a PDF
    loa = tmp_path / "loa.pdf"
    az_admin(
        "network", "express-route", "port", "generate-loa", *port, "--customer-name", "Contoso",
        "--file", str(loa),
    )  # fmt: skip
    document = loa.read_bytes()
    assert document.startswith(b"%PDF-") and b"Customer: Contoso" in document

    # an authorization, and a circuit on the port
    auth = az_admin(
        "network", "express-route", "port", "authorization", "create", "-g", GROUP, "--port-name", "port1",
        "-n", "auth1",
    )  # fmt: skip
    assert auth["authorizationUseStatus"] == "Available"
    circuit = az_admin(
        "network", "express-route", "create", "-g", GROUP, "-n", "dc1", "--express-route-port", "port1",
        "--bandwidth", "5", "Gbps", "--sku-tier", "Premium", "--sku-family", "MeteredData", "-l", "westus",
    )  # fmt: skip
    assert circuit["bandwidthInGbps"] == 5
    assert circuit["expressRoutePort"]["id"].lower() == created["id"].lower()
    assert circuit["serviceProviderProvisioningState"] == "Provisioned"
    shown = az_admin("network", "express-route", "port", "show", *port)
    assert shown["provisionedBandwidthInGbps"] == 5 and [c["id"] for c in shown["circuits"]] == [circuit["id"]]

    # the CLI's read-modify-write of the circuit: a bandwidth increase, counted on the port
    resized = az_admin("network", "express-route", "update", "-g", GROUP, "-n", "dc1", "--bandwidth", "10", "Gbps")
    assert resized["bandwidthInGbps"] == 10 and "serviceProviderProperties" not in resized
    assert az_admin("network", "express-route", "port", "show", *port)["provisionedBandwidthInGbps"] == 10
    error = az_admin.fails("network", "express-route", "update", "-g", GROUP, "-n", "dc1", "--bandwidth", "2", "Gbps")
    assert "CannotDecreaseBandwidth" in error.stderr

    auths = ["-g", GROUP, "--port-name", "port1"]
    assert [a["name"] for a in az_admin("network", "express-route", "port", "authorization", "list", *auths)] == [
        "auth1"
    ]
    shown_auth = az_admin("network", "express-route", "port", "authorization", "show", *auths, "-n", "auth1")
    assert shown_auth["authorizationKey"] == auth["authorizationKey"]
    az_admin("network", "express-route", "port", "authorization", "delete", *auths, "-n", "auth1", "--yes")
    assert az_admin("network", "express-route", "port", "authorization", "list", *auths) == []

    # the circuit's private peering, troubleshot with the CLI: link1 was enabled above, link2 not
    az_admin(
        "network", "express-route", "peering", "create", "-g", GROUP, "--circuit-name", "dc1",
        "--peering-type", "AzurePrivatePeering", "--peer-asn", "65010", "--vlan-id", "100",
        "--primary-peer-subnet", "192.168.100.128/30", "--secondary-peer-subnet", "192.168.100.132/30",
    )  # fmt: skip
    tables = ["-g", GROUP, "-n", "dc1", "--peering-name", "AzurePrivatePeering"]
    primary = az_admin("network", "express-route", "list-route-tables-summary", *tables, "--path", "primary")
    assert [(r["neighbor"], r["statePfxRcd"]) for r in primary["value"]] == [("192.168.100.129", "3")]
    secondary = az_admin("network", "express-route", "list-route-tables-summary", *tables, "--path", "secondary")
    assert [r["statePfxRcd"] for r in secondary["value"]] == ["Idle"]
    arp = az_admin("network", "express-route", "list-arp-tables", *tables, "--path", "primary")
    assert [e["interface"] for e in arp["value"]] == ["On-Prem", "Microsoft"]

    # the port cannot go while the circuit is on it
    error = az_admin.fails("network", "express-route", "port", "delete", *port, "--yes")
    assert "ExpressRoutePortInUseByCircuits" in error.stderr
    az_admin("network", "express-route", "delete", "-g", GROUP, "-n", "dc1")
    az_admin("network", "express-route", "port", "delete", *port, "--yes")
    assert az_admin("network", "express-route", "port", "list", "-g", GROUP) == []
