"""The catalog: ExpressRoute service providers and their management subscriptions, provider ports
(port pairs with capacity), and the routing registry of public prefixes."""
