"""The generic Resource Manager surface through the real Azure CLI: ``az resource list/show/tag/delete``,
``az tag list/create/update/delete`` and ``az group delete`` of a missing group."""

from __future__ import annotations

import pytest

from tests.support.azure_cli import AzureCli
from tests.support.network import GROUP, create_circuit, find_cross_connection

pytestmark = pytest.mark.azure_cli


def test_az_resource_list_show_tag_and_delete_by_id(az_admin: AzureCli) -> None:
    server = az_admin.server
    create_circuit(server)
    sub = server.subscription("customer")
    az_admin("account", "set", "--subscription", sub)
    circuit_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"

    listed = az_admin("resource", "list", "-g", GROUP)
    assert [(r["id"], r["type"]) for r in listed] == [(circuit_id, "Microsoft.Network/expressRouteCircuits")]
    assert listed[0]["provisioningState"] == "Succeeded" and listed[0]["createdTime"]

    shown = az_admin("resource", "show", "--ids", circuit_id)
    assert shown["properties"]["serviceProviderProperties"]["peeringLocation"] == "Area51"

    # `az resource tag` PUTs the whole resource back by id: the circuit's own PUT takes it
    tagged = az_admin("resource", "tag", "--ids", circuit_id, "--tags", "env=lab")
    assert tagged["tags"] == {"env": "lab"}
    assert [r["name"] for r in az_admin("resource", "list", "--tag", "env=lab")] == ["er1"]
    assert az_admin("resource", "list", "--tag", "env=prod") == []

    az_admin("resource", "delete", "--ids", circuit_id)
    assert az_admin("resource", "list", "-g", GROUP) == []
    error = az_admin.fails("resource", "show", "--ids", circuit_id)
    assert "ResourceNotFound" in error.stderr


def test_az_tag_commands_and_group_delete_of_a_missing_group(az_admin: AzureCli) -> None:
    server = az_admin.server
    create_circuit(server)
    sub = server.subscription("customer")
    az_admin("account", "set", "--subscription", sub)
    circuit_id = f"/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/expressRouteCircuits/er1"

    created = az_admin("tag", "create", "--name", "costCenter")
    assert created["tagName"] == "costCenter"
    at_scope = az_admin("tag", "create", "--resource-id", circuit_id, "--tags", "team=noc", "tier=gold")
    assert at_scope["properties"]["tags"] == {"team": "noc", "tier": "gold"}
    merged = az_admin("tag", "update", "--resource-id", circuit_id, "--operation", "merge", "--tags", "env=lab")
    assert merged["properties"]["tags"] == {"team": "noc", "tier": "gold", "env": "lab"}
    assert az_admin("tag", "list", "--resource-id", circuit_id)["properties"]["tags"]["env"] == "lab"
    names = {t["tagName"]: t["count"]["value"] for t in az_admin("tag", "list")}
    assert names["costCenter"] == 0 and names["team"] == 1
    az_admin("tag", "delete", "--resource-id", circuit_id, "--yes")
    assert az_admin("resource", "show", "--ids", circuit_id)["tags"] in ({}, None)

    error = az_admin.fails("group", "delete", "-n", "no-such-group", "--yes")
    assert "ResourceGroupNotFound" in error.stderr


def test_az_resource_list_as_the_partner_shows_its_cross_connection(az_partner: AzureCli) -> None:
    server = az_partner.server
    circuit = create_circuit(server)
    xc = find_cross_connection(server, circuit.service_key)
    az_partner("account", "set", "--subscription", server.subscription("partner"))
    listed = az_partner("resource", "list")
    assert [r["id"] for r in listed] == [xc.id]
    shown = az_partner("resource", "show", "--ids", xc.id)
    assert shown["properties"]["serviceProviderProvisioningState"] == "NotProvisioned"
