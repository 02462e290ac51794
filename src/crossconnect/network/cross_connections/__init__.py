"""Cross connections (the partner's view of a circuit): expressRouteCrossConnections and the
cross-connection view of peerings."""
