"""Peerings: the one record that the circuit and cross-connection views share, its validation
rules, and the resource-type strategy both views build on."""
