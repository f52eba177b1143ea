"""The read model at 100,000 journeys: rows, bytes and page times, written by the real projection.

Twelve journey paths (intake, withdrawal management, each level of care, a relapse, a safety
flag, aftercare, completed, discharged) are driven through the pure journey engine exactly as the
workflow drives it (commands, due work, ``build_batch`` after each change, pruning), once each. Each
of the BENCH_READ_JOURNEYS journeys (100,000) copies one path under its own journey id, care team
and times, and is written through ``readmodel.projections.apply_batch``, the function the worker's
projection activity runs:

- most journeys as one batch holding their whole path (every event, segment, reassessment, task
  and the plan: what the first batch of a run holds, plus every event), many journeys to a
  transaction, so that 100,000 fit in minutes;
- the last BENCH_READ_SAMPLE (500) with the batches the workflow sends, one transaction each,
  through ``ProjectionWriter`` (the worker's writer): the projection rate at that size.

Then rows and bytes per table (SQLite: ``dbstat`` pages, table and its indexes; PostgreSQL:
``pg_total_relation_size``), and the times of the list page, the filtered page and the board's
two queries. ``python -m bench.run`` runs it as the phase ``read model 100k``.
"""

import functools
import os
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, Connection, String, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.routers.board import bucket
from bench.stats import percentile
from clinical import commands, episode, measures
from clinical.journal import prune
from clinical.policy_loader import load_policy
from clinical.timers import next_deadline, run_due_work
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind
from models.commands import (
    CompleteTask,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    RevisePlan,
    StartJourney,
)
from models.journey import DischargeReason, Phase
from models.plan import Goal
from models.policy import ClinicalEventKind
from models.state import JourneyState, ProjectionBatch
from models.work import TaskKind, TaskStatus
from readmodel import rows
from readmodel.db import create_engine, sessionmaker
from readmodel.projections import ProjectionWriter, apply_batch
from readmodel.queries import JourneyQueries
from readmodel.tables import (
    Base,
    EventRow,
    JourneyRow,
    MemberRow,
    NotificationRow,
    PlanVersionRow,
    ReassessmentRow,
    SegmentRow,
    TaskRow,
    UtcDateTime,
)
from service.days import ProgramCalendar
from workflows.projection import Projected, build_batch

PHASE = "read model 100k"
# The projection's tables, in the order of ``apply_batch``.
PROJECTED: tuple[type[Base], ...] = (
    JourneyRow,
    MemberRow,
    SegmentRow,
    ReassessmentRow,
    TaskRow,
    EventRow,
    PlanVersionRow,
    NotificationRow,
)
TABLES = tuple(str(m.__tablename__) for m in PROJECTED)
# The template's ids, replaced in every copy.
TEMPLATE_ID = "J-TPL"
PRIMARY, PHYSICIAN, NURSE, CASE_MANAGER, SUPERVISOR = (
    "th-chen",
    "dr-ames",
    "rn-baker",
    "cm-diaz",
    "sv-gray",
)
# How many distinct staff fill each role across the program (th-chen is therapist 0).
STAFF_POOLS = {PRIMARY: 20, PHYSICIAN: 10, NURSE: 10, CASE_MANAGER: 20, SUPERVISOR: 5}
PER_TRANSACTION = 500  # journeys written per transaction in the bulk
TIMED_ROUNDS = 100
# Copying stops past this (then fewer journeys are measured, and the report says how many).
COPY_SECONDS = float(os.environ.get("BENCH_READ_SECONDS", "1800"))
TIMING_SECONDS = 60.0  # the page timings stop early past this
_STAMP = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"')
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class _Driver:
    """The workflow's loop over the pure engine: change, project, prune; timers when due."""

    def __init__(self, journey_id: str) -> None:
        team = CareTeam(
            members=[
                CareTeamMember(member_id=PRIMARY, role=Role.THERAPIST, primary=True),
                CareTeamMember(member_id=PHYSICIAN, role=Role.PHYSICIAN),
                CareTeamMember(member_id=NURSE, role=Role.NURSE),
                CareTeamMember(member_id=CASE_MANAGER, role=Role.CASE_MANAGER),
                CareTeamMember(member_id=SUPERVISOR, role=Role.SUPERVISOR),
            ]
        )
        start = StartJourney(
            journey_id=journey_id, care_team=team, started_by="ops-1", policy=load_policy()
        )
        self.now = T0
        self.state: JourneyState = commands.start(start, T0)
        self.projected = Projected()
        self.batches: list[ProjectionBatch] = []
        self.flush()

    def flush(self) -> None:
        """What ``ClientJourneyWorkflow._flush`` does: a batch per pending change, then prune."""
        while self.state.outbox:
            batch = build_batch(self.state, self.projected)
            self.batches.append(batch)
            self.state.outbox = [e for e in self.state.outbox if e.seq > batch.summary.seq]
            self.state.projected_seq = batch.summary.seq
            prune(self.state)

    def wait(self, span: timedelta) -> None:
        """Let ``span`` pass, doing the due work at each deadline on the way."""
        until = self.now + span
        for _ in range(1000):  # bounded: a deadline never repeats without a change
            deadline = next_deadline(self.state)
            if deadline is None or deadline > until:
                break
            self.now = max(self.now, deadline)
            run_due_work(self.state, self.now)
            self.flush()
        self.now = until

    def do(self, apply: Callable[[JourneyState, datetime], object]) -> None:
        """A staff command a minute after the last change."""
        self.now += timedelta(minutes=1)
        apply(self.state, self.now)
        self.flush()


