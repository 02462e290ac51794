"""The bodies of ExpressRoute Direct: expressRoutePorts (with their links), their authorizations
and generateLoa — what a request may send (Pydantic models), the rules that check it, and how
a port, a link and an authorization are rendered."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from crossconnect.arm.bodies import ArmModel, ChildResourceBody, TrackedResourceBody
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.resource_type import Row
from crossconnect.fabric import direct_ports
from crossconnect.fabric.wire import device_of

PORT_TYPE = "Microsoft.Network/expressRoutePorts"
PORT_TYPE_KEY = PORT_TYPE.lower()
LINK_NAMES = ("link1", "link2")  # link1 on the primary MSEE, link2 on the secondary
ENCAPSULATIONS = ("Dot1Q", "QinQ")
# Azure's published port (ExpressRoutePortGet) shows 0x8100 for a QinQ port: the outer tag of
# both encapsulations is an 802.1Q tag on ExpressRoute Direct.
ETHER_TYPES = {"Dot1Q": "0x8100", "QinQ": "0x8100"}
BILLING_TYPES = ("MeteredData", "UnlimitedData")
ADMIN_STATES = ("Enabled", "Disabled")
CIPHERS = ("GcmAes128", "GcmAes256", "GcmAesXpn128", "GcmAesXpn256")
SCI_STATES = ("Disabled", "Enabled")
MTU = "1500"
# A Key Vault secret identifier, as the MACsec configuration names the CKN and CAK secrets.
_SECRET_ID = re.compile(
    r"^https://[A-Za-z0-9-]{3,24}\.vault\.[A-Za-z0-9.-]+/secrets/[A-Za-z0-9-]{1,127}(/[0-9a-f]{32})?$"
)
MAX_CUSTOMER_NAME = 128


class MacSecConfig(ArmModel):
    ckn_secret_identifier: str | None = Field(default=None, alias="cknSecretIdentifier")
    cak_secret_identifier: str | None = Field(default=None, alias="cakSecretIdentifier")
    cipher: str | None = None
    sci_state: str | None = Field(default=None, alias="sciState")


class LinkProperties(ArmModel):
    # read-only: accepted (a client sends back what it read) and ignored
    router_name: str | None = Field(default=None, alias="routerName")
    interface_name: str | None = Field(default=None, alias="interfaceName")
    patch_panel_id: str | None = Field(default=None, alias="patchPanelId")
    rack_id: str | None = Field(default=None, alias="rackId")
    colo_location: str | None = Field(default=None, alias="coloLocation")
    connector_type: str | None = Field(default=None, alias="connectorType")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")
    # writable
    admin_state: str | None = Field(default=None, alias="adminState")
    mac_sec_config: MacSecConfig | None = Field(default=None, alias="macSecConfig")


class LinkBody(ArmModel):
    id: str | None = None
    name: str | None = None
    etag: str | None = None
    properties: LinkProperties = Field(default_factory=LinkProperties)


class PortProperties(ArmModel):
    peering_location: str | None = Field(default=None, alias="peeringLocation")
    bandwidth_in_gbps: int | None = Field(default=None, alias="bandwidthInGbps")
    encapsulation: str | None = None
    billing_type: str | None = Field(default=None, alias="billingType")
    links: list[LinkBody] | None = None
    # read-only: accepted and ignored
    provisioned_bandwidth_in_gbps: float | None = Field(default=None, alias="provisionedBandwidthInGbps")
    mtu: str | None = None
    ether_type: str | None = Field(default=None, alias="etherType")
    allocation_date: str | None = Field(default=None, alias="allocationDate")
    circuits: list[Any] | None = None
    provisioning_state: str | None = Field(default=None, alias="provisioningState")
    resource_guid: str | None = Field(default=None, alias="resourceGuid")


class PortBody(TrackedResourceBody):
    identity: dict[str, Any] | None = None
    properties: PortProperties = Field(default_factory=PortProperties)


class PortAuthorizationProperties(ArmModel):
    authorization_key: str | None = Field(default=None, alias="authorizationKey")
    authorization_use_status: str | None = Field(default=None, alias="authorizationUseStatus")
    circuit_resource_uri: str | None = Field(default=None, alias="circuitResourceUri")
    provisioning_state: str | None = Field(default=None, alias="provisioningState")


class PortAuthorizationBody(ChildResourceBody):
    properties: PortAuthorizationProperties = Field(default_factory=PortAuthorizationProperties)


class LoaRequest(ArmModel):
    customer_name: str = Field(alias="customerName")


# -- rules ------------------------------------------------------------------------------------


def _one_of(value: str | None, allowed: tuple[str, ...], what: str, code: str, target: str) -> None:
    if value is not None and value not in allowed:
        raise BadRequest(f"{what} '{value}' is invalid; use one of {', '.join(allowed)}.", code, target=target)


def check_identity(identity: dict[str, Any] | None) -> None:
    if identity is None or identity.get("type") in (None, "None"):
        return
    raise BadRequest(
        "Managed identities on ExpressRoute ports are not modelled by crossconnect (Key Vault is not either); "
        "send no identity. MACsec secret identifiers are stored as given.",
        "ManagedIdentityNotSupported",
        target="identity",
    )


def merged_links(model: PortProperties, old_links: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The writable state of both links after this PUT: what it sends over what was stored; a link
    it leaves out keeps its state."""
    links = {name: dict(old_links.get(name, {"adminState": "Disabled"})) for name in LINK_NAMES}
    seen: set[str] = set()
    for index, link in enumerate(model.links or []):
        target = f"properties.links[{index}]"
        if link.name not in LINK_NAMES:
            raise BadRequest(
                f"The link name '{link.name}' is invalid: an ExpressRoute port has the links "
                f"{' and '.join(LINK_NAMES)}.",
                "InvalidExpressRouteLinkName",
                target=f"{target}.name",
            )
        if link.name in seen:
            raise BadRequest(
                f"The link '{link.name}' appears twice in properties.links.",
                "DuplicateExpressRouteLink",
                target=f"{target}.name",
            )
        seen.add(link.name)
        p = link.properties
        _one_of(p.admin_state, ADMIN_STATES, "adminState", "InvalidAdminState", f"{target}.properties.adminState")
        state = links[link.name]
        if p.admin_state is not None:
            state["adminState"] = p.admin_state
        if p.mac_sec_config is not None:
            state["macSecConfig"] = _mac_sec(p.mac_sec_config, state.get("macSecConfig"), f"{target}.properties")
    return links


