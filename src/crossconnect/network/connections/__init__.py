"""Connections (Microsoft.Network/connections, connectionType ExpressRoute): a gateway linked to a
circuit's private peering, and the routes that link carries."""
