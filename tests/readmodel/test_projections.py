"""Projections are idempotent, never go backwards, and notify each recipient once per event."""

from datetime import timedelta

from sqlalchemy import func, select

from models.care import Role
from models.journey import Phase
from models.work import Channel, TaskStatus, notification_key
from readmodel.tables import (
    EventRow,
    JourneyRow,
    MemberRow,
    NotificationRow,
    PlanVersionRow,
    ReassessmentRow,
    SegmentRow,
    TaskRow,
)
from tests.builders import PRIMARY, SUPERVISOR, T0, team
from tests.factories import NEW_COACH, batch, event, journey_batches, summary, task
from tests.readmodel.support import Sessions, apply_all, snapshot


async def _members(sessions: Sessions, journey_id: str) -> set[str]:
    async with sessions() as session:
        query = select(MemberRow.member_id).where(MemberRow.journey_id == journey_id)
        return set((await session.scalars(query)).all())


async def test_applying_a_batch_again_writes_nothing_new(sessions: Sessions) -> None:
    for b in journey_batches():
        pairs = sum(len(e.recipients) for e in b.events)
        assert await apply_all(sessions, [b]) == pairs
        before = await snapshot(sessions)
        assert await apply_all(sessions, [b]) == 0
        assert await snapshot(sessions) == before


async def test_an_older_batch_never_moves_the_journey_back(sessions: Sessions) -> None:
    batches = journey_batches()
    await apply_all(sessions, batches)
    after = await snapshot(sessions)
    await apply_all(sessions, [batches[0], batches[1]])
    assert await snapshot(sessions) == after
    async with sessions() as session:
        row = await session.get(JourneyRow, "J-RM-1")
        segments = (await session.scalars(select(SegmentRow).order_by(SegmentRow.index))).all()
    assert row is not None
    assert (row.phase, row.loc_code, row.urgent) == (Phase.TREATMENT, "3.5", True)
    assert row.last_seq == batches[-1].summary.seq
    assert [s.loc_code for s in segments] == [None, "3.7-WM", "3.5"]
    assert all(s.ended_at is not None for s in segments[:-1])
    # The team changed in the third batch; the first batch's team must not come back.
    members = await _members(sessions, "J-RM-1")
    assert NEW_COACH in members
    assert "rc-fox" not in members


async def test_the_member_set_follows_only_the_newest_batch(sessions: Sessions) -> None:
    small = team(roles={PRIMARY: Role.THERAPIST, SUPERVISOR: Role.SUPERVISOR})
    await apply_all(sessions, [batch(summary("J-M", 5), care_team=small)])
    await apply_all(sessions, [batch(summary("J-M", 3))])
    assert await _members(sessions, "J-M") == {PRIMARY, SUPERVISOR}
    await apply_all(sessions, [batch(summary("J-M", 7))])
    assert len(await _members(sessions, "J-M")) == len(team().members)


async def test_a_task_keeps_its_newest_version(sessions: Sessions) -> None:
    done = task("J-K.T1", 6, TaskStatus.DONE)
    stale = task("J-K.T1", 4)
    await apply_all(sessions, [batch(summary("J-K", 6), tasks=[done])])
    # Even inside a newer journey batch, a task older than the stored one changes nothing.
    await apply_all(sessions, [batch(summary("J-K", 8), tasks=[stale])])
    async with sessions() as session:
        row = await session.get(TaskRow, "J-K.T1")
    assert row is not None
    assert (row.status, row.updated_seq) == (TaskStatus.DONE, 6)
    await apply_all(sessions, [batch(summary("J-K", 9), tasks=[task("J-K.T1", 9)])])
    async with sessions() as session:
        row = await session.get(TaskRow, "J-K.T1")
    assert row is not None
    assert (row.status, row.closed_at) == (TaskStatus.OPEN, None)


async def test_one_notification_per_event_and_recipient(sessions: Sessions) -> None:
    batches = journey_batches()
    inserted = await apply_all(sessions, batches)
    expected = {
        notification_key("J-RM-1", e.seq, r, Channel.FEED)
        for b in batches
        for e in b.events
        for r in e.recipients
    }
    async with sessions() as session:
        keys = (await session.scalars(select(NotificationRow.idempotency_key))).all()
    assert sorted(keys) == sorted(expected)
    assert inserted == len(expected)
    assert len(expected) > 20


async def test_notifications_carry_the_recipients_role(sessions: Sessions) -> None:
    # "former-1" left the team; a recipient listed twice is still notified once.
    recipients = [PRIMARY, SUPERVISOR, "former-1", PRIMARY]
    s = summary("J-N", 3)
    assert await apply_all(sessions, [batch(s, events=[event(3, recipients=recipients)])]) == 3
    async with sessions() as session:
        rows = (await session.scalars(select(NotificationRow))).all()
    roles = {r.recipient: r.role for r in rows}
    assert roles == {PRIMARY: "therapist", SUPERVISOR: "supervisor", "former-1": None}
    key = notification_key("J-N", 3, PRIMARY, Channel.FEED)
    assert {r.idempotency_key for r in rows if r.recipient == PRIMARY} == {key}
    assert {(r.seq, r.channel, r.read_at) for r in rows} == {(3, "feed", None)}


async def test_plan_versions_are_written_once(sessions: Sessions) -> None:
    batches = journey_batches()
    planned = batches[2]
    assert planned.plan is not None
    await apply_all(sessions, batches)
    rewritten = planned.plan.model_copy(update={"reason": "edited later"})
    await apply_all(sessions, [planned.model_copy(update={"plan": rewritten})])
    async with sessions() as session:
        rows = (await session.scalars(select(PlanVersionRow))).all()
    assert [(r.version, r.reason) for r in rows] == [(1, "initial plan")]
    assert rows[0].goals[0]["goal_id"] == "G1"
    assert rows[0].goals[0]["target_date"] == "2026-03-01"


async def test_reassessment_rows_keep_recommendation_and_decision(sessions: Sessions) -> None:
    await apply_all(sessions, journey_batches())
    async with sessions() as session:
        query = select(ReassessmentRow).order_by(ReassessmentRow.opened_at)
        rows = (await session.scalars(query)).all()
    intake = rows[0]
    assert (intake.recommended_loc, intake.decided_loc) == ("3.7-WM", "3.7-WM")
    assert intake.follows_recommendation is True
    assert intake.dimensions is not None
    assert intake.dimensions["d1"] == 3
    assert (rows[-1].status, rows[-1].escalated, rows[-1].decided_by) == ("open", True, None)


async def test_journeys_of_different_clients_do_not_mix(sessions: Sessions) -> None:
    one = journey_batches("J-A")
    two = journey_batches("J-B", T0 + timedelta(days=1))
    await apply_all(sessions, [b for pair in zip(one, two, strict=True) for b in pair])
    async with sessions() as session:
        query = select(EventRow.journey_id, func.count()).group_by(EventRow.journey_id)
        counts = dict((await session.execute(query)).all())
    assert counts == {"J-A": one[-1].summary.seq, "J-B": two[-1].summary.seq}
