"""Template deployments (Microsoft.Resources/deployments): the template language, the plan, the runner and the endpoints."""
