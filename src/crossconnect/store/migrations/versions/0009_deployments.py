"""Template deployments (Microsoft.Resources/deployments) and their per-resource operations.

Revision ID: 0009_deployments
Revises: 0008_resource_list_indexes
"""

from alembic import op

from crossconnect.store import schema

revision = "0009_deployments"
down_revision = "0008_resource_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # creates the table and its index (ix_deployments_group_seq) as schema.py declares them
    schema.deployments.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    schema.deployments.drop(op.get_bind(), checkfirst=True)
