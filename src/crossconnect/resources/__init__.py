"""The resource types every ARM client stands on, plugged into ``arm`` as ``network`` is:
Microsoft.Resources (subscriptions, resource groups, providers, locations, /metadata/endpoints),
Microsoft.Features (feature flags) and Microsoft.Authorization (role definitions, assignments)."""
