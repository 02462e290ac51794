"""Sign-in in progress, shared by every replica: pending device codes, redeemed authorization
codes and wrong-password attempts (they lived in the process that saw them).

Revision ID: 0005_sign_in_state
"""

from alembic import op

from crossconnect.store import schema

revision = "0005_sign_in_state"
down_revision = "0004_operation_indexes"
branch_labels = None
depends_on = None

TABLES = [schema.device_codes, schema.redeemed_codes, schema.sign_in_failures]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind, checkfirst=True)