def _review(**ratings: int) -> Callable[[_Driver], None]:
    """Assess the open reassessment (opening one on request if none is) and accept."""

    def step(d: _Driver) -> None:
        dims = {f"d{i}": ratings.get(f"d{i}", 0) for i in range(1, 7)}
        kind = AssessmentKind.COMPREHENSIVE if d.state.seq < 3 else AssessmentKind.REASSESSMENT
        cmd = RecordAssessment(
            assessment_id=f"{d.state.journey_id}.A{d.state.seq}",
            kind=kind,
            dimensions=dims,
            assessed_by=PRIMARY,
        )
        result = commands.apply_record_assessment(d.state, cmd, d.now)
        d.flush()
        assert result.reassessment_id is not None
        decide = DecideTransition(
            reassessment_id=result.reassessment_id, decided_by=PHYSICIAN, accept=True
        )
        d.do(lambda s, now: commands.apply_decide(s, decide, now))

    return step


def _wait(days: float) -> Callable[[_Driver], None]:
    return lambda d: d.wait(timedelta(days=days))


# Tasks that close with their reassessment or plan, not by hand.
_BY_ROUTINE = (TaskKind.COMPLETE_REASSESSMENT, TaskKind.PLAN_REVIEW)


def _close_open_tasks(d: _Driver) -> None:
    """The team closes the open work (withdrawal checks, outreach)."""
    for task in list(d.state.tasks):
        if task.status is TaskStatus.OPEN and task.kind not in _BY_ROUTINE:
            cmd = CompleteTask(task_id=task.task_id, completed_by=PHYSICIAN)
            d.do(functools.partial(_complete, cmd))


def _complete(cmd: CompleteTask, state: JourneyState, now: datetime) -> None:
    episode.apply_complete_task(state, cmd, now)


def _plan(d: _Driver) -> None:
    goal = Goal(
        goal_id="G1", description="Attend three groups a week", target_date=date(2026, 6, 1)
    )
    cmd = RevisePlan(author=PRIMARY, reason="initial plan", goals=[goal])
    d.do(lambda s, now: episode.apply_revise_plan(s, cmd, now))


def _instrument(code: str, answers: list[int]) -> Callable[[_Driver], None]:
    cmd = RecordInstrument(code=code, answers=answers, recorded_by=PRIMARY)
    return lambda d: d.do(lambda s, now: measures.apply_record_instrument(s, cmd, now))


def _report(kind: ClinicalEventKind) -> Callable[[_Driver], None]:
    cmd = ReportEvent(kind=kind, reported_by=CASE_MANAGER)
    return lambda d: d.do(lambda s, now: episode.apply_report_event(s, cmd, now))


def _check_in(d: _Driver) -> None:
    cmd = RecordCheckIn(recorded_by=CASE_MANAGER)
    d.do(lambda s, now: episode.apply_record_check_in(s, cmd, now))


