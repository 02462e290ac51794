"""Operations: indexes for "still running on this resource" and "due next".

They replace the single-column indexes on resource_key and status: SQLite picked the status one
for "running on this resource", which scans every operation in progress.

Revision ID: 0004_operation_indexes
"""

from alembic import op

revision = "0004_operation_indexes"
down_revision = "0003_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_operations_resource_status", "operations", ["resource_key", "status"], if_not_exists=True)
    op.create_index("ix_operations_status_due", "operations", ["status", "due_at"], if_not_exists=True)
    op.drop_index("ix_operations_resource_key", "operations", if_exists=True)
    op.drop_index("ix_operations_status", "operations", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_operations_status", "operations", ["status"], if_not_exists=True)
    op.create_index("ix_operations_resource_key", "operations", ["resource_key"], if_not_exists=True)
    op.drop_index("ix_operations_status_due", "operations", if_exists=True)
    op.drop_index("ix_operations_resource_status", "operations", if_exists=True)
