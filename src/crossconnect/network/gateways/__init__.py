"""ExpressRoute virtual network gateways: virtualNetworkGateways (gatewayType ExpressRoute) and their
learned and advertised routes."""
