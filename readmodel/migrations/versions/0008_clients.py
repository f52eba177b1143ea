"""client records (field-encrypted) with keyed blind indexes; journeys name their client

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The clients and client_index tables, and journeys.client_id."""
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("identifiers", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("court", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_clients")),
    )
    op.create_table(
        "client_index",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "kind", "digest", name=op.f("pk_client_index")),
    )
    op.create_index("ix_client_index_kind_digest", "client_index", ["kind", "digest"])
    op.add_column("journeys", sa.Column("client_id", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_journeys_client_id"), "journeys", ["client_id"])


def downgrade() -> None:
    """Drop the column and both tables."""
    op.drop_index(op.f("ix_journeys_client_id"), "journeys")
    with op.batch_alter_table("journeys") as batch:
        batch.drop_column("client_id")
    op.drop_table("client_index")
    op.drop_table("clients")
