"""Public IP addresses: the Standard, static addresses an ExpressRoute gateway's ipConfiguration needs."""
