"""Azure AD security groups and their direct members (users, service principals, groups).

Revision ID: 0007_groups
Revises: 0006_one_role_assignment
"""

from alembic import op

from crossconnect.store import schema

revision = "0007_groups"
down_revision = "0006_one_role_assignment"
branch_labels = None
depends_on = None

TABLES = [schema.groups, schema.group_members]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind, checkfirst=True)
