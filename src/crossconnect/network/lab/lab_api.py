"""The lab API under ``/_crossconnect/``: what the partner's edge router does (operator, or the
partner for its own circuits), devices and port pairs, and fault injection (operator)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from crossconnect.arm.errors import BadRequest, Forbidden, NotFound
from crossconnect.authz.enforcer import Authorizer
from crossconnect.fabric import backend, direct_ports, faults, placement, wire
from crossconnect.fabric import edge as edges
from crossconnect.identity.tokens import Principal
from crossconnect.network.catalog import providers as catalog
from crossconnect.network.common import internal
from crossconnect.network.lab import lab_inputs, netns_wire
from crossconnect.network.lab.operator_routes import OperatorRoutes
from crossconnect.network.lab.troubleshooting import DEVICE_PATHS, link_inputs
from crossconnect.store import Store


def _circuit_by_service_key(store: Store, service_key: str) -> dict[str, Any]:
    for row in store.find_all(
        "resources", type_key="microsoft.network/expressroutecrossconnections", name=service_key.lower()
    ):
        circuit = store.get_resource(internal(row)["circuitKey"])
        if circuit is not None:
            return circuit
    raise NotFound(f"No cross connection has the service key '{service_key}'.", "ResourceNotFound")


def _check_edge_access(
    admin: OperatorRoutes, authorizer: Authorizer, principal: Principal, is_operator: bool, circuit: dict[str, Any]
) -> None:
    """The operator may declare any edge; a partner only the edges of its own cross connections:
    the caller must be allowed to write the cross connection (the same check ARM makes)."""
    if is_operator:
        return
    store = admin.ctx.store
    xc_key = internal(circuit).get("crossConnectionKey")
    xc = store.get_resource(xc_key) if xc_key else None
    subscription = store.find("subscriptions", id=xc["subscription_id"]) if xc else None
    allowed = (
        xc is not None
        and subscription is not None
        and authorizer.check(
            principal, "Microsoft.Network/expressRouteCrossConnections/write", xc["id"], subscription["tenant_id"]
        ).allowed
    )
    if not allowed:
        raise Forbidden(
            f"The principal '{principal.object_id}' may not change the partner edge of this circuit: only the "
            "operator or the circuit's connectivity provider can.",
            "AuthorizationFailed",
        )


def _validate_edge(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "peerings":
            if not isinstance(value, dict):
                raise BadRequest(
                    "'peerings' must map a peering type to its settings.", "InvalidRequestContent", target="peerings"
                )
            peerings: dict[str, Any] = {}
            for peering_type, fields in value.items():
                if peering_type not in ("AzurePrivatePeering", "MicrosoftPeering", "AzurePublicPeering"):
                    raise BadRequest(
                        f"Unknown peering type '{peering_type}'.",
                        "InvalidRequestContent",
                        target=f"peerings.{peering_type}",
                    )
                peerings[peering_type] = lab_inputs.edge_peering(fields, f"peerings.{peering_type}")
            out["peerings"] = peerings
        elif name == "interfaceUp" and isinstance(value, bool):
            out[name] = value
        elif name == "router":
            if value not in netns_wire.ROUTERS:
                raise BadRequest(
                    f"'router' must be one of {', '.join(netns_wire.ROUTERS)} (got '{value}').",
                    "InvalidRequestContent",
                    target="router",
                )
            out[name] = value
        elif name == "sTag":
            out[name] = lab_inputs.integer(value, name, 0, 4094)
        else:
            raise BadRequest(
                f"'{name}' is unknown or has the wrong type (known: interfaceUp, sTag, router, peerings).",
                "InvalidRequestContent",
                target=name,
            )
    return out


def register(admin: OperatorRoutes, authorizer: Authorizer) -> None:
    store = admin.ctx.store

    def _link(request: Request) -> str:
        link = request.path_params["link"].lower()
        if link not in DEVICE_PATHS:
            raise BadRequest(
                f"The link '{link}' is invalid; use 'primary' or 'secondary'.", "InvalidDevicePath", target="link"
            )
        return link

    async def get_edge(request: Request, principal: Principal, is_operator: bool) -> Any:
        circuit = _circuit_by_service_key(store, request.path_params["serviceKey"])
        _check_edge_access(admin, authorizer, principal, is_operator, circuit)
        key = circuit["body"]["properties"]["serviceKey"]
        effective: dict[str, Any] = {}
        peerings = [
            p
            for p in store.find_all(
                "resources", parent_key=circuit["key"], type_key="microsoft.network/expressroutecircuits/peerings"
            )
        ]
        for link in DEVICE_PATHS:
            edge_link = edges.edge_link(store, key, link, int(internal(circuit)["placement"]["sTag"]), peerings)
            effective[link] = {
                "interfaceUp": edge_link.interface_up,
                "sTag": edge_link.s_tag,
                "peerings": {t: dict(p.__dict__) for t, p in edge_link.peerings.items()},
                "sessions": {
                    p["body"]["properties"]["peeringType"]: _session(store, circuit, p, link) for p in peerings
                },
                # what the edge learns from the MSEE (the model's answer; "wire" below has the daemon's)
                "received": {
                    p["body"]["properties"]["peeringType"]: wire.edge_received(link_inputs(store, circuit, p, link))
                    for p in peerings
                },
            }
        out = {"serviceKey": key, "declared": edges.declaration(store, key), "effective": effective}
        fabric = backend.netns()
        if fabric is not None:  # the real partner edge: namespace, interfaces, config, the daemon's view
            out["wire"] = {link: fabric.edge_view(key, link) for link in DEVICE_PATHS}
        return out

    async def put_edge(request: Request, principal: Principal, is_operator: bool) -> Any:
        circuit = _circuit_by_service_key(store, request.path_params["serviceKey"])
        _check_edge_access(admin, authorizer, principal, is_operator, circuit)
        changes = _validate_edge(await admin.body(request))
        edges.declare(store, circuit["body"]["properties"]["serviceKey"], _link(request), changes)
        return await get_edge(request, principal, is_operator)

    async def delete_edge(request: Request, principal: Principal, is_operator: bool) -> Any:
        circuit = _circuit_by_service_key(store, request.path_params["serviceKey"])
        _check_edge_access(admin, authorizer, principal, is_operator, circuit)
        edges.clear(store, circuit["body"]["properties"]["serviceKey"])
        return await get_edge(request, principal, is_operator)

    async def list_devices(request: Request, _: Principal) -> Any:
        location = request.query_params.get("location")
        out = []
        for provider in catalog.providers(store):
            for loc in provider.peering_locations:
                if location and loc != location:
                    continue
                for pair in placement.port_pairs(loc, provider.name, store):
                    out.append(_pair_view(store, pair))
        seen: set[str] = set()
        for provider in catalog.providers(store):  # the ExpressRoute Direct stock of each location
            for loc in provider.peering_locations:
                if (location and loc != location) or loc in seen:
                    continue
                seen.add(loc)
                out += [_direct_pair_view(store, pair) for pair in direct_ports.pairs(loc)]
        return {"value": out}

    async def add_pair(request: Request, _: Principal) -> Any:
        data = await admin.body(request)
        provider = catalog.find_provider(store, str(data.get("provider", "")))
        if provider is None:
            raise NotFound(
                f"Unknown provider '{data.get('provider')}'.", "InvalidServiceProviderName", target="provider"
            )
        location = str(data.get("peeringLocation", ""))
        if provider.find_location(location) is None:
            raise BadRequest(
                f"'{provider.name}' has no peering location '{location}'.",
                "InvalidPeeringLocation",
                target="peeringLocation",
            )
        bandwidth = data.get("portBandwidthInMbps", placement.PORT_BANDWIDTH_MBPS)
        factor = data.get("overprovisionFactor", placement.OVERPROVISION_FACTOR)
        if not isinstance(bandwidth, int) or bandwidth <= 0 or not isinstance(factor, int) or factor <= 0:
            raise BadRequest(
                "portBandwidthInMbps and overprovisionFactor must be positive integers.",
                "InvalidRequestContent",
                target="portBandwidthInMbps",
            )
        return _pair_view(store, placement.add_port_pair(store, location, provider.name, bandwidth, factor))

    async def get_faults(request: Request, _: Principal) -> Any:
        return faults.current(store)

    async def clear_faults(request: Request, _: Principal) -> Any:
        return faults.clear(store)

    async def set_down(request: Request, _: Principal) -> Any:
        kind = request.path_params["kind"]
        if kind not in ("ports", "devices", "links"):
            raise BadRequest("Faults apply to 'ports', 'devices' or 'links'.", "InvalidRequestContent", target="kind")
        data = await admin.body(request)
        name = data.get("name")
        if not isinstance(name, str) or not name or len(name) > lab_inputs.MAX_TEXT:
            raise BadRequest(
                "'name' is required (a port, a device, or '<serviceKey>/<primary|secondary>').",
                "InvalidRequestContent",
                target="name",
            )
        down = data.get("down", True)
        if not isinstance(down, bool):
            raise BadRequest("'down' must be true or false.", "InvalidRequestContent", target="down")
        return faults.set_down(store, kind, name, down)

    async def flap(request: Request, _: Principal) -> Any:
        data = await admin.body(request)
        service_key = lab_inputs.text(data, "serviceKey")
        peering_type = lab_inputs.text(data, "peeringType")
        link = lab_inputs.text(data, "link").lower()
        if link not in DEVICE_PATHS:
            raise lab_inputs.bad("link", f"The link '{link}' is invalid; use 'primary' or 'secondary'.")
        return faults.flap(
            store, service_key, peering_type, link, lab_inputs.seconds(data, "seconds", faults.FLAP_SECONDS)
        )

    async def fail_next(request: Request, _: Principal) -> Any:
        data = await admin.body(request)
        resource_id = lab_inputs.text(data, "resourceId", max_length=1024)
        code = lab_inputs.text(data, "code")
        count = lab_inputs.integer(data.get("count", 1), "count", 1, 1_000_000)
        message = lab_inputs.text(
            data, "message", default=f"The operation failed with {code} (injected fault).", max_length=4096
        )
        return faults.fail_next(store, resource_id, count, code, message)

    async def latency(request: Request, _: Principal) -> Any:
        data = await admin.body(request)
        if "seconds" not in data:
            raise BadRequest("'seconds' must be a non-negative number.", "InvalidRequestContent", target="seconds")
        seconds = lab_inputs.seconds(data, "seconds", 0.0)
        return faults.set_latency(store, lab_inputs.text(data, "resourceId", default="*", max_length=1024), seconds)

    admin.add_lab("GET", "/lab/circuits/{serviceKey}/edge", get_edge)
    admin.add_lab("PUT", "/lab/circuits/{serviceKey}/edge/{link}", put_edge)
    admin.add_lab("DELETE", "/lab/circuits/{serviceKey}/edge", delete_edge)
    admin.add("GET", "/devices", list_devices)
    admin.add("POST", "/port-pairs", add_pair)
    admin.add("GET", "/faults", get_faults)
    admin.add("DELETE", "/faults", clear_faults)
    admin.add("POST", "/faults/{kind}", set_down)
    admin.add("POST", "/faults-flap", flap)
    admin.add("POST", "/faults-fail-next", fail_next)
    admin.add("POST", "/faults-latency", latency)


def _session(store: Store, circuit: dict[str, Any], peering: dict[str, Any], link: str) -> str:
    return netns_wire.session_state(store, circuit, peering, link)


def _direct_pair_view(store: Store, pair: direct_ports.DirectPair) -> dict[str, Any]:
    """A Direct port pair: free, or reserved whole by one expressRoutePort (``expressRoutePort``)."""
    from crossconnect.fabric.wire import device_of

    used = direct_ports.usage(store, pair.descriptor)
    capacity = pair.capacity_gbps * 1000
    return {
        "kind": "ExpressRouteDirect",
        "portPairDescriptor": pair.descriptor,
        "peeringLocation": pair.peering_location,
        "provider": None,
        "expressRoutePort": direct_ports.owner(store, pair),
        "primaryDevice": device_of(pair.primary_port),
        "secondaryDevice": device_of(pair.secondary_port),
        "primaryAzurePort": pair.primary_port,
        "secondaryAzurePort": pair.secondary_port,
        "portBandwidthInMbps": pair.bandwidth_gbps * 1000,
        "overprovisionFactor": direct_ports.OVERSUBSCRIPTION,
        "usedBandwidthInMbps": int(used["usedGbps"] * 1000),
        "remainingBandwidthInMbps": int(capacity - used["usedGbps"] * 1000),
        "circuits": len(used["circuits"]),
    }


def _pair_view(store: Store, pair: placement.PortPair) -> dict[str, Any]:
    used = placement.usage(store, pair.descriptor)
    from crossconnect.fabric.wire import device_of

    return {
        "kind": "Provider",
        "portPairDescriptor": pair.descriptor,
        "peeringLocation": pair.peering_location,
        "provider": pair.provider,
        "primaryDevice": device_of(pair.primary_port),
        "secondaryDevice": device_of(pair.secondary_port),
        "primaryAzurePort": pair.primary_port,
        "secondaryAzurePort": pair.secondary_port,
        "portBandwidthInMbps": pair.port_bandwidth_mbps,
        "overprovisionFactor": pair.overprovision_factor,
        "usedBandwidthInMbps": used["usedMbps"],
        "remainingBandwidthInMbps": pair.capacity_mbps - used["usedMbps"],
        "circuits": used["circuits"],
    }
