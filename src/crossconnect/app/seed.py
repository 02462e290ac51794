"""The seeded test setup (the seed's integration steps 1–4, done for the user).

Identities and secrets are generated once into ``credentials.json`` in the data dir (owner-only
permissions); the store keeps only secret hashes. Seeding the store from that file is
repeatable, so ``reset`` returns to exactly the same tenant, applications and secrets.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from crossconnect.arm.providers import set_registration
from crossconnect.identity.directory import Directory
from crossconnect.identity.secrets import new_secret
from crossconnect.store import Store

PROVIDER_SUBSCRIPTION = "ExpressRoute_API_Dev_Provider_Sub"
CUSTOMER_SUBSCRIPTION = "ExpressRoute_API_Dev_Customer_Sub"
CREDENTIALS_FILE = "credentials.json"


def _principal(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "client_id": str(uuid.uuid4()),
        "client_secret": new_secret(),
        "object_id": str(uuid.uuid4()),
        "app_object_id": str(uuid.uuid4()),
        **(extra or {}),
    }


def new_credentials(bare: bool) -> dict[str, Any]:
    creds: dict[str, Any] = {
        "operator": _principal({"tenant_id": str(uuid.uuid4()), "tenant_domain": "operator.crossconnect.local"}),
    }
    if not bare:
        creds["tenant_id"] = str(uuid.uuid4())
        creds["tenant_domain"] = "partnerdev.onmicrosoft.com"
        creds["partner"] = _principal({"subscription_id": str(uuid.uuid4()), "display_name": "partner-automation"})
        creds["customer"] = _principal({"subscription_id": str(uuid.uuid4()), "display_name": "customer-automation"})
    return creds


def load_or_create_credentials(data_dir: Path, bare: bool) -> dict[str, Any]:
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        return dict(json.loads(path.read_text()))
    creds = new_credentials(bare)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f, indent=2)
    return creds


@dataclass
class SeedContext:
    store: Store
    directory: Directory
    credentials: dict[str, Any]
    conn: Connection

    @property
    def bare(self) -> bool:
        return "partner" not in self.credentials


SeedHook = Callable[[SeedContext], None]


def seed(store: Store, directory: Directory, creds: dict[str, Any], hooks: list[SeedHook]) -> None:
    """Write the seeded setup into an empty store, in one transaction."""
    now = time.time()
    with store.tx() as conn:
        op = creds["operator"]
        directory.create_tenant("crossconnect operator", op["tenant_domain"], op["tenant_id"], conn)
        directory.create_application(
            op["tenant_id"],
            "crossconnect-operator",
            app_id=op["client_id"],
            app_object_id=op["app_object_id"],
            sp_object_id=op["object_id"],
            secret=op["client_secret"],
            conn=conn,
        )
        store.set_meta("operator", {"object_id": op["object_id"], "tenant_id": op["tenant_id"]}, conn)
        if "partner" in creds:
            tenant = creds["tenant_id"]
            directory.create_tenant("ExpressRoute partner (dev)", creds["tenant_domain"], tenant, conn)
            for role, sub_name in (("partner", PROVIDER_SUBSCRIPTION), ("customer", CUSTOMER_SUBSCRIPTION)):
                p = creds[role]
                directory.create_application(
                    tenant,
                    p["display_name"],
                    app_id=p["client_id"],
                    app_object_id=p["app_object_id"],
                    sp_object_id=p["object_id"],
                    secret=p["client_secret"],
                    conn=conn,
                )
                store.insert(
                    "subscriptions",
                    {
                        "id": p["subscription_id"],
                        "tenant_id": tenant,
                        "display_name": sub_name,
                        "state": "Enabled",
                        "created_at": now,
                    },
                    conn,
                )
                set_registration(store, p["subscription_id"], "Microsoft.Network", "Registered", conn=conn)
        context = SeedContext(store, directory, creds, conn)
        for hook in hooks:
            hook(context)
        store.set_meta("seeded", {"at": now, "bare": "partner" not in creds}, conn)


def ensure_seeded(store: Store, directory: Directory, creds: dict[str, Any], hooks: list[SeedHook]) -> bool:
    if store.get_meta("seeded") is not None:
        return False
    seed(store, directory, creds, hooks)
    return True


def reset(store: Store, directory: Directory, creds: dict[str, Any], hooks: list[SeedHook]) -> None:
    store.wipe_state()
    seed(store, directory, creds, hooks)


def environment(creds: dict[str, Any], base_url: str, ca_bundle: str) -> dict[str, Any]:
    """The object ``crossconnect env --json`` prints."""
    out: dict[str, Any] = {
        "arm_endpoint": base_url,
        "authority_host": base_url,
        "ca_bundle": ca_bundle,
        "tenant_id": creds.get("tenant_id"),
    }
    for role in ("partner", "customer", "admin", "user"):
        if role in creds:
            p = creds[role]
            out[role] = {
                k: p[k]
                for k in ("client_id", "client_secret", "object_id", "subscription_id", "username", "password")
                if k in p
            }
    op = creds["operator"]
    out["operator"] = {
        "tenant_id": op["tenant_id"],
        "client_id": op["client_id"],
        "client_secret": op["client_secret"],
        "object_id": op["object_id"],
    }
    return out


def seed_network(ctx: SeedContext) -> None:
    """The test partner setup: "Ibiza Test Provider" is managed from the provider subscription,
    and the customer subscription may use the test peering locations (feature approved) and the
    Office 365 communities in route filters (authorized)."""
    from crossconnect.arm.features import TEST_LOCATIONS, set_feature_state
    from crossconnect.network import bgp_service_communities, catalog

    if ctx.bare:
        return
    creds = ctx.credentials
    catalog.update_provider(
        ctx.store, "Ibiza Test Provider", {"managementSubscriptionId": creds["partner"]["subscription_id"]}, ctx.conn
    )
    set_feature_state(ctx.store, creds["customer"]["subscription_id"], TEST_LOCATIONS, "Registered", conn=ctx.conn)
    bgp_service_communities.set_authorized(ctx.store, creds["customer"]["subscription_id"], True, ctx.conn)
