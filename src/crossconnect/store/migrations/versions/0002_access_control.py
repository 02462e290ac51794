"""Access control: custom role definitions, role assignments, and the RBAC generation token.

Revision ID: 0002_access_control
"""

from alembic import op

from crossconnect.store import schema

revision = "0002_access_control"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = [schema.role_definitions, schema.role_assignments, schema.rbac_generation]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind, checkfirst=True)
