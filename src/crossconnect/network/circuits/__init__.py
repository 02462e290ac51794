"""Circuits (the customer's view): expressRouteCircuits with their authorizations, the circuit view
of peerings, and stats."""
