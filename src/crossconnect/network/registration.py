"""Everything the Microsoft.Network layer contributes: its resource types (one line each),
its extra endpoints, and the resource types the provider metadata lists."""

from __future__ import annotations

from crossconnect.arm.http import Endpoint
from crossconnect.arm.resource_type import ResourceType
from crossconnect.network.api_versions import NETWORK_VERSIONS
from crossconnect.network.catalog import provider_ports, service_providers
from crossconnect.network.circuits.connections import ExpressRouteCircuitConnections, PeerExpressRouteCircuitConnections
from crossconnect.network.circuits.resource_types import CircuitAuthorizations, CircuitPeerings, ExpressRouteCircuits
from crossconnect.network.connections.resource_types import Connections
from crossconnect.network.cross_connections.resource_types import CrossConnectionPeerings, ExpressRouteCrossConnections
from crossconnect.network.direct import locations as direct_locations
from crossconnect.network.direct.resource_types import ExpressRoutePortAuthorizations, ExpressRoutePorts
from crossconnect.network.gateways.resource_types import VirtualNetworkGateways
from crossconnect.network.public_ips.resource_types import PublicIpAddresses
from crossconnect.network.route_filters import endpoints as community_endpoints
from crossconnect.network.route_filters.resource_types import RouteFilterRules, RouteFilters
from crossconnect.network.virtual_networks.resource_types import Subnets, VirtualNetworks
from crossconnect.resources.providers import add_resource_type

TYPES: list[type[ResourceType]] = [
    ExpressRouteCircuits,
    CircuitAuthorizations,
    CircuitPeerings,
    ExpressRouteCircuitConnections,
    PeerExpressRouteCircuitConnections,
    ExpressRouteCrossConnections,
    CrossConnectionPeerings,
    RouteFilters,
    RouteFilterRules,
    ExpressRoutePorts,
    ExpressRoutePortAuthorizations,
    VirtualNetworks,
    Subnets,
    PublicIpAddresses,
    VirtualNetworkGateways,
    Connections,
]


# Operation status URLs under /providers/Microsoft.Network/… accept these versions.
OPERATION_VERSIONS = NETWORK_VERSIONS


def endpoints() -> list[Endpoint]:
    return [
        *service_providers.endpoints(),
        *provider_ports.endpoints(),
        *community_endpoints.endpoints(),
        *direct_locations.endpoints(),
    ]


def describe_provider() -> None:
    for cls in TYPES:
        add_resource_type("Microsoft.Network", cls.type_name.split("/", 1)[1], list(cls.api_versions.versions))
    add_resource_type("Microsoft.Network", "expressRouteServiceProviders", list(service_providers.VERSIONS.versions))
    add_resource_type("Microsoft.Network", "expressRouteProviderPorts", list(provider_ports.VERSIONS.versions))
    add_resource_type("Microsoft.Network", "expressRoutePortsLocations", list(direct_locations.VERSIONS.versions))
    add_resource_type("Microsoft.Network", "bgpServiceCommunities", list(community_endpoints.VERSIONS.versions))
    add_resource_type("Microsoft.Network", "locations/operations", list(service_providers.VERSIONS.versions))