def _mac_sec(config: MacSecConfig, old: dict[str, Any] | None, target: str) -> dict[str, Any]:
    where = f"{target}.macSecConfig"
    _one_of(config.cipher, CIPHERS, "macSecConfig.cipher", "InvalidMacSecCipher", f"{where}.cipher")
    _one_of(config.sci_state, SCI_STATES, "macSecConfig.sciState", "InvalidMacSecSciState", f"{where}.sciState")
    for name, value in (("cknSecretIdentifier", config.ckn_secret_identifier),
                        ("cakSecretIdentifier", config.cak_secret_identifier)):  # fmt: skip
        if value and not _SECRET_ID.match(value):
            raise BadRequest(
                f"macSecConfig.{name} must be a Key Vault secret identifier "
                "(https://<vault>.vault.azure.net/secrets/<name>[/<version>]).",
                "InvalidMacSecSecretIdentifier",
                target=f"{where}.{name}",
            )
    merged = dict(old or {"cipher": "GcmAes128", "sciState": "Disabled"})
    for name, value in (
        ("cknSecretIdentifier", config.ckn_secret_identifier),
        ("cakSecretIdentifier", config.cak_secret_identifier),
        ("cipher", config.cipher),
        ("sciState", config.sci_state),
    ):
        if value is not None:
            merged[name] = value
    return merged


def check_customer_name(name: str) -> str:
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_CUSTOMER_NAME or not stripped.isprintable():
        raise BadRequest(
            f"customerName must be 1-{MAX_CUSTOMER_NAME} printable characters.",
            "InvalidCustomerName",
            target="customerName",
        )
    return stripped


# -- rendering --------------------------------------------------------------------------------


def render_link(port: Row, name: str) -> dict[str, Any]:
    internal = port["body"]["internal"]
    pair = direct_ports.find_pair(internal["peeringLocation"], internal["portPair"])
    assert pair is not None
    port_name = pair.primary_port if name == "link1" else pair.secondary_port
    state = port["body"]["links"][name]
    props: dict[str, Any] = {
        "provisioningState": port["body"]["properties"].get("provisioningState", "Succeeded"),
        "routerName": device_of(port_name),
        "interfaceName": port_name,
        "patchPanelId": f"PP:{pair.number:04d}:{1 if name == 'link1' else 2}",
        "rackId": f"{device_of(port_name)}-RACK",
        "coloLocation": pair.peering_location,
        "connectorType": "LC",
        "adminState": state.get("adminState", "Disabled"),
    }
    if state.get("macSecConfig"):
        props["macSecConfig"] = dict(state["macSecConfig"])
    return {"id": f"{port['id']}/links/{name}", "name": name, "etag": port["etag"], "properties": props}


def render_authorization(row: Row) -> dict[str, Any]:
    p = row["body"]["properties"]
    props = {
        "authorizationKey": p["authorizationKey"],
        "authorizationUseStatus": p.get("authorizationUseStatus", "Available"),
        "provisioningState": p.get("provisioningState", "Succeeded"),
    }
    if p.get("circuitResourceUri"):
        props["circuitResourceUri"] = p["circuitResourceUri"]
    return {
        "name": row["name"],
        "id": row["id"],
        "etag": row["etag"],
        "type": "Microsoft.Network/expressRoutePorts/authorizations",
        "properties": props,
    }
