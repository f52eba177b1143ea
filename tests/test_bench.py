"""The benchmark's own arithmetic and report (the measurements themselves run in make bench)."""

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bench import readscale
from bench.report import write_report
from bench.run import Results
from bench.stats import percentile, spread
from readmodel.db import create_engine
from readmodel.migrate import migrate


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0
    assert spread([3.0, 1.0, 2.0]) == "2.0 (1.0-3.0)"


def test_report_states_each_target_and_its_outcome(tmp_path: Path) -> None:
    results = Results(
        started="2026-11-22 10:00 UTC",
        machine="Linux x86_64, 2 cores",
        baseline_wps=[40.0, 42.0, 44.0],
        admission_jps=[10.0, 11.0, 12.0],
        latencies_ms=[10.0] * 98 + [70.0, 80.0],
        floor_ms=[8.0] * 99 + [20.0],
        latency_rate=25.0,
        floor_rounds=[[10.0] * 100, [10.0] * 100, [10.0] * 100],
        latency_rounds=[[11.0] * 100, [12.0] * 98 + [70.0, 80.0], [10.5] * 98 + [20.0, 20.0]],
        command="BENCH_JOURNEYS=1000 make bench",
        cache_size=1000,
        cost={
            "runs": [
                {
                    "extra_commands": 0,
                    "events_per_run": [337],
                    "events_total": 337,
                    "actions": {"updates": 40},
                    "actions_total": 150,
                    "actions_per_month": 10.0,
                }
            ]
        },
        scale=[
            {
                "journeys": 1000,
                "taken_in_per_s": 50.0,
                "worker_rss_mib": 300.0,
                "worker_peak_mib": 320.0,
                "list_p95_ms": 3.0,
                "filtered_p50_ms": 2.0,
                "filtered_p95_ms": 4.0,
            }
        ],
        api={
            "board": {"requests": 400, "failures": 0, "rps": 100.0, "p50_ms": 50.0, "p95_ms": 90.0}
        },
        seconds={"baseline": 12.0},
    )
    write_report(results, tmp_path)
    text = (tmp_path / "benchmarks.md").read_text()
    assert (tmp_path / "benchmarks.png").read_bytes().startswith(b"\x89PNG")
    # Each round against its own baseline or floor; the median round decides, all are shown.
    assert (
        "| admission at least 0.55 of the baseline | 0.262 (rounds 0.250-0.273) | **missed** |"
        in text
    )
    assert (
        "| command-to-feed p50 at most 1.15x the floor | 1.100 (rounds 1.050-1.200) | met |" in text
    )
    assert (
        "| command-to-feed p99 at most 1.3x the floor | 2.000 (rounds 1.100-7.000) | **missed** |"
        in text
    )
    assert "| 2 | 42.0 | 11.0 | 0.26 | 10.0 / 10.0 | 12.0 / 70.0 | 1.20 | 7.00 |" in text
    assert "| every run under 4,096 history events | largest run 337 events | met |" in text
    # Figures taken short of 10,000 journeys do not meet the 10,000-journey targets.
    assert "| peak 320 MiB at 1,000 open journeys | **missed** |" in text
    assert "| 4.0 ms at 1,000 open journeys | **missed** |" in text
    assert "| command-to-feed above the floor: p50 / p99 | +2.0 / +62.0 ms |" in text
    assert "| 0 | 337 (337) | 150 | 10.0 | met |" in text
    assert "| 1000 | 50.0 | 300 (320) | 3.0 | 2.0 / 4.0 |" in text
    assert "Produced by `BENCH_JOURNEYS=1000 make bench`" in text
    assert "cache bounded at 1,000" in text
    assert "- total: 12 s" in text


def test_report_of_a_run_without_measurements_says_so(tmp_path: Path) -> None:
    write_report(Results(failures={"latency": "RuntimeError: boom"}), tmp_path)
    text = (tmp_path / "benchmarks.md").read_text()
    assert text.count("| not measured |") == 6
    assert "- latency: RuntimeError: boom" in text


async def test_read_scale_counts_the_rows_the_projection_writes(tmp_path: Path) -> None:
    """The read-model phase at 200 journeys: the rows it reports are the projection's rows.

    Its journeys are written three ways (seeds through ``apply_batch``, copies of them in SQL,
    a sample batch by batch through the worker's writer); every count must be what the
    projection's batches for those journeys make, and a copied journey's rows must be the very
    rows ``apply_batch`` writes for it.
    """
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    templates = readscale.build_templates()
    url = f"sqlite+aiosqlite:///{tmp_path / 'scale.db'}"
    await migrate(url)
    figures = await readscale.measure(
        url, 200, 10, lambda _: None, variants=3, rounds=2, templates=templates, now=now
    )
    plan = readscale.program(templates, 200, now, 3)
    seeds, copies, sampled = readscale.split(plan, 10)
    assert (len(seeds), len(copies), len(sampled)) == (
        figures["seeds"],
        figures["copies"],
        figures["sample_journeys"],
    )
    assert len(copies) > 100
    batches = [j.whole() for j in plan[:190]] + [b for j in sampled for b in j.batches()]
    expected = readscale.expected_rows(batches)
    assert {t: figures["tables"][t]["rows"] for t in readscale.TABLES} == expected
    assert figures["expected_rows"] == expected
    assert figures["sample_batches"] == len(batches) - 190
    assert all(figures["tables"][t]["bytes"] > 0 for t in readscale.TABLES)
    # One copy of each path, written again through the projection into a second database.
    one_each = {j.template.path.name: j for j, _ in copies}
    reference = f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}"
    await migrate(reference)
    engine = create_engine(reference)
    async with engine.begin() as conn:
        await conn.run_sync(readscale.apply_all, [j.whole() for j in one_each.values()])
    await engine.dispose()
    ids = [j.journey_id for j in one_each.values()]
    assert _rows(tmp_path / "scale.db", ids) == _rows(tmp_path / "reference.db", ids)
    # The report states the counted rows, per table and per journey.
    write_report(Results(read_scale=figures), tmp_path)
    report = (tmp_path / "benchmarks.md").read_text()
    events = expected["journey_events"]
    assert f"| journey_events | {events:,} | {events / 200:.1f} |" in report
    assert "## Read model at 200 journeys" in report


def _rows(path: Path, journey_ids: list[str]) -> dict[str, list[tuple[object, ...]]]:
    """Every projected row of these journeys, by table (notification ids left out)."""
    marks = ", ".join("?" * len(journey_ids))
    with contextlib.closing(sqlite3.connect(path)) as db:
        out = {}
        for table in readscale.TABLES:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
            listed = ", ".join(f'"{c}"' for c in columns)
            query = f"SELECT {listed} FROM {table} WHERE journey_id IN ({marks})"
            out[table] = sorted(db.execute(query, journey_ids).fetchall(), key=repr)
        return out
