"""The directory: tenants, applications, service principals and their client credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossconnect import clock, entropy
from crossconnect.identity import client_certificates as certificates
from crossconnect.identity import secrets
from crossconnect.store import Store

SECRET_LIFETIME = 2 * 365 * 24 * 3600
SEEDED_UNTIL = 4102444800.0  # 2100-01-01: the end of the range of the clock (admin/clock.py)


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
        tenant_id = tenant_id or entropy.guid()
        self.store.insert(
            "tenants",
            {"id": tenant_id, "domain": domain.lower(), "display_name": display_name, "created_at": clock.now()},
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
        hashed: tuple[str, str] | None = None,
        conn: Any = None,
    ) -> NewApplication:
        """Register an application and its service principal; optionally add a client secret."""
        now = clock.now()
        app_id = app_id or entropy.guid()
        app_object_id = app_object_id or entropy.guid()
        sp_object_id = sp_object_id or entropy.guid()
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
            secret = self.add_secret(app_id, "default", secret=secret, hashed=hashed, conn=conn)["secretText"]
        return NewApplication(app_id, app_object_id, sp_object_id, tenant_id, secret if with_secret else None)

    def add_secret(
        self,
        app_id: str,
        display_name: str,
        *,
        secret: str | None = None,
        hashed: tuple[str, str] | None = None,
        conn: Any = None,
    ) -> dict[str, Any]:
        """Add a client secret; the clear text is returned here and never again. ``hashed`` is the
        (salt, hash) of ``secret`` when the caller has it already (the seed, on every reset)."""
        secret = secret or secrets.new_secret()
        salt, secret_hash = hashed or (secrets.new_salt(), "")
        secret_hash = secret_hash or secrets.hash_secret(secret, salt)
        now = clock.now()
        # The seeded secrets (``hashed``) sign in whatever the operator's clock says (1970–2100),
        # so that ``--clock-start`` and ``crossconnect clock real`` never lock the seeded principals out.
        valid_from, valid_until = (0.0, SEEDED_UNTIL) if hashed is not None else (now, now + SECRET_LIFETIME)
        key_id = entropy.guid()
        self.store.insert(
            "client_credentials",
            {
                "key_id": key_id,
                "app_id": app_id,
                "kind": "secret",
                "display_name": display_name,
                "hint": secret[:3],
                "salt": salt,
                "secret_hash": secret_hash,
                "certificate_pem": "",
                "thumbprint": "",
                "start_at": valid_from,
                "end_at": valid_until,
            },
            conn,
        )
        return {"keyId": key_id, "secretText": secret, "hint": secret[:3], "displayName": display_name}

    def add_certificate(
        self,
        app_id: str,
        certificate_pem: str,
        *,
        display_name: str = "",
        key_id: str | None = None,
        start_at: float | None = None,
        end_at: float | None = None,
        conn: Any = None,
    ) -> dict[str, Any]:
        """Register a certificate (public part only) that the application signs client assertions with.
        Its validity defaults to the certificate's own."""
        cert = certificates.load(certificate_pem)
        row = {
            "key_id": key_id or entropy.guid(),
            "app_id": app_id,
            "kind": "certificate",
            "display_name": display_name,
            "hint": "",
            "salt": "",
            "secret_hash": "",
            "certificate_pem": certificates.to_pem(cert),
            "thumbprint": certificates.sha1_thumbprint(cert),
            "start_at": start_at if start_at is not None else cert.not_valid_before_utc.timestamp(),
            "end_at": end_at if end_at is not None else cert.not_valid_after_utc.timestamp(),
        }
        self.store.insert("client_credentials", row, conn)
        return row

    def credentials(self, app_id: str, kind: str | None = None, conn: Any = None) -> list[dict[str, Any]]:
        if kind is None:
            return self.store.find_all("client_credentials", conn, app_id=app_id)
        return self.store.find_all("client_credentials", conn, app_id=app_id, kind=kind)

    def remove_credential(self, app_id: str, key_id: str, conn: Any = None) -> bool:
        return self.store.delete_where("client_credentials", conn, app_id=app_id, key_id=key_id.lower()) > 0

    def find_application(self, app_id: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("applications", conn, app_id=app_id.lower())

    def find_service_principal(self, tenant_id: str, app_id: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("service_principals", conn, tenant_id=tenant_id, app_id=app_id.lower())

    async def check_secret(self, app_id: str, secret: str) -> bool:
        """Whether ``secret`` is a current client secret of the application (read where the store
        runs blocking work, hashed off the event loop)."""
        current = await self.store.calls.run(self._current_secrets, app_id)
        return await secrets.verify_any(secret, current)

    def _current_secrets(self, app_id: str) -> list[tuple[Any, Any]]:
        now = clock.now()
        return [
            (cred["salt"], cred["secret_hash"])
            for cred in self.store.find_all("client_credentials", app_id=app_id, kind="secret")
            if cred["start_at"] <= now <= cred["end_at"]
        ]

    # -- lookups and changes by object id (Microsoft Graph) ---------------------------------------
    def find_service_principal_by_object_id(
        self, tenant_id: str, object_id: str, conn: Any = None
    ) -> dict[str, Any] | None:
        return self.store.find("service_principals", conn, tenant_id=tenant_id, object_id=object_id.lower())

    def find_application_by_object_id(self, tenant_id: str, object_id: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("applications", conn, tenant_id=tenant_id, object_id=object_id.lower())

    def applications(self, tenant_id: str, conn: Any = None) -> list[dict[str, Any]]:
        return self.store.find_all("applications", conn, tenant_id=tenant_id)

    def service_principals(self, tenant_id: str, conn: Any = None) -> list[dict[str, Any]]:
        return self.store.find_all("service_principals", conn, tenant_id=tenant_id)

    def register_application(
        self, tenant_id: str, display_name: str, data: dict[str, Any], conn: Any = None
    ) -> dict[str, Any]:
        """An application without a service principal (Graph creates the two separately)."""
        row = {
            "object_id": entropy.guid(),
            "app_id": entropy.guid(),
            "tenant_id": tenant_id,
            "display_name": display_name,
            "data": data,
            "created_at": clock.now(),
        }
        self.store.insert("applications", row, conn)
        return row

    def update_application(self, object_id: str, values: dict[str, Any], conn: Any = None) -> None:
        self.store.update_where("applications", values, conn, object_id=object_id)

    def create_service_principal(
        self, tenant_id: str, app_id: str, display_name: str, data: dict[str, Any], conn: Any = None
    ) -> dict[str, Any]:
        row = {
            "object_id": entropy.guid(),
            "app_id": app_id,
            "tenant_id": tenant_id,
            "display_name": display_name,
            "data": data,
            "created_at": clock.now(),
        }
        self.store.insert("service_principals", row, conn)
        return row

    def delete_service_principal(self, object_id: str, conn: Any = None) -> bool:
        return self.store.delete_where("service_principals", conn, object_id=object_id) > 0

    def delete_application(self, application: dict[str, Any], conn: Any = None) -> None:
        """Delete an application with its credentials and its service principal (as Graph does)."""
        self.store.delete_where("client_credentials", conn, app_id=application["app_id"])
        tenant, app_id = application["tenant_id"], application["app_id"]
        self.store.delete_where("service_principals", conn, tenant_id=tenant, app_id=app_id)
        self.store.delete_where("applications", conn, object_id=application["object_id"])

    # -- users ---------------------------------------------------------------------------------
    def create_user(
        self,
        tenant_id: str,
        user_principal_name: str,
        display_name: str,
        password: str,
        *,
        object_id: str | None = None,
        data: dict[str, Any] | None = None,
        hashed: tuple[str, str] | None = None,
        conn: Any = None,
    ) -> dict[str, Any]:
        salt, password_hash = hashed or (secrets.new_salt(), "")
        password_hash = password_hash or secrets.hash_secret(password, salt)
        row = {
            "object_id": (object_id or entropy.guid()).lower(),
            "tenant_id": tenant_id,
            "user_principal_name": user_principal_name.lower(),
            "display_name": display_name,
            "salt": salt,
            "password_hash": password_hash,
            "data": data or {},
            "created_at": clock.now(),
        }
        self.store.insert("users", row, conn)
        return row

    def find_user(self, tenant_id: str, user_principal_name: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("users", conn, tenant_id=tenant_id, user_principal_name=user_principal_name.lower())

    def find_user_by_object_id(self, tenant_id: str, object_id: str, conn: Any = None) -> dict[str, Any] | None:
        return self.store.find("users", conn, tenant_id=tenant_id, object_id=object_id.lower())

    def users(self, tenant_id: str, conn: Any = None) -> list[dict[str, Any]]:
        return self.store.find_all("users", conn, tenant_id=tenant_id)

    @staticmethod
    async def check_password(user: dict[str, Any], password: str) -> bool:
        """Whether ``password`` is the user's (hashed off the event loop)."""
        return await secrets.verify_any(password, [(user["salt"], user["password_hash"])])
