"""The cost of growth: the measured figures of a run, and a program of 1,000 to 1,000,000 clients.

Pure arithmetic over ``Results`` (no I/O), shared by the report (docs/benchmarks.md) and the
explanation in docs/scaling.md. Every derived figure is a measured one times a stated
assumption; the assumptions are the constants below.
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run import Results

SIZES = (1_000, 100_000, 1_000_000)
MONTH_S = 30 * 24 * 3600
# A client's journey is the cost phase's standard one with this many extra staff commands over
# its fifteen months (100: about one instrument or note every four days).
TYPICAL_EXTRA = 100
JOURNEY_MONTHS = 15
# Commands arrive in working hours (about 176 of 720 hours a month) and in bursts: the peak
# second carries this many times the month's average rate.
PEAK_FACTOR = 10.0
# Each admission is three commands (start, assessment, decision) answered after projection.
COMMANDS_PER_ADMISSION = 3


@dataclass(frozen=True)
class Measured:
    """The per-journey figures a program's size is derived from (None: not measured)."""

    actions_per_month: float | None
    updates_per_month: float | None
    history_bytes_per_month: float | None
    projection_rows_per_month: float | None
    projection_bytes_per_month: float | None
    read_bytes_per_journey: float | None
    read_rows_per_journey: float | None
    kib_per_cached_journey: float | None
    worker_commands_per_s: float | None
    writer_batches_per_s: float | None


def _typical_run(r: "Results") -> dict[str, Any] | None:
    runs = r.cost.get("runs", [])
    return next((run for run in runs if run["extra_commands"] == TYPICAL_EXTRA), None)


def kib_per_cached_journey(r: "Results") -> float | None:
    """Worker RSS growth per journey while all fit the cache (scale phase: 1 to 1,000 open)."""
    by_size = {s["journeys"]: s["worker_rss_mib"] for s in r.scale}
    cached = [n for n in by_size if 1 < n <= r.cache_size]
    if 1 not in by_size or not cached:
        return None
    top = max(cached)
    return float((by_size[top] - by_size[1]) * 1024 / (top - 1))


