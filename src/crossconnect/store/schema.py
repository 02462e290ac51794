"""The relational schema: one table per kind of fact.

Times are stored as float epoch seconds and structured values as JSON, so that every row
serialises to JSON unchanged (snapshots export and import rows verbatim).
Every pageable table has an integer ``seq`` primary key: lists page by keyset on it, which
yields each item once even while items are added or removed between pages.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("domain", String(255), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("object_id", String(36), nullable=False, unique=True),
    Column("app_id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("display_name", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

service_principals = Table(
    "service_principals",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("object_id", String(36), nullable=False, unique=True),
    Column("app_id", String(36), nullable=False, index=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("display_name", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "app_id", name="uq_sp_tenant_app"),
)

# Client credentials of an application: secrets (only a salted hash is kept) and certificates.
client_credentials = Table(
    "client_credentials",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key_id", String(36), nullable=False, unique=True),
    Column("app_id", String(36), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # "secret" | "certificate"
    Column("display_name", String(255), nullable=False, default=""),
    Column("hint", String(10), nullable=False, default=""),
    Column("salt", String(64), nullable=False, default=""),
    Column("secret_hash", String(128), nullable=False, default=""),
    Column("certificate_pem", Text, nullable=False, default=""),
    Column("thumbprint", String(128), nullable=False, default=""),
    Column("start_at", Float, nullable=False),
    Column("end_at", Float, nullable=False),
)

# Users of a tenant (Azure AD members): they sign in interactively (authorization code, device
# code). Only a salted hash of the password is kept, as for client secrets.
users = Table(
    "users",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("object_id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("user_principal_name", String(255), nullable=False, unique=True),  # lowercase
    Column("display_name", String(255), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("password_hash", String(128), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Security groups of a tenant (Azure AD groups). ``data`` holds what Graph lets a client set and
# read back (``owners``: object ids that may manage the members).
groups = Table(
    "groups",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("object_id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("display_name", String(256), nullable=False),
    Column("mail_nickname", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Direct members of a group: users, service principals and other groups (``member_type``: "user",
# "servicePrincipal", "group"). Transitive membership is computed from these edges.
group_members = Table(
    "group_members",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("group_id", String(36), nullable=False, index=True),
    Column("member_id", String(36), nullable=False, index=True),
    Column("member_type", String(32), nullable=False),
    Column("tenant_id", String(36), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("group_id", "member_id", name="uq_group_member"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("active", Boolean, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("display_name", String(255), nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
)

provider_registrations = Table(
    "provider_registrations",
    metadata,
    Column("subscription_id", String(36), primary_key=True),
    Column("namespace_key", String(100), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("due_at", Float, nullable=False),
)

feature_registrations = Table(
    "feature_registrations",
    metadata,
    Column("subscription_id", String(36), primary_key=True),
    Column("feature_key", String(255), primary_key=True),  # "<namespace>/<name>", lowercased
    Column("state", String(20), nullable=False),
    Column("due_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Every ARM resource (resource groups included). ``key`` is the lowercased resource id, ``id``
# keeps the casing of creation. ``body`` is the ARM JSON without id/name/type/etag.
resources = Table(
    "resources",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(1024), nullable=False, unique=True),
    Column("id", String(1024), nullable=False),
    Column("type_key", String(255), nullable=False),
    Column("subscription_id", String(36), nullable=False),
    Column("group_key", String(255), nullable=False, default=""),
    Column("parent_key", String(1024), nullable=False, default=""),
    Column("name", String(255), nullable=False),
    Column("body", JSON, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
# Lists page by keyset (``seq > ? ORDER BY seq LIMIT ?``) within a subscription and type, and
# within a resource group: each index ends in ``seq`` so that a page reads its rows in order from
# the index instead of sorting every row of the scope (at 10,000 cross connections, a sort of the
# whole scope per page). SQLite appends the rowid (``seq``) to every index anyway; PostgreSQL needs
# it spelled out.
Index(
    "ix_resources_scope_seq", resources.c.subscription_id, resources.c.type_key, resources.c.group_key, resources.c.seq
)
Index("ix_resources_type_seq", resources.c.subscription_id, resources.c.type_key, resources.c.seq)
# The partner's look-up of a cross connection by name (its service key, compared case-insensitively:
# ``Store.list_resources(name=...)``) without reading every cross connection of the subscription.
Index(
    "ix_resources_name",
    resources.c.subscription_id,
    resources.c.type_key,
    func.lower(resources.c.name),
    resources.c.seq,
)
Index("ix_resources_parent", resources.c.parent_key, resources.c.type_key)

# Long-running operations. A reconciler completes them; a lease lets one replica claim one.
operations = Table(
    "operations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("subscription_id", String(36), nullable=False),
    Column("location", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("resource_key", String(1024), nullable=False),
    Column("resource_type", String(255), nullable=False),
    Column("status", String(20), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("error", JSON, nullable=True),
    Column("due_at", Float, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
)
# Every request on a resource asks for the operations still running on it, and the reconciler for
# the next ones due: with thousands in progress (--operation-delay at scale) neither may scan them.
Index("ix_operations_resource_status", operations.c.resource_key, operations.c.status)
Index("ix_operations_status_due", operations.c.status, operations.c.due_at)
# The purge of expired operations reads a range of ``finished_at`` (older than the retention
# cutoff), not every operation.
Index("ix_operations_finished", operations.c.finished_at)

# Template deployments (Microsoft.Resources/deployments) of a resource group. ``key`` is the
# lowercased deployment id; ``body`` holds what the deployment shows (properties, the template,
# per-resource operations); ``secrets`` the securestring parameter values a running deployment
# still needs, cleared when it finishes and never rendered.
deployments = Table(
    "deployments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(1024), nullable=False, unique=True),
    Column("id", String(1024), nullable=False),
    Column("subscription_id", String(36), nullable=False),
    Column("group_key", String(255), nullable=False),
    Column("name", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("secrets", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_deployments_group_seq", deployments.c.subscription_id, deployments.c.group_key, deployments.c.seq)

# -- access control (role-based) -----------------------------------------------------------------
# Custom role definitions (built-in roles live in code). ``permissions`` and
# ``assignable_scopes`` are the ARM JSON lists verbatim.
role_definitions = Table(
    "role_definitions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),  # the GUID, lowercase
    Column("tenant_id", String(36), nullable=False, index=True),
    Column("role_name", String(512), nullable=False),
    Column("role_name_key", String(512), nullable=False),  # lowercase: unique per tenant
    Column("description", Text, nullable=False, default=""),
    Column("permissions", JSON, nullable=False),
    Column("assignable_scopes", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("created_by", String(36), nullable=False, default=""),
    Column("updated_by", String(36), nullable=False, default=""),
    UniqueConstraint("tenant_id", "role_name_key", name="uq_role_definition_name"),
)

# Role assignments. ``key`` is the lowercased assignment id (scope + name); ``scope_key`` the
# lowercased scope, so "at or below a scope" is a prefix comparison.
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(1200), nullable=False, unique=True),
    Column("name", String(36), nullable=False, index=True),
    Column("scope", String(1024), nullable=False),
    Column("scope_key", String(1024), nullable=False),
    Column("subscription_id", String(36), nullable=False, index=True),
    Column("tenant_id", String(36), nullable=False),
    Column("principal_id", String(36), nullable=False, index=True),
    Column("principal_type", String(32), nullable=False),
    Column("role_definition_id", String(36), nullable=False, index=True),  # the GUID, lowercase
    Column("description", Text, nullable=True),
    Column("condition", Text, nullable=True),
    Column("condition_version", String(10), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("created_by", String(36), nullable=False, default=""),
    Column("updated_by", String(36), nullable=False, default=""),
)
# One assignment per principal, role and scope, whatever its name (Azure: 409 RoleAssignmentExists).
Index(
    "uq_role_assignments_principal_role_scope",
    role_assignments.c.principal_id,
    role_assignments.c.role_definition_id,
    role_assignments.c.scope_key,
    unique=True,
)

# One row: a fresh random token written in the same transaction as every change to role
# definitions or assignments. Each replica caches the resolved assignments together with the
# token it loaded them under and compares tokens (one primary-key read) before trusting the
# cache. A random token, not a counter, so a reset or a snapshot import can never make an old
# cache look current again.
rbac_generation = Table(
    "rbac_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("token", String(36), nullable=False),
)

# -- sign-in in progress (transient: cleared by a reset, never part of a snapshot) -----------------
# Kept in the store, not in a process, so that with several replicas a device code issued by one is
# confirmed and redeemed at any other, a code is redeemed once across all of them, and wrong
# passwords count wherever they were typed. Expired rows are deleted lazily by the next writer.

# Pending device codes (``az login --use-device-code``). The client presents the device code at the
# token endpoint, so only its SHA-256 is kept; the user code is what the user reads off the screen
# and types on /devicelogin (stored as shown: uppercase, no dash). ``user_id`` is set once the user
# has signed in on /devicelogin.
device_codes = Table(
    "device_codes",
    metadata,
    Column("device_code_hash", String(64), primary_key=True),  # SHA-256, hex
    Column("user_code", String(16), nullable=False, unique=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("scope", Text, nullable=False),
    Column("user_id", String(36), nullable=True),
    Column("expires_at", Float, nullable=False),
)

# Authorization codes already redeemed, by the ``jti`` of the signed code (the jti alone redeems
# nothing), until the code expires: a code is redeemed once.
redeemed_codes = Table(
    "redeemed_codes",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
)

# Counted attempts, one row each, for the throttles of identity.throttle: wrong passwords, failed
# client authentications, device-code requests. ``user_key`` is the SHA-256 of the attempt's key,
# e.g. "user|<tenant id>|<username as typed, lowercased>": what was typed may be anything (a
# password typed into the username box), so it is never kept in the clear.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("user_key", String(64), nullable=False, index=True),
    Column("failed_at", Float, nullable=False),
)
