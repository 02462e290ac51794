"""Operations: an index on ``finished_at`` for the purge of expired operations.

The purge (``Operations.purge_finished``) looks for operations finished before the retention
cutoff; without an index it read every operation, finished or not, on each pass (every minute,
on every replica), whatever few had expired.

Revision ID: 0010_operation_finished_index
Revises: 0009_deployments
"""

from alembic import op

revision = "0010_operation_finished_index"
down_revision = "0009_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a store created at this schema has it already (0001 creates the tables as schema.py declares them)
    op.create_index("ix_operations_finished", "operations", ["finished_at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_operations_finished", "operations", if_exists=True)
