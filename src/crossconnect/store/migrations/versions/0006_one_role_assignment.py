"""One role assignment per principal, role and scope: a unique index.

Replicas could each create the same assignment under another name when two requests raced (the
check and the insert were not one step). Duplicates such a race left are removed first, keeping
the oldest (lowest seq); the RBAC generation token changes, so every replica reloads.

Revision ID: 0006_one_role_assignment
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0006_one_role_assignment"
down_revision = "0005_sign_in_state"
branch_labels = None
depends_on = None

INDEX = "uq_role_assignments_principal_role_scope"
COLUMNS = ["principal_id", "role_definition_id", "scope_key"]


def upgrade() -> None:
    removed = op.get_bind().execute(
        sa.text(
            "DELETE FROM role_assignments WHERE seq NOT IN "
            "(SELECT MIN(seq) FROM role_assignments GROUP BY principal_id, role_definition_id, scope_key)"
        )
    )
    if removed.rowcount:
        op.execute(sa.text("UPDATE rbac_generation SET token = :token").bindparams(token=str(uuid.uuid4())))
    op.create_index(INDEX, "role_assignments", COLUMNS, unique=True, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(INDEX, "role_assignments", if_exists=True)
