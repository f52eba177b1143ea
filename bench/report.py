"""Write docs/benchmarks.md (tables with the command that produced them) and a PNG plot."""

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl

from bench.stats import percentile, spread

mpl.use("Agg")
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from bench.run import Results


def _target(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_report(results: "Results", docs: Path) -> None:
    """The markdown report and its plot."""
    docs.mkdir(parents=True, exist_ok=True)
    _plot(results, docs / "benchmarks.png")
    (docs / "benchmarks.md").write_text(_markdown(results), encoding="utf-8")


def _markdown(r: "Results") -> str:
    base = statistics.median(r.baseline_wps) if r.baseline_wps else 0.0
    admit = statistics.median(r.admission_jps) if r.admission_jps else 0.0
    ratio = admit / base if base else 0.0
    lat = r.latencies_ms
    p50, p95, p99 = (percentile(lat, p) for p in (50, 95, 99))
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`) on the embedded dev server (SQLite",
        "persistence) with the SQLite read model, "
        f"{r.started}, on {r.machine}. The machine is shared and noisy: throughput is",
        "reported as a ratio to a baseline measured in the same run, absolute figures as",
        f"median (min-max) over {len(r.baseline_wps)} rounds.",
        "",
        "![benchmarks](benchmarks.png)",
        "",
        "## Throughput and latency",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        "| baseline: bare workflow + one no-op activity, workflows/s | "
        f"{spread(r.baseline_wps)} | - |",
        f"| admission: start + assessment + decision + feed rows, journeys/s | "
        f"{spread(r.admission_jps)} | - |",
        f"| admission / baseline | {ratio:.2f} | >= 0.5: {_target(ratio >= 0.5)} |",
        f"| command-to-feed latency, {len(lat)} decisions at {r.latency_rate:.1f}/s: p50 | "
        f"{p50:.1f} ms | <= 20 ms: {_target(p50 <= 20)} |",
        f"| p95 | {p95:.1f} ms | - |",
        f"| p99 | {p99:.1f} ms | <= 60 ms: {_target(p99 <= 60)} |",
        "",
        "Latency is measured from sending the decision until its notification row is read back",
        "from the read model. Every command answers only after its projection (a local activity",
        "in the same workflow task) has been written, so the row is there when the update returns.",
        "",
        "## Cost of a journey",
        "",
        "The standard fifteen-month journey (intake, 3.7-WM, 3.5 with weekly reviews, 2.1, 1,",
        "nine aftercare check-ins, completion) on the time-skipping test server, with extra staff",
        "commands (instrument scores) during treatment. Actions as Temporal counts them: starts,",
        "activities, local activities, timers, signals, updates, search-attribute upserts,",
        "continue-as-new, and the queries the driver sent.",
        "",
        "| extra commands | history events (per run) | actions | actions per journey-month | "
        "under 4,096 events per run |",
        "|---|---|---|---|---|",
    ]
    for run in r.cost.get("runs", []):
        per_run = ", ".join(str(n) for n in run["events_per_run"])
        ok = max(run["events_per_run"]) < 4096
        lines.append(
            f"| {run['extra_commands']} | {run['events_total']} ({per_run}) | "
            f"{run['actions_total']} | {run['actions_per_month']:.1f} | {_target(ok)} |"
        )
    if r.cost.get("runs"):
        lines += ["", "Actions of the standard journey (no extra commands):", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(r.cost["runs"][0]["actions"].items())]
    lines += [
        "",
        "## Scale",
        "",
        "Open journeys (each with its intake timer) held by one worker process",
        "(`python worker.py`, workflow cache bounded at 2,000), started 50 at a time.",
        "",
        "| open journeys | starts/s | worker RSS MiB (peak) | list page p95 ms | "
        "filtered page p50 / p95 ms | target (p95 < 50 ms, RSS < 1 GiB) |",
        "|---|---|---|---|---|---|",
    ]
    for s in r.scale:
        ok = s["filtered_p95_ms"] < 50 and s["worker_peak_mib"] < 1024
        lines.append(
            f"| {s['journeys']} | {s['start_rate']:.1f} | {s['worker_rss_mib']:.0f} "
            f"({s['worker_peak_mib']:.0f}) | {s['list_p95_ms']:.1f} | "
            f"{s['filtered_p50_ms']:.1f} / {s['filtered_p95_ms']:.1f} | {_target(ok)} |"
        )
    lines += [
        "",
        "The filtered page: phase `intake`, member `th-chen`, 50 rows from offset 100.",
        "",
        "## API under load",
        "",
        "`journeys api` in its own process over the scale run's journeys; requests from a second",
        "process (`python -m bench.load`), 8 in flight, bounded in count.",
        "",
        "| endpoint | requests | failures | requests/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, a in r.api.items():
        lines.append(
            f"| {name} | {a['requests']:.0f} | {a['failures']:.0f} | {a['rps']:.1f} | "
            f"{a['p50_ms']:.1f} | {a['p95_ms']:.1f} |"
        )
    if r.failures:
        lines += ["", "## Phases that failed", ""]
        lines += [f"- {k}: {v}" for k, v in r.failures.items()]
    lines += ["", "## Time taken", ""]
    lines += [f"- {k}: {v:.0f} s" for k, v in r.seconds.items()]
    return "\n".join(lines) + "\n"


def _plot(r: "Results", path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    medians = [statistics.median(v) if v else 0.0 for v in (r.baseline_wps, r.admission_jps)]
    axes[0].bar(["baseline", "admission"], medians)
    axes[0].set_title("Throughput (per second, median)")
    lat = r.latencies_ms
    axes[1].bar(["p50", "p95", "p99"], [percentile(lat, p) for p in (50, 95, 99)])
    axes[1].axhline(20, linestyle="--", color="grey")
    axes[1].axhline(60, linestyle=":", color="grey")
    axes[1].set_title("Command-to-feed latency (ms)")
    if r.scale:
        xs = [s["journeys"] for s in r.scale]
        axes[2].plot(
            xs, [s["filtered_p95_ms"] for s in r.scale], marker="o", label="filtered p95 ms"
        )
        axes[2].plot(xs, [s["worker_peak_mib"] / 10 for s in r.scale], marker="s",
                     label="worker peak MiB / 10")  # fmt: skip
        axes[2].legend()
    axes[2].set_title("Scale (open journeys)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
