"""ExpressRoute Direct: expressRoutePorts, their links and authorizations, the port locations, the
letter of authorization, and circuits on a port."""
