"""initial read model

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:42:40.971870
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "journey_events",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("journey_id", "seq", name=op.f("pk_journey_events")),
    )
    op.create_table(
        "journey_members",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("journey_id", "member_id", name=op.f("pk_journey_members")),
    )
    with op.batch_alter_table("journey_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_members_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "journeys",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("loc_code", sa.String(length=16), nullable=True),
        sa.Column("discharge_reason", sa.String(length=32), nullable=True),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("primary_clinician", sa.String(length=64), nullable=False),
        sa.Column("next_review_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reassessment_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("journey_id", name=op.f("pk_journeys")),
    )
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journeys_loc_code"), ["loc_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_journeys_next_review_due"), ["next_review_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_journeys_phase"), ["phase"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_journeys_reassessment_due"), ["reassessment_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_journeys_urgent"), ["urgent"], unique=False)

    op.create_table(
        "loc_segments",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("loc_code", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("journey_id", "index", name=op.f("pk_loc_segments")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_journey_id"), ["journey_id"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_recipient_created", ["recipient", "created_at"], unique=False
        )

    op.create_table(
        "plan_versions",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("journey_id", "version", name=op.f("pk_plan_versions")),
    )
    op.create_table(
        "reassessments",
        sa.Column("reassessment_id", sa.String(length=64), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=True),
        sa.Column("recommended_phase", sa.String(length=32), nullable=True),
        sa.Column("recommended_loc", sa.String(length=16), nullable=True),
        sa.Column("rationale", sa.String(length=500), nullable=True),
        sa.Column("decided_phase", sa.String(length=32), nullable=True),
        sa.Column("decided_loc", sa.String(length=16), nullable=True),
        sa.Column("follows_recommendation", sa.Boolean(), nullable=True),
        sa.Column("variance_reason", sa.String(length=500), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("reassessment_id", name=op.f("pk_reassessments")),
    )
    with op.batch_alter_table("reassessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reassessments_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reassessments_journey_id"), ["journey_id"], unique=False
        )

    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_journey_id"), ["journey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_status"), ["status"], unique=False)


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_tasks_owner"))
        batch_op.drop_index(batch_op.f("ix_tasks_journey_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_due_at"))

    op.drop_table("tasks")
    with op.batch_alter_table("reassessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reassessments_journey_id"))
        batch_op.drop_index(batch_op.f("ix_reassessments_due_at"))

    op.drop_table("reassessments")
    op.drop_table("plan_versions")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_recipient_created")
        batch_op.drop_index(batch_op.f("ix_notifications_journey_id"))

    op.drop_table("notifications")
    op.drop_table("loc_segments")
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journeys_urgent"))
        batch_op.drop_index(batch_op.f("ix_journeys_reassessment_due"))
        batch_op.drop_index(batch_op.f("ix_journeys_phase"))
        batch_op.drop_index(batch_op.f("ix_journeys_next_review_due"))
        batch_op.drop_index(batch_op.f("ix_journeys_loc_code"))

    op.drop_table("journeys")
    with op.batch_alter_table("journey_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_members_member_id"))

    op.drop_table("journey_members")
    op.drop_table("journey_events")