def _discharge(d: _Driver) -> None:
    cmd = Discharge(discharged_by=PHYSICIAN, reason=DischargeReason.AGAINST_ADVICE)
    d.do(lambda s, now: episode.apply_discharge(s, cmd, now))


def _aftercare_check_ins(count: int) -> list[Callable[[_Driver], None]]:
    """Check-ins on their days from the start of aftercare (the policy's schedule)."""
    offsets = load_policy().aftercare.check_ins[:count]
    steps: list[Callable[[_Driver], None]] = []
    elapsed = timedelta(0)
    for offset in offsets:
        steps += [_wait((offset - elapsed).total_seconds() / 86400), _check_in]
        elapsed = offset
    return steps


# The standard journey (as the cost phase's): 3.7-WM, 3.5 with weekly reviews, 2.1, 1, aftercare.
_TO_WM = [_wait(0.1), _review(d1=3, d2=2), _instrument("CIWA-Ar", [1] * 10)]
_TO_35 = [_wait(3), _review(d5=3, d6=3), _close_open_tasks, _plan]
_WEEKS = [_wait(7), _review(d5=3, d6=3), _wait(7), _review(d5=3, d6=3)]
_TO_21 = [_wait(7), _review(d4=2, d5=2), _instrument("PHQ-9", [1] * 8 + [0])]
_TO_1 = [_wait(90), _review(d5=1)]
_TO_AFTERCARE = [_wait(90), _review()]


@dataclass(frozen=True)
class Path:
    """One way through a journey, and the share of the program's journeys on it (percent)."""

    name: str
    share: int
    steps: tuple[Callable[[_Driver], None], ...]
    open: bool = True


def paths() -> list[Path]:
    """The program's mix of journeys: where a program some years old has its journeys."""
    standard = _TO_WM + _TO_35 + _WEEKS + _TO_21 + _TO_1 + _TO_AFTERCARE
    safety = [_wait(2), _instrument("PHQ-9", [2] * 8 + [1])]
    relapse = [_wait(2), _report(ClinicalEventKind.RELAPSE)]
    tail = len(_TO_1 + _TO_AFTERCARE)
    return [
        Path("intake", 4, ()),
        Path("intake, assessment overdue", 1, (_wait(3),)),
        Path("3.7-WM", 3, (*_TO_WM, _wait(1))),
        Path("3.5", 10, (*_TO_WM, *_TO_35, *_WEEKS)),
        Path("3.5 after a relapse", 2, (*_TO_WM, *_TO_35, *_WEEKS, *relapse)),
        Path("2.1", 10, (*_TO_WM, *_TO_35, *_WEEKS, *_TO_21)),
        Path("2.1 with a safety flag", 2, (*_TO_WM, *_TO_35, *_WEEKS, *_TO_21, *safety)),
        Path("1", 10, tuple(standard[:-len(_TO_AFTERCARE)])),
        Path("aftercare", 12, (*standard, *_aftercare_check_ins(4))),
        Path("aftercare, check-in missed", 3, (*standard, *_aftercare_check_ins(3), _wait(60))),
        Path("completed", 31, (*standard, *_aftercare_check_ins(99), _wait(120)), open=False),
        Path("discharged", 12, (*standard[: -tail], _discharge), open=False),
    ]  # fmt: skip


@dataclass
class Template:
    """A path driven once: its batches as JSON, and the rows they make per table."""

    path: Path
    batches: list[str]
    whole: str  # every change of the path in one batch
    rows: dict[str, int]
    span: timedelta  # from the start to the last change


def build_templates() -> list[Template]:
    """Drive every path through the engine under ``TEMPLATE_ID``."""
    out = []
    for path in paths():
        driver = _Driver(TEMPLATE_ID)
        for step in path.steps:
            step(driver)
        assert driver.state.phase.is_open == path.open, (path.name, driver.state.phase)
        batches = driver.batches
        whole = merged(batches)
        counted = expected_rows(batches)
        assert expected_rows([whole]) == counted, path.name  # the same rows either way
        out.append(
            Template(
                path=path,
                batches=[b.model_dump_json() for b in batches],
                whole=whole.model_dump_json(),
                rows=counted,
                span=batches[-1].summary.updated_at - T0,
            )
        )
    return out


