"""Credentials and clients for the seeded principals, already pointed at one crossconnect server:
its authority with instance discovery off, its ARM endpoint and scope, its CA, and a short
polling interval (the server finishes operations in milliseconds; the SDK's default waits 30 s
when no Retry-After is sent)."""

from __future__ import annotations

import inspect
import ssl
from typing import Any

from crossconnect.testing.server import CrossconnectServer

ARM_SCOPE = "https://management.azure.com/.default"
POLLING_INTERVAL = 0.1


class Clients:
    """Builds credentials (one per principal, cached: its tokens outlive resets, since a reset
    keeps the signing keys and the seeded secrets) and clients on them."""

    def __init__(self, server: CrossconnectServer) -> None:
        self.server = server
        self._credentials: dict[str, Any] = {}

    def credential(self, role: str = "partner") -> Any:
        """An azure-identity ``ClientSecretCredential`` of a seeded principal."""
        if role not in self._credentials:
            from azure.identity import ClientSecretCredential

            p = self.server.principal(role)
            self._credentials[role] = ClientSecretCredential(
                self.server.tenant_for(role),
                p["client_id"],
                p["client_secret"],
                authority=self.server.base_url,
                disable_instance_discovery=True,
                connection_verify=self.server.ca_bundle,
            )
        return self._credentials[role]

    def forget_credentials(self) -> None:
        """The next ``credential`` is a new one, with no cached token (after the clock moved)."""
        self._credentials.clear()

    def client(
        self, client_class: type, role: str = "partner", subscription_id: str | None = None, **kwargs: Any
    ) -> Any:
        """Any azure-mgmt client class (``NetworkManagementClient``, ``ResourceManagementClient``,
        ``SubscriptionClient``…) for ``role``; ``subscription_id`` defaults to the principal's own
        subscription for classes that take one. ``kwargs`` go to the class as they are."""
        parameters = inspect.signature(client_class).parameters
        options: dict[str, Any] = {
            "base_url": self.server.base_url,
            "credential_scopes": [ARM_SCOPE],
            "connection_verify": self.server.ca_bundle,
            "polling_interval": POLLING_INTERVAL,
        }
        args: list[Any] = [self.credential(role)]
        if "subscription_id" in parameters:
            principal = self.server.principal(role)
            args.append(subscription_id or principal.get("subscription_id") or self.server.subscription("partner"))
        return client_class(*args, **{**options, **kwargs})

    def token(self, role: str = "partner", scope: str = ARM_SCOPE) -> str:
        return str(self.credential(role).get_token(scope).token)

    def http(self, role: str | None = "partner", scope: str = ARM_SCOPE) -> Any:
        """An ``httpx.Client`` on the server's URL that trusts its CA and sends a bearer token of
        ``role`` (none when ``role`` is None): for raw requests the SDK cannot express."""
        import httpx

        headers = {"Authorization": f"Bearer {self.token(role, scope)}"} if role else {}
        return httpx.Client(
            base_url=self.server.base_url,
            verify=ssl.create_default_context(cafile=self.server.ca_bundle),
            headers=headers,
            timeout=30,
        )
