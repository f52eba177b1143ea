"""dashboard sessions, login failures, API token expiry

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tokens issued before expiry existed keep working this long after the upgrade: time to
# `journeys staff rotate` each account without locking anyone out on the day.
LEGACY_TOKEN_GRACE = timedelta(days=90)


def upgrade() -> None:
    """Add the token expiry (legacy tokens get the grace period) and the two tables."""
    op.add_column("staff", sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
    staff = sa.table("staff", sa.column("token_expires_at", sa.DateTime(timezone=True)))
    op.execute(staff.update().values(token_expires_at=datetime.now(UTC) + LEGACY_TOKEN_GRACE))
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_staff_id"), "staff_sessions", ["staff_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"])
    op.create_index(op.f("ix_login_failures_staff_id"), "login_failures", ["staff_id"])
    op.create_index(op.f("ix_login_failures_address"), "login_failures", ["address"])


def downgrade() -> None:
    """Drop the tables and the column."""
    op.drop_table("login_failures")
    op.drop_table("staff_sessions")
    op.drop_column("staff", "token_expires_at")
