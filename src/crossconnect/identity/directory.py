"""The directory: tenants, applications, service principals and their client credentials."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from crossconnect.identity import secrets
from crossconnect.store import Store

SECRET_LIFETIME = 2 * 365 * 24 * 3600


@dataclass(frozen=True)
class NewApplication:
    app_id: str
    app_object_id: str
    sp_object_id: str
    tenant_id: str
    secret: str | None


class Directory:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- tenants -----------------------------------------------------------------------------
    def create_tenant(self, display_name: str, domain: str, tenant_id: str | None = None, conn: Any = None) -> str:
        tenant_id = tenant_id or str(uuid.uuid4())
        self.store.insert(
            "tenants",
            {"id": tenant_id, "domain": domain.lower(), "display_name": display_name, "created_at": time.time()},
            conn,
        )
        return tenant_id

    def find_tenant(self, id_or_domain: str, conn: Any = None) -> dict[str, Any] | None:
        key = id_or_domain.lower()
        return self.store.find("tenants", conn, id=key) or self.store.find("tenants", conn, domain=key)

    def list_tenants(self, conn: Any = None) -> list[dict[str, Any]]:
        return self.store.find_all("tenants", conn)

    # -- applications and service principals -------------------------------------------------
    def create_application(
        self,
        tenant_id: str,
        display_name: str,
        *,
        app_id: str | None = None,
        app_object_id: str | None = None,
        sp_object_id: str | None = None,
        secret: str | None = None,
        with_secret: bool = True,
        conn: Any = None,
    ) -> NewApplication:
        """Register an application and its service principal; optionally add a client secret."""
        now = time.time()
        app_id = app_id or str(uuid.uuid4())
        app_object_id = app_object_id or str(uuid.uuid4())
        sp_object_id = sp_object_id or str(uuid.uuid4())
        self.store.insert(
            "applications",
            {
                "object_id": app_object_id,
                "app_id": app_id,
                "tenant_id": tenant_id,
                "display_name": display_name,
                "data": {},
                "created_at": now,
            },
            conn,
        )
        self.store.insert(
            "service_principals",
            {
                "object_id": sp_object_id,
                "app_id": app_id,
                "tenant_id": tenant_id,
                "display_name": display_name,
                "data": {},
                "created_at": now,
            },
            conn,
        )
        if with_secret:
            secret = self.add_secret(app_id, "default", secret=secret, conn=conn)["secretText"]
        return NewApplication(app_id, app_object_id, sp_object_id, tenant_id, secret if with_secret else None)

    def add_secret(
        self, app_id: str, display_name: str, *, secret: str | None = None, conn: Any = None
    ) -> dict[str, Any]:
        """Add a client secret; the clear text is returned here and never again."""
        secret = secret or secrets.new_secret()
        salt = secrets.new_salt()
        now = time.time()
        key_id = str(uuid.uuid4())
        self.store.insert(
            "client_credentials",
            {
                "key_id": key_id,
                "app_id": app_id,
                "kind": "secret",
                "display_name": display_name,
                "hint": secret[:3],
                "salt": salt,
                "secret_hash": secrets.hash_secret(secret, salt),
                "certificate_pem": "",
                "thumbprint": "",
                "start_at": now,
                "end_at": now + SECRET_LIFETIME,
            },
            conn,
        )
        return {"keyId": key_id, "secretText": secret, "hint": secret[:3], "displayName": display_name}

    def find_application(self, app_id: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("applications", conn, app_id=app_id.lower())

    def find_service_principal(self, tenant_id: str, app_id: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("service_principals", conn, tenant_id=tenant_id, app_id=app_id.lower())

    def check_secret(self, app_id: str, secret: str, conn: Any = None) -> bool:
        now = time.time()
        for cred in self.store.find_all("client_credentials", conn, app_id=app_id, kind="secret"):
            if cred["start_at"] <= now <= cred["end_at"] and secrets.verify_secret(
                secret, cred["salt"], cred["secret_hash"]
            ):
                return True
        return False
