"""Resources: indexes that serve keyset pages in ``seq`` order, and the look-up by name.

``ix_resources_scope`` (subscription, type, group) left every page of a subscription-wide list
to sort all rows of the type (a temporary B-tree per page); PostgreSQL sorted group-wide lists as
well. The new indexes end in ``seq``; the look-up by name (a cross connection by service key)
uses ``lower(name)``, as ``Store.list_resources(name=...)`` compares it.

Revision ID: 0008_resource_list_indexes
Revises: 0007_groups
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_resource_list_indexes"
down_revision = "0007_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store created at this schema has them already (0001 creates the tables as schema.py
    # declares them), hence if_not_exists.
    op.create_index(
        "ix_resources_scope_seq",
        "resources",
        ["subscription_id", "type_key", "group_key", "seq"],
        if_not_exists=True,
    )
    op.create_index("ix_resources_type_seq", "resources", ["subscription_id", "type_key", "seq"], if_not_exists=True)
    op.create_index(
        "ix_resources_name",
        "resources",
        ["subscription_id", "type_key", sa.text("lower(name)"), "seq"],
        if_not_exists=True,
    )
    op.drop_index("ix_resources_scope", "resources", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_resources_scope", "resources", ["subscription_id", "type_key", "group_key"], if_not_exists=True)
    op.drop_index("ix_resources_name", "resources", if_exists=True)
    op.drop_index("ix_resources_type_seq", "resources", if_exists=True)
    op.drop_index("ix_resources_scope_seq", "resources", if_exists=True)