def merged(batches: list[ProjectionBatch]) -> ProjectionBatch:
    """One batch holding every change of ``batches`` (the newest version of each row)."""
    last = batches[-1]

    def newest(items: list[Any], key: str) -> list[Any]:
        return list({getattr(i, key): i for i in items}.values())

    plans = [b.plan for b in batches if b.plan is not None]
    return ProjectionBatch(
        summary=last.summary,
        care_team=last.care_team,
        care_team_changed=True,
        events=newest([e for b in batches for e in b.events], "seq"),
        segments=newest([s for b in batches for s in b.segments], "index"),
        reassessments=newest([r for b in batches for r in b.reassessments], "reassessment_id"),
        tasks=newest([t for b in batches for t in b.tasks], "task_id"),
        plan=plans[-1] if plans else None,
    )


def expected_rows(batches: list[ProjectionBatch]) -> dict[str, int]:
    """Rows per table that writing ``batches`` (of any journeys) leaves in the read model."""
    keys: dict[str, set[Any]] = {t: set() for t in TABLES}
    teams: dict[str, int] = {}
    for b in batches:
        journey = b.summary.journey_id
        keys["journeys"].add(journey)
        if b.care_team_changed:
            teams[journey] = len(b.care_team.members)
        keys["loc_segments"] |= {(journey, r["index"]) for r in rows.segment_rows(b)}
        keys["reassessments"] |= {r["reassessment_id"] for r in rows.reassessment_rows(b)}
        keys["tasks"] |= {r["task_id"] for r in rows.task_rows(b)}
        keys["journey_events"] |= {(journey, r["seq"]) for r in rows.event_rows(b)}
        keys["plan_versions"] |= {(journey, r["version"]) for r in rows.plan_rows(b)}
        keys["notifications"] |= {r["idempotency_key"] for r in rows.notification_rows(b)}
    counts = {t: len(k) for t, k in keys.items()}
    counts["journey_members"] = sum(teams.values())
    return counts


def _staff(variant: int) -> dict[str, str]:
    """Care team ``variant``: team 0 is the template's, others name other staff (by pool)."""
    out = {}
    for name, pool in STAFF_POOLS.items():
        if pick := variant % pool:
            out[name] = f"{name.split('-')[0]}-{pick:02d}"
    return out


def render(
    template: Template, text: str, journey_id: str, variant: int, shift: timedelta
) -> ProjectionBatch:
    """A template's batch ``text`` as journey ``journey_id``'s: its id, team and times."""
    text = text.replace(TEMPLATE_ID, journey_id)
    for name, replacement in _staff(variant).items():
        text = text.replace(f'"{name}"', f'"{replacement}"')
    text = _STAMP.sub(
        lambda m: f'"{(datetime.fromisoformat(m.group(1)) + shift).isoformat()}"', text
    )
    return ProjectionBatch.model_validate_json(text)


@dataclass(frozen=True)
class Journey:
    """One journey of the program: its path, id, care team and where it sits in time."""

    index: int
    template: Template
    journey_id: str
    variant: int
    shift: timedelta  # added to the template's times

    def whole(self) -> ProjectionBatch:
        """Every change of the journey in one batch."""
        return render(self.template, self.template.whole, self.journey_id, self.variant, self.shift)

    def batches(self) -> list[ProjectionBatch]:
        """The batches the workflow sends for this journey, in order."""
        return [
            render(self.template, b, self.journey_id, self.variant, self.shift)
            for b in self.template.batches
        ]


def program(
    templates: list[Template], journeys: int, now: datetime, variants: int
) -> list[Journey]:
    """The program's journeys, the same for a given ``now``: paths in their shares, care teams
    among ``variants``, open journeys last changed within the day and ended ones within two
    years."""
    rng = random.Random(15)  # noqa: S311 (a benchmark's mix, not a secret)
    weights = [t.path.share for t in templates]
    out = []
    for index in range(journeys):
        template = rng.choices(templates, weights)[0]
        back = timedelta(days=rng.uniform(0, 1 if template.path.open else 730))
        shift = now - back - template.span - T0
        shift -= timedelta(microseconds=shift.microseconds)  # whole seconds, as SQL shifts them
        out.append(Journey(index, template, f"J-RS{index:07d}", rng.randrange(variants), shift))
    return out


