"""Initial schema: directory, subscriptions, providers, features, resources, operations.

Revision ID: 0001
"""

from alembic import op

from crossconnect.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [
    schema.meta,
    schema.tenants,
    schema.applications,
    schema.service_principals,
    schema.client_credentials,
    schema.signing_keys,
    schema.subscriptions,
    schema.provider_registrations,
    schema.feature_registrations,
    schema.resources,
    schema.operations,
]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind, checkfirst=True)