def measured(r: "Results") -> Measured:
    """What a run measured, per journey."""
    run = _typical_run(r)
    months = float(JOURNEY_MONTHS)
    grown = run.get("read_model", {}) if run else {}
    scale = r.read_scale.get("tables", {})
    journeys = r.read_scale.get("journeys", 0)
    admission = sorted(r.admission_jps)[len(r.admission_jps) // 2] if r.admission_jps else None
    writer = r.read_scale.get("sample_batches_per_s")
    return Measured(
        actions_per_month=run["actions_per_month"] if run else None,
        updates_per_month=run["actions"].get("updates", 0) / months if run else None,
        history_bytes_per_month=run["history_bytes"] / months
        if run and "history_bytes" in run
        else None,
        projection_rows_per_month=grown["database"]["rows"] / months if grown else None,
        projection_bytes_per_month=grown["database"]["bytes"] / months if grown else None,
        read_bytes_per_journey=scale["database"]["bytes"] / journeys if journeys else None,
        read_rows_per_journey=scale["database"]["rows"] / journeys if journeys else None,
        kib_per_cached_journey=kib_per_cached_journey(r),
        worker_commands_per_s=admission * COMMANDS_PER_ADMISSION if admission else None,
        writer_batches_per_s=writer or None,
    )


def program(m: Measured, clients: int) -> dict[str, float | None]:
    """A program of ``clients`` open journeys, per month and at its peak second."""

    def times(per_journey: float | None) -> float | None:
        return None if per_journey is None else per_journey * clients

    peak = None
    if m.updates_per_month is not None:
        peak = m.updates_per_month * clients / MONTH_S * PEAK_FACTOR
    workers = None
    if peak is not None and m.worker_commands_per_s:
        workers = float(max(1, math.ceil(peak / m.worker_commands_per_s)))
    return {
        "actions per month": times(m.actions_per_month),
        "history bytes per month": times(m.history_bytes_per_month),
        "read-model rows per month": times(m.projection_rows_per_month),
        "read-model bytes per month": times(m.projection_bytes_per_month),
        "read-model bytes (program mix)": times(m.read_bytes_per_journey),
        "commands per second at peak": peak,
        "worker processes for the peak": workers,
        "share of one SQLite writer at peak": peak / m.writer_batches_per_s
        if peak is not None and m.writer_batches_per_s
        else None,
        "worker memory to cache every open journey, bytes": None
        if m.kib_per_cached_journey is None
        else m.kib_per_cached_journey * 1024 * clients,
    }


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "B":
        for size, name in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if value >= size:
                return f"{value / size:,.1f} {name}"
        return f"{value:,.0f} B"
    if unit == "%":
        return f"{value * 100:,.1f} %"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def growth_lines(r: "Results") -> list[str]:
    """The report's section: the measured per-journey figures and the three program sizes."""
    m = measured(r)
    units = {"history bytes per month": "B", "read-model bytes per month": "B",
             "read-model bytes (program mix)": "B", "share of one SQLite writer at peak": "%",
             "worker memory to cache every open journey, bytes": "B"}  # fmt: skip
    rows = {size: program(m, size) for size in SIZES}
    per_journey = [
        ("Temporal actions per journey-month (cost phase)", _fmt(m.actions_per_month)),
        ("staff commands (updates) per journey-month (cost phase)", _fmt(m.updates_per_month)),
        ("history bytes per journey-month (cost phase)", _fmt(m.history_bytes_per_month, "B")),
        ("read-model rows per journey-month (cost phase)", _fmt(m.projection_rows_per_month)),
        ("read-model bytes per journey-month (cost phase)",
         _fmt(m.projection_bytes_per_month, "B")),
        ("read-model bytes per journey, program mix (read model phase)",
         _fmt(m.read_bytes_per_journey, "B")),
        ("worker memory per cached journey, KiB (scale phase, 1 to 1,000 open)",
         _fmt(m.kib_per_cached_journey)),
        ("commands per second one worker takes (admission x 3)", _fmt(m.worker_commands_per_s)),
        ("projection batches per second, one SQLite writer (read model phase)",
         _fmt(m.writer_batches_per_s)),
    ]  # fmt: skip
    lines = [
        "",
        "## Growth (derived)",
        "",
        "Arithmetic over the figures above (explained in [scaling.md](scaling.md)): a client is",
        f"one open journey, the standard one with {TYPICAL_EXTRA} extra staff commands over its",
        f"{JOURNEY_MONTHS} months; commands peak at {PEAK_FACTOR:g} times the month's average",
        "rate; a worker takes the admission phase's commands per second.",
        "",
        *(f"- {name}: {value}" for name, value in per_journey),
        "",
        "| per month, or at the peak | " + " | ".join(f"{s:,} clients" for s in SIZES) + " |",
        "|---|" + "---|" * len(SIZES),
    ]
    for name in rows[SIZES[0]]:
        cells = " | ".join(_fmt(rows[s][name], units.get(name, "")) for s in SIZES)
        lines.append(f"| {name.replace(', bytes', '')} | {cells} |")
    return lines


def cost_lines(r: "Results") -> list[str]:
    """History bytes and read-model growth of each cost-phase journey, per journey-month."""
    runs = [run for run in r.cost.get("runs", []) if "read_model" in run]
    if not runs:
        return []
    lines = [
        "",
        "### History and read model per journey-month",
        "",
        f"The cost phase's journeys ({JOURNEY_MONTHS} months each): their histories as stored",
        "(every event, payloads encrypted) and what their projections added to the read model",
        "(SQLite, pages of each table and its indexes, `dbstat`).",
        "",
        "| extra commands | history bytes (per month) | read-model rows (per month) | "
        "read-model bytes (per month) | rows by table |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        grown = run["read_model"]
        total = grown["database"]
        tables = ", ".join(f"{k} {v['rows']}" for k, v in grown.items() if k != "database")
        history, months = run.get("history_bytes", 0), JOURNEY_MONTHS
        lines.append(
            f"| {run['extra_commands']} | {_fmt(history, 'B')} ({_fmt(history / months, 'B')}) "
            f"| {total['rows']} ({total['rows'] / months:.1f}) | {_fmt(total['bytes'], 'B')} "
            f"({_fmt(total['bytes'] / months, 'B')}) | {tables} |"
        )
    return lines


def read_scale_lines(r: "Results") -> list[str]:
    """The read model at 100,000 journeys: rows and bytes per table, page times, the writer."""
    s = r.read_scale
    if not s:
        return []
    n = s["journeys"]
    lines = [
        "",
        f"## Read model at {n:,} journeys",
        "",
        f"{n:,} journeys in the program's mix ({_mix(s)}), care teams spread over 20 teams",
        "(th-chen is the therapist of one in twenty), written by the projection code "
        "(`bench/readscale.py`):",
        f"{s['seeds']} journeys, one of each path and team, through `apply_batch` (their whole "
        f"path in one batch); {s['copies']:,} copies of them in SQL (ids and times moved; the test",
        "checks a copy's rows are the rows `apply_batch` writes for it); the last "
        f"{s['sample_journeys']} batch by batch through the worker's `ProjectionWriter`.",
        "",
        "| table | rows | rows per journey | bytes (with indexes) | bytes per journey | "
        "bytes per row |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in s["tables"].items():
        per_row = t["bytes"] / t["rows"] if t["rows"] else 0.0
        lines.append(
            f"| {name} | {t['rows']:,} | {t['rows'] / n:.1f} | {_fmt(t['bytes'], 'B')} | "
            f"{_fmt(t['bytes'] / n, 'B')} | {per_row:.0f} |"
        )
    p = s["pages"]
    lines += [
        "",
        f"| at {n:,} journeys ({p['rounds']:.0f} rounds) | p50 ms | p95 ms |",
        "|---|---|---|",
    ]
    for name in ("list", "filtered", "board", "board clinician"):
        lines.append(f"| {name} | {p[f'{name} p50 ms']:.1f} | {p[f'{name} p95 ms']:.1f} |")
    lines += [
        f"| projection batch through the worker's writer ({s['sample_batches']:,} batches, "
        f"{s['sample_batches_per_s']:.0f}/s) | {s['sample_p50_ms']:.1f} | "
        f"{s['sample_p95_ms']:.1f} |",
        "",
        "The list page: 50 newest journeys; the filtered page: phase `intake`, member `th-chen`,",
        "50 rows from offset 100 (as in the scale phase); the board: what `GET /board` asks",
        "(counts by phase and level of care, open work due by tomorrow) for operations and for",
        "th-chen.",
    ]
    return lines


def _mix(s: dict[str, Any]) -> str:
    paths: dict[str, int] = s["paths"]
    ranked = sorted(paths.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} {v * 100 / s['journeys']:.0f} %" for k, v in ranked)
