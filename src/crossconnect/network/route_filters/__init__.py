"""Route filters: routeFilters and their rules, the BGP service communities they select, and how they
attach to Microsoft peerings."""
