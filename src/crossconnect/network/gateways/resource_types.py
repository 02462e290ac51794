"""Microsoft.Network/virtualNetworkGateways (gatewayType ExpressRoute).

Creating a gateway is long-running (``--operation-delay`` applies, as for every operation): the
gateway is ``Updating`` until its operation completes. It takes its virtual network's GatewaySubnet
and a public IP address; both show the gateway's ipConfiguration (the subnet's ``ipConfigurations``,
the address's ``ipConfiguration``) until the gateway is deleted, and neither can be deleted
meanwhile. Its two instances take the GatewaySubnet's .4 and .5, which are its BGP peering
addresses (ASN 65515) and the next hops of the virtual network's routes on the MSEEs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crossconnect import entropy
from crossconnect.arm.bodies import parse
from crossconnect.arm.errors import BadRequest
from crossconnect.arm.http import ArmRequest, ArmResponse, Endpoint
from crossconnect.arm.resource_type import ResourceType, Row, Write, new_etag, validate_tags
from crossconnect.arm.result_posts import start_post_with_result
from crossconnect.network.common import NAMES, NAMESPACE, fixed_location, internal, render_tracked, versions
from crossconnect.network.connections import record as connections
from crossconnect.network.gateways import bodies, routes
from crossconnect.network.public_ips.resource_types import used_by as public_ip_used_by
from crossconnect.network.virtual_networks.bodies import GATEWAY_SUBNET_MAX_PREFIX, used_by

ROUTE_KINDS = ("getLearnedRoutes", "getAdvertisedRoutes")
ROUTES_SUFFIX = "/routes"


def _with_internal(row: Row, **changes: Any) -> Row:
    body = dict(row["body"])
    body["internal"] = {**body.get("internal", {}), **changes}
    return {**row, "body": body, "etag": new_etag()}


class VirtualNetworkGateways(ResourceType):
    type_name = bodies.GATEWAY_TYPE_NAME
    item_template = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "virtualNetworkGateways/{virtualNetworkGatewayName}"
    )
    list_templates = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/"
        "virtualNetworkGateways",
    )
    api_versions = versions("virtualNetworkGateways")
    namespace = NAMESPACE
    name_rule = NAMES

    # -- locks: the gateway, the subnet and public IP it takes ---------------------------------
    def _linked_keys(self, row: Row | None, request: ArmRequest | None) -> list[str]:
        link = internal(row) if row else {}
        keys = [link.get("subnetKey"), link.get("publicIpKey"), link.get("vnetKey")]
        if row is None and request is not None:
            try:
                body = request.json_body(required=False) or {}
                config = ((body.get("properties") or {}).get("ipConfigurations") or [{}])[0]["properties"]
                subnet = str(config["subnet"]["id"]).lower()
                keys += [subnet, subnet.rsplit("/subnets/", 1)[0], str(config["publicIPAddress"]["id"]).lower()]
            except Exception:  # noqa: BLE001 - a bad body is refused later, by the write itself
                pass
        return [k for k in keys if k]

    def lock_keys(self, request: ArmRequest) -> list[str]:
        existing = self.store.get_resource(self.key(request))
        return sorted({self.key(request), *self._linked_keys(existing, request)})

    def operation_lock_keys(self, op: Row) -> list[str]:
        key = op["resource_key"].removesuffix(ROUTES_SUFFIX)
        return sorted({op["resource_key"], key, *self._linked_keys(self.store.get_resource(key), None)})

    # -- rendering -----------------------------------------------------------------------------
    def render(self, request: ArmRequest, row: Row, conn: Connection | None = None) -> dict[str, Any]:
        body = row["body"]
        p = dict(body["properties"])
        config = dict(p["ipConfigurations"][0])
        config["properties"] = {**config["properties"], "provisioningState": p.get("provisioningState", "Succeeded")}
        p["ipConfigurations"] = [config]
        return render_tracked(row, self.type_name, p)

    # -- writes --------------------------------------------------------------------------------
    def create_or_update(self, request: ArmRequest, body: Any, existing: Row | None, conn: Connection) -> Write:
        model = parse(bodies.GatewayBody, body, "VirtualNetworkGateway")
        location = fixed_location(model.location, existing, "a virtual network gateway")
        tags = validate_tags(model.tags if model.tags is not None else {})
        p = model.properties
        sku = bodies.check_type_and_sku(p, existing)
        if existing is not None:
            link = internal(existing)
            if p.ip_configurations is not None:
                _config, subnet_id, public_ip_id = bodies.ip_configuration(p)
                if subnet_id.lower() != link["subnetKey"] or public_ip_id.lower() != link["publicIpKey"]:
                    raise BadRequest(
                        "The ipConfiguration of a virtual network gateway (its subnet and public IP address) cannot "
                        "be changed; delete the gateway and create it again.",
                        "CannotChangeGatewayIpConfiguration",
                        target="properties.ipConfigurations",
                    )
            old = existing["body"]["properties"]
            new_props = {**old, "sku": {**sku, "capacity": old["sku"].get("capacity", 2)}}
            new_body = {**existing["body"], "location": location, "tags": tags, "properties": new_props}
            return Write({**existing, "body": new_body, "etag": new_etag()}, operation="put")
        config, subnet_id, public_ip_id = bodies.ip_configuration(p)
        field = "properties.ipConfigurations[0].properties"
        subnet = self.store.get_resource(subnet_id, conn)
        vnet = self.store.get_resource(subnet_id.lower().rsplit("/subnets/", 1)[0], conn)
        # one answer for "missing" and "in another subscription": a caller learns nothing about
        # resources outside the subscription it writes to
        if vnet is not None and vnet["subscription_id"] != request.subscription_id.lower():
            vnet = subnet = None
        # one being deleted is as good as gone: the gateway would outlive it
        if vnet is not None and vnet["body"]["properties"].get("provisioningState") == "Deleting":
            vnet = subnet = None
        if subnet is not None and subnet["body"]["properties"].get("provisioningState") == "Deleting":
            subnet = None
        if vnet is None or subnet is None:
            what = "virtual network" if vnet is None else "GatewaySubnet of the virtual network"
            raise BadRequest(
                f"The {what} referenced by '{subnet_id}' was not found in the gateway's subscription.",
                "InvalidResourceReference",
                target=f"{field}.subnet.id",
            )
        if vnet["body"]["location"] != location:
            raise BadRequest(
                f"The gateway must be in its virtual network's region ('{vnet['body']['location']}'), not "
                f"'{location}'.",
                "InvalidResourceLocation",
                target="location",
            )
        prefix = subnet["body"]["properties"]["addressPrefix"]
        if int(prefix.split("/")[1]) > GATEWAY_SUBNET_MAX_PREFIX:  # a subnet stored before the rule was checked
            raise BadRequest(
                f"The GatewaySubnet {prefix} is too small: a gateway needs a /{GATEWAY_SUBNET_MAX_PREFIX} or larger.",
                "GatewaySubnetTooSmall",
                target=f"{field}.subnet.id",
            )
        if used_by(subnet):
            raise BadRequest(
                f"The GatewaySubnet of virtual network '{vnet['name']}' is already used by {used_by(subnet)[0]}; a "
                "virtual network has one ExpressRoute gateway.",
                "VirtualNetworkAlreadyHasExpressRouteGateway",
                target=f"{field}.subnet.id",
            )
        public_ip = self.store.get_resource(public_ip_id, conn)
        if (
            public_ip is None
            or public_ip["body"]["properties"].get("provisioningState") == "Deleting"
            or public_ip["subscription_id"] != request.subscription_id.lower()
        ):
            raise BadRequest(
                f"The public IP address '{public_ip_id}' was not found in the gateway's subscription.",
                "InvalidResourceReference",
                target=f"{field}.publicIPAddress.id",
            )
        if public_ip["body"]["location"] != location:
            raise BadRequest(
                f"The public IP address must be in the gateway's region ('{location}'), not "
                f"'{public_ip['body']['location']}'.",
                "InvalidResourceLocation",
                target=f"{field}.publicIPAddress.id",
            )
        if public_ip_used_by(public_ip):
            raise BadRequest(
                f"Resource {public_ip['id']} is in use by {public_ip_used_by(public_ip)} and cannot be used by another "
                "ipConfiguration.",
                "PublicIPAddressInUse",
                target=f"{field}.publicIPAddress.id",
            )
        row = self.new_row(request, {})
        config_name = config.name or "default"
        config_id = f"{row['id']}/ipConfigurations/{config_name}"
        instances = bodies.instance_addresses(prefix)
        new_props = {
            "provisioningState": "Updating",
            "resourceGuid": entropy.guid(),
            "gatewayType": "ExpressRoute",
            "vpnType": "RouteBased",
            "sku": {**sku, "capacity": 2},
            "ipConfigurations": [
                {
                    "name": config_name,
                    "id": config_id,
                    "properties": {
                        "privateIPAllocationMethod": "Dynamic",
                        "subnet": {"id": subnet["id"]},
                        "publicIPAddress": {"id": public_ip["id"]},
                    },
                }
            ],
            "activeActive": False,
            "enableBgp": False,
            "bgpSettings": bodies.bgp_settings(config_id, instances),
        }
        link = {
            "vnetKey": vnet["key"],
            "subnetKey": subnet["key"],
            "publicIpKey": public_ip["key"],
            "configId": config_id,
            "instances": instances,
        }
        row["body"] = {"location": location, "tags": tags, "properties": new_props, "internal": link}
        extra = [
            _with_internal(subnet, ipConfigurations=[*used_by(subnet), config_id]),
            _with_internal(public_ip, ipConfiguration=config_id),
        ]
        return Write(row, created=True, operation="put", extra_rows=extra)

    def delete(self, request: ArmRequest, existing: Row, conn: Connection) -> Write:
        linked = connections.connections_of_gateway(self.store, existing, conn)
        if linked:
            raise BadRequest(
                f"The virtual network gateway '{existing['name']}' cannot be deleted while connections use it: "
                f"{', '.join(sorted(c['id'] for c in linked))}. Delete those connections first.",
                "InUseVirtualNetworkGatewayCannotBeDeleted",
                target=existing["name"],
            )
        return super().delete(request, existing, conn)

    def on_delete(self, row: Row, conn: Connection) -> None:
        link = internal(row)
        subnet = self.store.get_resource(link.get("subnetKey", ""), conn)
        if subnet is not None:
            remaining = [c for c in used_by(subnet) if c != link.get("configId")]
            self.store.put_resource(_with_internal(subnet, ipConfigurations=remaining), conn)
        public_ip = self.store.get_resource(link.get("publicIpKey", ""), conn)
        if public_ip is not None and public_ip_used_by(public_ip) == link.get("configId"):
            self.store.put_resource(_with_internal(public_ip, ipConfiguration=None), conn)

    # -- operations: the gateway's own, and the route POSTs -------------------------------------
    def complete_operation(self, op: Row, conn: Connection) -> Any:
        if op["kind"] in ROUTE_KINDS:
            gateway = self.store.get_resource(op["payload"]["gatewayKey"], conn)
            if gateway is None:
                return {"value": []}
            if op["kind"] == "getLearnedRoutes":
                return {"value": routes.learned(self.store, gateway)}
            return {"value": routes.advertised(self.store, gateway, op["payload"]["peer"])}
        return super().complete_operation(op, conn)

    def fail_operation(self, op: Row, conn: Connection, error: Any) -> None:
        if op["kind"] in ROUTE_KINDS:
            return
        super().fail_operation(op, conn, error)

    def extra_endpoints(self) -> list[Endpoint]:
        def make(kind: str) -> Any:
            async def handler(request: ArmRequest) -> ArmResponse:
                self.check_scope(request)
                peer = ""
                if kind == "getAdvertisedRoutes":
                    peer = (request.query.get("peer") or "").strip()
                    if not peer:
                        raise BadRequest(
                            "The query parameter 'peer' is required: the BGP peer (an MSEE address) the routes are "
                            "advertised to.",
                            "MissingPeer",
                            target="peer",
                        )
                return start_post_with_result(
                    request, self, kind, ROUTES_SUFFIX, lambda gateway: {"gatewayKey": gateway["key"], "peer": peer}
                )

            return handler

        return [
            Endpoint(
                "POST",
                self.item_template + f"/{kind}",
                make(kind),
                self.api_versions,
                f"{self.type_name}/{kind}/action",
                self.namespace,
            )
            for kind in ROUTE_KINDS
        ]
