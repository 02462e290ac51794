"""Which public Azure hosts crossconnect stands in for behind its intercepting proxy, and the
instance-discovery answer that keeps MSAL on them.

Found from the clients' sources: azure-identity and MSAL sign in at ``login.microsoftonline.com``
(its aliases ``login.windows.net``, ``login.microsoft.com`` and ``sts.windows.net`` are MSAL's
well-known authority hosts, and ``/common/discovery/instance`` on them is instance discovery);
azure-mgmt clients and the Azure CLI's AzureCloud call ``management.azure.com`` and name
``management.core.windows.net`` as the classic management endpoint and token resource; Graph is
``graph.microsoft.com`` (``graph.windows.net`` is the retired Azure AD Graph the CLI still lists).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

LOGIN_HOSTS = ("login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net")
INTERCEPTED_HOSTS = frozenset(
    {
        *LOGIN_HOSTS,
        "management.azure.com",
        "management.core.windows.net",
        "graph.microsoft.com",
        "graph.windows.net",
    }
)


async def instance_discovery(request: Request) -> JSONResponse:
    """``GET /common/discovery/instance?authorization_endpoint=https://<host>/<tenant>/oauth2/v2.0/authorize``:
    as on Azure AD, the tenant's OpenID configuration on the host the client asked (so a client
    that came through the proxy stays on the public host names) and the login hosts as aliases."""
    host = request.headers.get("host") or request.url.netloc
    endpoint = request.query_params.get("authorization_endpoint", "")
    parts = urlsplit(endpoint)
    tenant = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else "common"
    if not endpoint or parts.scheme != "https" or not tenant:
        return JSONResponse(
            {
                "error": "invalid_instance",
                "error_description": "AADSTS50049: Unknown or invalid instance: 'authorization_endpoint' must be "
                "https://<host>/<tenant>/oauth2/v2.0/authorize.",
            },
            400,
        )
    aliases = sorted({host, *LOGIN_HOSTS}) if host in LOGIN_HOSTS else [host]
    return JSONResponse(
        {
            "tenant_discovery_endpoint": f"https://{host}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": request.query_params.get("api-version", "1.1"),
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": aliases}],
        }
    )
