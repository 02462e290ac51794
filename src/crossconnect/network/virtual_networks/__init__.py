"""Virtual networks (the customer's side of private peering): virtualNetworks with their address
space and subnets, the subnets as child resources, and the rules Azure checks on both."""