@dataclass
class Written:
    """What was written, and how fast."""

    journeys: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    seeds: int = 0
    seed_seconds: float = 0.0
    copies: int = 0
    copy_seconds: float = 0.0
    sample: int = 0
    sample_batches: int = 0
    sample_seconds: float = 0.0
    sample_ms: list[float] = field(default_factory=list)


def split(
    plan: list[Journey], sample: int
) -> tuple[list[Journey], list[tuple[Journey, Journey]], list[Journey]]:
    """Seeds (the first journey of each path and team), copies of them, and the sample."""
    head, sampled = plan[: len(plan) - sample], plan[len(plan) - sample :]
    seeds: dict[tuple[str, int], Journey] = {}
    copies = []
    for j in head:
        seed = seeds.setdefault((j.template.path.name, j.variant), j)
        if seed is not j:
            copies.append((j, seed))
    return list(seeds.values()), copies, sampled


def apply_all(conn: Connection, batches: list[ProjectionBatch]) -> None:
    """Write ``batches`` in order in the caller's transaction, as the projection does."""
    for batch in batches:
        apply_batch(conn, batch)


async def write_program(
    engine: AsyncEngine,
    plan: list[Journey],
    sample: int,
    progress: Callable[[str], None],
    seconds: float = COPY_SECONDS,
) -> Written:
    """Write the journeys of ``plan``: seeds and sample through the projection, copies in SQL.

    Copying stops after the chunk that passes ``seconds``; the journeys not copied are left
    out (and out of the expected rows).
    """
    seeds, copies, sampled = split(plan, sample)
    out = Written(seeds=len(seeds), sample=len(sampled))
    started = time.perf_counter()
    for at in range(0, len(seeds), 50):
        batches = [j.whole() for j in seeds[at : at + 50]]
        async with engine.begin() as conn:
            await conn.run_sync(apply_all, batches)
    out.seed_seconds = time.perf_counter() - started
    progress(f"{len(seeds)} seed journeys projected in {out.seed_seconds:.0f} s")
    started = time.perf_counter()
    out.copies = await _copy(engine, copies, progress, time.monotonic() + seconds)
    out.copy_seconds = time.perf_counter() - started
    for j in [*seeds, *(j for j, _ in copies[: out.copies]), *sampled]:
        out.expected.update(j.template.rows)
        out.paths[j.template.path.name] += 1
    out.journeys = out.paths.total()
    started = time.perf_counter()
    writer = ProjectionWriter(engine)
    for j in sampled:
        for batch in j.batches():
            sent = time.perf_counter()
            await writer.apply(batch)
            out.sample_ms.append((time.perf_counter() - sent) * 1000)
    out.sample_batches = len(out.sample_ms)
    out.sample_seconds = time.perf_counter() - started
    progress(f"{len(sampled)} journeys, {out.sample_batches} batches one by one through the "
             f"worker's writer in {out.sample_seconds:.0f} s")  # fmt: skip
    return out


COPY_CHUNK = 2_000  # journeys copied per transaction
COPY_CACHE_KIB = 256 * 1024  # the copying connection's SQLite page cache


def _copy_statement(dialect: str, model: type[Base]) -> str:
    """INSERT ... SELECT writing a seed's rows again as its copies': ids and times moved."""
    table = cast(Table, model.__table__)
    names, exprs = [], []
    for column in table.columns:
        if column.autoincrement is True and column.primary_key:
            continue  # the database numbers it
        col = f's."{column.name}"'
        if isinstance(column.type, UtcDateTime):
            if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'
                col = (f"strftime('%Y-%m-%d %H:%M:%S', {col}, c.shift || ' seconds')"
                       f" || substr({col}, 20)")  # fmt: skip
            else:
                col = f"{col} + make_interval(secs => c.shift)"
        elif isinstance(column.type, JSON):
            col = (f"replace({col}, c.seed_id, c.journey_id)" if dialect == "sqlite"
                   else f"replace({col}::text, c.seed_id, c.journey_id)::json")  # fmt: skip
        elif isinstance(column.type, String | Text):
            col = f"replace({col}, c.seed_id, c.journey_id)"
        names.append(f'"{column.name}"')
        exprs.append(col)
    # Names from the table definitions only.
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(exprs)} "  # noqa: S608
        # CROSS JOIN: SQLite then loops over the copies and finds each seed's rows by index.
        f"FROM bench_copies AS c CROSS JOIN seed_{table.name} AS s WHERE s.journey_id = c.seed_id "
        "AND c.n >= :low AND c.n < :high ORDER BY c.n"
    )


