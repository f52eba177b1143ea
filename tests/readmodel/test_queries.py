"""Journey lists, timelines, boards and work queues served from the read model."""

from datetime import timedelta

from models.care import Role
from models.journey import Phase
from models.state import ProjectionBatch
from models.views import JourneyListItem
from models.work import TaskStatus
from readmodel.queries import JourneyQueries
from service.days import BEGINNING
from tests.builders import PRIMARY, SUPERVISOR, T0, team
from tests.factories import NEW_COACH, batch, journey_batches, summary, task
from tests.readmodel.support import Sessions, apply_all

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _board() -> list[ProjectionBatch]:
    """Four journeys that each filter tells apart (listed here oldest change first)."""
    small = team(roles={PRIMARY: Role.THERAPIST, SUPERVISOR: Role.SUPERVISOR})
    return [
        batch(
            summary(
                "J-WM",
                4,
                phase=Phase.WITHDRAWAL_MANAGEMENT,
                loc_code="3.7-WM",
                updated_at=T0 + HOUR,
                next_review_due=T0 + 3 * DAY,
            )
        ),
        batch(
            summary("J-TX", 6, updated_at=T0 + 2 * HOUR, reassessment_due=T0 + DAY, urgent=True),
            care_team=small,
            tasks=[task("J-TX.T1", 6)],
        ),
        batch(
            summary(
                "J-IOP", 9, loc_code="2.1", updated_at=T0 + 3 * HOUR, next_review_due=T0 + 10 * DAY
            )
        ),
        batch(summary("J-AFT", 12, phase=Phase.AFTERCARE, loc_code=None, updated_at=T0 + 4 * HOUR)),
    ]


def _ids(journeys: list[JourneyListItem]) -> list[str]:
    return [j.journey_id for j in journeys]


async def test_every_list_filter(sessions: Sessions) -> None:
    await apply_all(sessions, _board())
    q = JourneyQueries(sessions)
    assert _ids(await q.list_journeys()) == ["J-AFT", "J-IOP", "J-TX", "J-WM"]
    assert _ids(await q.list_journeys(phase=Phase.TREATMENT)) == ["J-IOP", "J-TX"]
    assert _ids(await q.list_journeys(loc_code="3.5")) == ["J-TX"]
    assert _ids(await q.list_journeys(loc_code="1")) == []
    # Past due through the open reassessment only, then through the scheduled review too.
    assert _ids(await q.list_journeys(due_between=(BEGINNING, T0))) == []
    assert _ids(await q.list_journeys(due_between=(BEGINNING, T0 + 2 * DAY))) == ["J-TX"]
    assert _ids(await q.list_journeys(due_between=(BEGINNING, T0 + 5 * DAY))) == ["J-TX", "J-WM"]
    # The start is inclusive and the end exclusive, for reviews and reassessments alike.
    assert _ids(await q.list_journeys(due_between=(T0 + DAY, T0 + 3 * DAY))) == ["J-TX"]
    assert _ids(await q.list_journeys(due_between=(T0 + DAY + HOUR, T0 + 3 * DAY + HOUR))) == [
        "J-WM"
    ]
    assert _ids(await q.list_journeys(due_between=(T0 + 2 * DAY, T0 + 4 * DAY))) == ["J-WM"]
    assert _ids(await q.list_journeys(member="cm-diaz")) == ["J-AFT", "J-IOP", "J-WM"]
    assert _ids(await q.list_journeys(member=PRIMARY)) == ["J-AFT", "J-IOP", "J-TX", "J-WM"]
    assert _ids(await q.list_journeys(member="nobody")) == []
    assert _ids(await q.list_journeys(urgent=True)) == ["J-TX"]
    assert _ids(await q.list_journeys(urgent=False)) == ["J-AFT", "J-IOP", "J-WM"]
    assert _ids(await q.list_journeys(phase=Phase.TREATMENT, urgent=False)) == ["J-IOP"]
    assert _ids(await q.list_journeys(limit=2)) == ["J-AFT", "J-IOP"]
    assert _ids(await q.list_journeys(limit=2, offset=2)) == ["J-TX", "J-WM"]


async def test_counts_by_phase_and_loc(sessions: Sessions) -> None:
    await apply_all(sessions, _board())
    q = JourneyQueries(sessions)
    counts = {(c.phase, c.loc_code): c.count for c in await q.counts_by_phase_and_loc()}
    assert counts == {
        (Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM"): 1,
        (Phase.TREATMENT, "3.5"): 1,
        (Phase.TREATMENT, "2.1"): 1,
        (Phase.AFTERCARE, None): 1,
    }
    mine = await q.counts_by_phase_and_loc(member="cm-diaz")
    assert sum(c.count for c in mine) == 3
    assert (Phase.TREATMENT, "3.5") not in {(c.phase, c.loc_code) for c in mine}


async def test_open_tasks_due_before(sessions: Sessions) -> None:
    await apply_all(sessions, _board())
    await apply_all(
        sessions,
        [batch(summary("J-IOP", 10), tasks=[task("J-IOP.T1", 10, TaskStatus.DONE)])],
    )
    q = JourneyQueries(sessions)
    assert [t.task_id for t in await q.open_tasks_due_before(T0 + 2 * DAY)] == ["J-TX.T1"]
    assert await q.open_tasks_due_before(T0 + HOUR) == []
    assert await q.open_tasks_due_before(T0 + 2 * DAY, member="cm-diaz") == []


async def test_timeline_holds_the_whole_record(sessions: Sessions) -> None:
    batches = journey_batches("J-T")
    await apply_all(sessions, batches)
    q = JourneyQueries(sessions)
    timeline = await q.get_timeline("J-T")
    assert timeline is not None
    assert timeline.summary.last_seq == batches[-1].summary.seq
    assert [e.seq for e in timeline.events] == list(range(1, batches[-1].summary.seq + 1))
    assert [(s.phase, s.loc_code) for s in timeline.segments] == [
        (Phase.INTAKE, None),
        (Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM"),
        (Phase.TREATMENT, "3.5"),
    ]
    assert NEW_COACH in {m.member_id for m in timeline.members}
    assert [m.member_id for m in timeline.members if m.primary] == [PRIMARY]
    assert timeline.reassessments[0].recommended_loc == "3.7-WM"
    assert [r.escalated for r in timeline.reassessments] == [False, False, True]
    assert {t.status for t in timeline.tasks} == {TaskStatus.DONE, TaskStatus.OPEN}
    assert [(p.version, p.goals[0].goal_id) for p in timeline.plan_versions] == [(1, "G1")]
    expected = sum(len(e.recipients) for b in batches for e in b.events)
    assert len(timeline.notifications) == expected
    assert await q.get_timeline("J-NONE") is None
