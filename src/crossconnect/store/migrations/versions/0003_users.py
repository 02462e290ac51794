"""Users: tenant members who sign in interactively (authorization code with PKCE, device code).

Revision ID: 0003_users
"""

from alembic import op

from crossconnect.store import schema

revision = "0003_users"
down_revision = "0002_access_control"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.users.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    schema.users.drop(op.get_bind(), checkfirst=True)
