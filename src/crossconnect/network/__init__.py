"""Microsoft.Network: the ExpressRoute resource types, one subpackage per family (circuits, cross
connections, peerings, route filters, catalog, lab), each plugged into ``arm`` by ``registration``."""