async def _copy(
    engine: AsyncEngine,
    copies: list[tuple[Journey, Journey]],
    progress: Callable[[str], None],
    deadline: float,
) -> int:
    """Write the copies from their seeds' rows, table by table, in chunks of journeys, until
    ``deadline`` (``time.monotonic``); returns how many were copied."""
    dialect = engine.dialect.name
    statements = [_copy_statement(dialect, m) for m in PROJECTED]
    rows = [
        {"n": n, "journey_id": j.journey_id, "seed_id": seed.journey_id,
         "shift": int((j.shift - seed.shift).total_seconds())}
        for n, (j, seed) in enumerate(copies)
    ]  # fmt: skip
    async with engine.connect() as conn:
        if dialect == "sqlite":  # room for the indexes written out of order (recipient, time)
            await conn.exec_driver_sql(f"PRAGMA cache_size = -{COPY_CACHE_KIB}")
        await conn.execute(
            text("CREATE TEMPORARY TABLE bench_copies "
                 "(n INTEGER PRIMARY KEY, journey_id TEXT, seed_id TEXT, shift INTEGER)")
        )  # fmt: skip
        await conn.execute(
            text("INSERT INTO bench_copies VALUES (:n, :journey_id, :seed_id, :shift)"), rows
        )
        for table in TABLES:  # the seeds' rows apart: no table is read while written
            await conn.execute(text(
                f"CREATE TEMPORARY TABLE seed_{table} AS SELECT * FROM {table} "  # noqa: S608
                "WHERE journey_id IN (SELECT seed_id FROM bench_copies)"))  # fmt: skip
            await conn.execute(text(f"CREATE INDEX ix_seed_{table} ON seed_{table} (journey_id)"))
        await conn.commit()
        started = time.perf_counter()
        done = 0
        for low in range(0, len(copies), COPY_CHUNK):
            if time.monotonic() > deadline:
                progress(f"copying stopped at {done:,} journeys (BENCH_READ_SECONDS)")
                break
            for statement in statements:
                await conn.execute(text(statement), {"low": low, "high": low + COPY_CHUNK})
            await conn.commit()
            done = min(len(copies), low + COPY_CHUNK)
            progress(f"{done:,} of {len(copies):,} journeys copied "
                     f"({done / (time.perf_counter() - started):.0f}/s)")  # fmt: skip
        for table in ("bench_copies", *(f"seed_{t}" for t in TABLES)):
            await conn.execute(text(f"DROP TABLE {table}"))
        await conn.commit()
    return done


async def table_sizes(engine: AsyncEngine) -> dict[str, dict[str, int]]:
    """Rows and bytes (table and its indexes) of each projected table, and the whole database.

    SQLite: pages counted by ``dbstat`` after a checkpoint; PostgreSQL: ``pg_total_relation_size``.
    """
    out: dict[str, dict[str, int]] = {}
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            by_table = await _sqlite_bytes(conn)
            total = sum(by_table.values())
        else:
            by_table = Counter()
            for table in TABLES:
                size = await conn.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table})
                by_table[table] = int(size or 0)
            size = await conn.scalar(text("SELECT pg_database_size(current_database())"))
            total = int(size or 0)
        for table in TABLES:
            count = await conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            out[table] = {"rows": int(count or 0), "bytes": by_table[table]}
    out["database"] = {"rows": sum(t["rows"] for t in out.values()), "bytes": total}
    return out


async def _sqlite_bytes(conn: AsyncConnection) -> Counter[str]:
    """Bytes of the pages of each table and its indexes (``dbstat``), after a checkpoint."""
    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    names = await conn.exec_driver_sql(
        "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
    )
    listed: list[Any] = list(names.all())
    owner: dict[str, str] = {str(r[0]): str(r[1]) for r in listed}
    pages = await conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
    by_table: Counter[str] = Counter()
    counted: list[Any] = list(pages.all())
    for row in counted:
        by_table[owner.get(str(row[0]), str(row[0]))] += int(row[1])
    return by_table


