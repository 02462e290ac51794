"""The lab: troubleshooting (ARP, BGP summary, route tables) and the operator and lab endpoints
(partner-edge declarations, faults, catalog and registry administration)."""
