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
Index("ix_resources_scope", resources.c.subscription_id, resources.c.type_key, resources.c.group_key)
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
    Column("resource_key", String(1024), nullable=False, index=True),
    Column("resource_type", String(255), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("error", JSON, nullable=True),
    Column("due_at", Float, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
)