async def page_times(engine: AsyncEngine, rounds: int = TIMED_ROUNDS) -> dict[str, float]:
    """p50/p95 ms of the list page, the filtered page and the board (operations, clinician).

    The pages are the scale phase's: the 50 newest journeys, and phase intake with member
    th-chen, 50 rows from offset 100. The board is what ``api.routers.board.board_for`` asks:
    counts by phase and level of care, then open tasks due by the end of tomorrow (every
    journey for operations, th-chen's care teams for a clinician).
    """
    queries = JourneyQueries(sessionmaker(engine))

    async def board(member: str | None) -> None:
        now, days = ProgramCalendar().days()
        await queries.counts_by_phase_and_loc(member=member)
        bucket(await queries.open_tasks_due_before(days.start_of_day_after, member=member),
               now, days)  # fmt: skip

    pages: dict[str, Callable[[], Awaitable[object]]] = {
        "list": lambda: queries.list_journeys(limit=50),
        "filtered": lambda: queries.list_journeys(
            phase=Phase.INTAKE, member=PRIMARY, limit=50, offset=100
        ),
        "board": lambda: board(None),
        "board clinician": lambda: board(PRIMARY),
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    deadline = time.monotonic() + TIMING_SECONDS
    for _ in range(rounds):
        for name, page in pages.items():
            started = time.perf_counter()
            await page()
            times[name].append((time.perf_counter() - started) * 1000)
        if time.monotonic() > deadline:
            break
    out = {"rounds": float(len(times["list"]))}
    for name, values in times.items():
        out[f"{name} p50 ms"] = percentile(values, 50)
        out[f"{name} p95 ms"] = percentile(values, 95)
    return out


async def measure(
    url: str,
    journeys: int,
    sample: int,
    progress: Callable[[str], None] = print,
    *,
    variants: int = 20,
    rounds: int = TIMED_ROUNDS,
    templates: list[Template] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole phase on the (migrated, empty) read model at ``url``; figures for the report.

    Args:
        url: the read model's database.
        journeys: how many journeys the program holds.
        sample: how many of them (the last) are written batch by batch through the writer.
        progress: where progress lines go.
        variants: how many care teams the journeys are spread over.
        rounds: how many times each page is timed (at most; a minute bounds it too).
        templates: the paths driven already (``build_templates``), if the caller has them.
        now: the moment the program is seen at (default: now); the same ``now`` gives the same
            journeys.
    """
    started = time.perf_counter()
    templates = templates or build_templates()
    now = now or datetime.now(UTC).replace(microsecond=0)
    plan = program(templates, journeys, now, variants)
    progress(f"{len(templates)} paths driven through the engine in "
             f"{time.perf_counter() - started:.0f} s; writing {journeys:,} journeys")  # fmt: skip
    engine = create_engine(url)
    try:
        written = await write_program(engine, plan, sample, progress)
        sizes = await table_sizes(engine)
        progress(f"read model {sizes['database']['bytes'] / 2**20:,.0f} MiB, "
                 f"{sizes['database']['rows']:,} rows; timing pages")  # fmt: skip
        pages = await page_times(engine, rounds)
    finally:
        await engine.dispose()
    return {"tables": sizes, "pages": pages, **_written(written),
            "seconds": time.perf_counter() - started}  # fmt: skip


def _written(w: Written) -> dict[str, Any]:
    """The report's figures of what was written."""
    return {
        "journeys": w.journeys, "paths": dict(w.paths), "expected_rows": dict(w.expected),
        "seeds": w.seeds, "seed_seconds": w.seed_seconds,
        "copies": w.copies, "copy_seconds": w.copy_seconds,
        "sample_journeys": w.sample, "sample_batches": w.sample_batches,
        "sample_batches_per_s": w.sample_batches / w.sample_seconds if w.sample_seconds else 0.0,
        "sample_p50_ms": percentile(w.sample_ms, 50),
        "sample_p95_ms": percentile(w.sample_ms, 95),
    }  # fmt: skip


def grown(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, Any]:
    """What was added between two ``table_sizes``: rows and bytes per table and in all."""
    return {
        name: {k: after[name][k] - before.get(name, {}).get(k, 0) for k in ("rows", "bytes")}
        for name in after
    }
