"""The seeded test setup (the seed's integration steps 1–4, done for the user).

Identities and secrets are generated once into ``credentials.json`` in the data dir (owner-only
permissions); the store keeps only secret hashes. Seeding the store from that file is
repeatable, so ``reset`` returns to exactly the same tenant, applications and secrets.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from crossconnect import clock, entropy
from crossconnect.admin.routes import TENANT_ADMINS_META
from crossconnect.app.data_dir import make_private, write_private
from crossconnect.authz.repository import RbacRepository
from crossconnect.authz.roles import CONTRIBUTOR, NETWORK_CONTRIBUTOR, OWNER
from crossconnect.identity.directory import Directory
from crossconnect.identity.graph import GLOBAL_ADMINISTRATOR
from crossconnect.identity.graph import READ_WRITE_ALL as GRAPH_READ_WRITE_ALL
from crossconnect.identity.groups import SERVICE_PRINCIPAL, GroupDirectory
from crossconnect.identity.secrets import hash_secret, new_salt, new_secret
from crossconnect.network.route_filters import communities as bgp
from crossconnect.resources.providers import set_registration
from crossconnect.store import Store

PROVIDER_SUBSCRIPTION = "ExpressRoute_API_Dev_Provider_Sub"
CUSTOMER_SUBSCRIPTION = "ExpressRoute_API_Dev_Customer_Sub"
CREDENTIALS_FILE = "credentials.json"
OPERATIONS_GROUP = "ExpressRoute Partner Operations"
GROUP_READ_WRITE_ALL = "Group.ReadWrite.All"


def _principal(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "client_id": entropy.guid(entropy.CREDENTIALS),
        "client_secret": new_secret(entropy.CREDENTIALS),
        "object_id": entropy.guid(entropy.CREDENTIALS),
        "app_object_id": entropy.guid(entropy.CREDENTIALS),
        **(extra or {}),
    }


def new_credentials(bare: bool) -> dict[str, Any]:
    creds: dict[str, Any] = {
        "operator": _principal(
            {"tenant_id": entropy.guid(entropy.CREDENTIALS), "tenant_domain": "operator.crossconnect.local"}
        ),
    }
    if not bare:
        creds["tenant_id"] = entropy.guid(entropy.CREDENTIALS)
        creds["tenant_domain"] = "partnerdev.onmicrosoft.com"
        creds["partner"] = _principal(
            {"subscription_id": entropy.guid(entropy.CREDENTIALS), "display_name": "partner-automation"}
        )
        creds["customer"] = _principal(
            {"subscription_id": entropy.guid(entropy.CREDENTIALS), "display_name": "customer-automation"}
        )
        creds["admin"] = _new_admin(creds)
        creds["user"] = _new_user(creds)
        creds["group"] = _new_group()
    return creds


def _new_group() -> dict[str, str]:
    """The operations group: Network Contributor on the provider subscription, the partner
    application a member (the seed's step 4 done with a group)."""
    return {
        "object_id": entropy.guid(entropy.CREDENTIALS),
        "display_name": OPERATIONS_GROUP,
        "mail_nickname": "er-partner-ops",
    }


def _new_admin(creds: dict[str, Any]) -> dict[str, str]:
    """The subscription administrator: Owner on both subscriptions, manages applications."""
    return _principal({"subscription_id": creds["partner"]["subscription_id"], "display_name": "subscription-admin"})


def _new_user(creds: dict[str, Any]) -> dict[str, str]:
    """The admin user who signs in to the portal (and ``az login --use-device-code``)."""
    return {
        "username": f"admin@{creds['tenant_domain']}",
        "password": new_secret(entropy.CREDENTIALS),
        "object_id": entropy.guid(entropy.CREDENTIALS),
        "display_name": "Subscription Admin",
    }


def load_or_create_credentials(data_dir: Path, bare: bool) -> dict[str, Any]:
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        creds = dict(json.loads(path.read_text()))
        changed = False
        if "partner" in creds and "admin" not in creds:  # written before the admin principal existed
            creds["admin"] = _new_admin(creds)
            changed = True
        if "partner" in creds and "user" not in creds:  # written before users existed
            creds["user"] = _new_user(creds)
            changed = True
        if "partner" in creds and "group" not in creds:  # written before groups existed
            creds["group"] = _new_group()
            changed = True
        if changed:
            _write_private(path, creds, replace=True)
        return creds
    creds = new_credentials(bare)
    make_private(data_dir)
    _write_private(path, creds, replace=False)
    return creds


def _write_private(path: Path, creds: dict[str, Any], *, replace: bool) -> None:
    """Write owner-only (0600): the secrets are never readable by others, not even for a moment."""
    write_private(path, json.dumps(creds, indent=2).encode(), exclusive=not replace)


@lru_cache(maxsize=64)
def seeded_hash(secret: str) -> tuple[str, str]:
    """(salt, PBKDF2 hash) of a seeded secret, computed once per process. The seeded secrets belong
    to one data dir (credentials.json) and every reset writes them again: hashing them each time
    was most of a reset's cost (PBKDF2 is slow on purpose)."""
    salt = new_salt()
    return salt, hash_secret(secret, salt)


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


def seed(
    store: Store, directory: Directory, creds: dict[str, Any], hooks: list[SeedHook], within: Connection | None = None
) -> None:
    """Write the seeded setup into an empty store, in one transaction (``within``: the caller's)."""
    now = clock.now()
    with store.tx() if within is None else contextlib.nullcontext(within) as conn:
        op = creds["operator"]
        directory.create_tenant("crossconnect operator", op["tenant_domain"], op["tenant_id"], conn)
        directory.create_application(
            op["tenant_id"],
            "crossconnect-operator",
            app_id=op["client_id"],
            app_object_id=op["app_object_id"],
            sp_object_id=op["object_id"],
            secret=op["client_secret"],
            hashed=seeded_hash(op["client_secret"]),
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
                    hashed=seeded_hash(p["client_secret"]),
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
            seed_access_control(store, directory, creds, conn)
            seed_group(store, directory, creds, conn)
        context = SeedContext(store, directory, creds, conn)
        for hook in hooks:
            hook(context)
        store.set_meta("seeded", {"at": now, "bare": "partner" not in creds}, conn)


def seed_access_control(store: Store, directory: Directory, creds: dict[str, Any], conn: Connection) -> None:
    """The admin principal and the seeded roles: partner app Network Contributor on the provider
    subscription (what the partner onboarding asks the partner to grant), customer app
    Contributor on the customer subscription, admin Owner on both."""
    tenant = creds["tenant_id"]
    admin = creds["admin"]
    if directory.find_service_principal(tenant, admin["client_id"], conn) is None:
        directory.create_application(
            tenant,
            admin["display_name"],
            app_id=admin["client_id"],
            app_object_id=admin["app_object_id"],
            sp_object_id=admin["object_id"],
            secret=admin["client_secret"],
            hashed=seeded_hash(admin["client_secret"]),
            conn=conn,
        )
        # Microsoft Graph application permission: the admin registers applications (az ad sp create-for-rbac).
        graph_roles = {"graphAppRoles": [GRAPH_READ_WRITE_ALL, GROUP_READ_WRITE_ALL]}
        store.update_where("service_principals", {"data": graph_roles}, conn, object_id=admin["object_id"])
    rbac = RbacRepository(store)
    provider = f"/subscriptions/{creds['partner']['subscription_id']}"
    customer = f"/subscriptions/{creds['customer']['subscription_id']}"
    grants = [
        (creds["partner"], NETWORK_CONTRIBUTOR, provider),
        (creds["customer"], CONTRIBUTOR, customer),
        (admin, OWNER, provider),
        (admin, OWNER, customer),
    ]
    for principal, role, scope in grants:
        rbac.grant(conn, principal_id=principal["object_id"], role=role, scope=scope, tenant_id=tenant)
    seed_user(store, directory, creds, conn)
    store.set_meta(TENANT_ADMINS_META, {tenant: admin["object_id"]}, conn)  # owner of enlisted subscriptions
    store.set_meta("access_control_seeded", {"at": clock.now()}, conn)


def seed_user(store: Store, directory: Directory, creds: dict[str, Any], conn: Connection) -> None:
    """The admin user: a Global Administrator of the tenant (manages app registrations) and Owner
    on both seeded subscriptions. Called where those roles are not yet granted (a fresh store, a
    store from before access control, a store from before users)."""
    tenant, user = creds["tenant_id"], creds["user"]
    if directory.find_user_by_object_id(tenant, user["object_id"], conn) is None:
        directory.create_user(
            tenant,
            user["username"],
            user["display_name"],
            user["password"],
            object_id=user["object_id"],
            data={"directoryRoles": [GLOBAL_ADMINISTRATOR]},
            hashed=seeded_hash(user["password"]),
            conn=conn,
        )
    rbac = RbacRepository(store)
    for role in ("partner", "customer"):
        scope = f"/subscriptions/{creds[role]['subscription_id']}"
        rbac.grant(
            conn, principal_id=user["object_id"], role=OWNER, scope=scope, tenant_id=tenant, principal_type="User"
        )


def seed_group(store: Store, directory: Directory, creds: dict[str, Any], conn: Connection) -> None:
    """The "ExpressRoute Partner Operations" security group, Network Contributor on the provider
    subscription, with the partner application as its member; the admin application may manage
    groups (Group.ReadWrite.All). Also run for a store seeded before groups existed."""
    tenant, spec = creds["tenant_id"], creds["group"]
    rbac = RbacRepository(store)
    groups = GroupDirectory(store, rbac.changed)
    group = groups.find(tenant, spec["object_id"], conn)
    if group is None:
        group = groups.create(
            tenant,
            spec["display_name"],
            spec["mail_nickname"],
            description="Partner engineers and automation that manage ExpressRoute cross connections.",
            data={"owners": [creds["admin"]["object_id"]]},
            object_id=spec["object_id"],
            conn=conn,
        )
        groups.add_member(group, creds["partner"]["object_id"], SERVICE_PRINCIPAL, conn)
        rbac.grant(
            conn,
            principal_id=spec["object_id"],
            role=NETWORK_CONTRIBUTOR,
            scope=f"/subscriptions/{creds['partner']['subscription_id']}",
            tenant_id=tenant,
            principal_type="Group",
        )
    admin = directory.find_service_principal_by_object_id(tenant, creds["admin"]["object_id"], conn)
    roles = list((admin or {}).get("data", {}).get("graphAppRoles", []))
    if admin is not None and GROUP_READ_WRITE_ALL not in roles:
        data = {**admin["data"], "graphAppRoles": [*roles, GROUP_READ_WRITE_ALL]}
        store.update_where("service_principals", {"data": data}, conn, object_id=admin["object_id"])
    store.set_meta("groups_seeded", {"at": clock.now()}, conn)  # a deleted seeded group stays deleted


def _has_user(directory: Directory, creds: dict[str, Any], conn: Connection) -> bool:
    return directory.find_user_by_object_id(creds["tenant_id"], creds["user"]["object_id"], conn) is not None


# Seeding and resetting hold this lock (``Store.lock``): replicas starting at once on an empty
# database seed it once, and a reset through one replica is seen by the others whole or not at all.
SEED_LOCK = "seed"


def ensure_seeded(store: Store, directory: Directory, creds: dict[str, Any], hooks: list[SeedHook]) -> bool:
    with store.tx() as conn:
        store.lock(conn, SEED_LOCK)
        if store.get_meta("seeded", conn) is None:
            seed(store, directory, creds, hooks, conn)
            return True
        if "partner" in creds and store.get_meta("access_control_seeded", conn) is None:
            # A store seeded before access control existed: without this its principals hold no role.
            seed_access_control(store, directory, creds, conn)
        elif "user" in creds and not _has_user(directory, creds, conn):
            seed_user(store, directory, creds, conn)  # a store seeded before users existed
        if "group" in creds and store.get_meta("groups_seeded", conn) is None:
            seed_group(store, directory, creds, conn)  # a store seeded before groups existed
        return False


def reset(store: Store, directory: Directory, creds: dict[str, Any], hooks: list[SeedHook]) -> None:
    with store.tx() as conn:
        store.lock(conn, SEED_LOCK)
        store.wipe_state(conn)
        seed(store, directory, creds, hooks, conn)


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
            keys = ("client_id", "client_secret", "object_id", "subscription_id", "username", "password")
            out[role] = {k: p[k] for k in keys if k in p}
    if "group" in creds:
        g = creds["group"]
        out["groups"] = [
            {
                "object_id": g["object_id"],
                "display_name": g["display_name"],
                "role": NETWORK_CONTRIBUTOR.role_name,
                "scope": f"/subscriptions/{creds['partner']['subscription_id']}",
                "members": [creds["partner"]["object_id"]],
            }
        ]
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
    from crossconnect.network.catalog import providers as catalog
    from crossconnect.resources.features import TEST_LOCATIONS, set_feature_state

    if ctx.bare:
        return
    creds = ctx.credentials
    catalog.update_provider(
        ctx.store, "Ibiza Test Provider", {"managementSubscriptionId": creds["partner"]["subscription_id"]}, ctx.conn
    )
    set_feature_state(ctx.store, creds["customer"]["subscription_id"], TEST_LOCATIONS, "Registered", conn=ctx.conn)
    bgp.set_authorized(ctx.store, creds["customer"]["subscription_id"], True, ctx.conn)
