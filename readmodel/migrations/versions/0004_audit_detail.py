"""audit detail: what an audited action needs explained (e.g. a safety change accepted)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column (plain ADD COLUMN: the audit guards stay in place)."""
    op.add_column("audit_log", sa.Column("detail", sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Nothing: the audit log cannot be rebuilt, so the column stays."""
