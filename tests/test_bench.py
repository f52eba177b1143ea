"""The benchmark's own arithmetic and report (the measurements themselves run in make bench)."""

from pathlib import Path

from bench.report import write_report
from bench.run import Results
from bench.stats import percentile, spread


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
        latency_rate=25.0,
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
                "start_rate": 50.0,
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
    assert "| admission / baseline | 0.26 | >= 0.5: **missed** |" in text
    assert "p50 | 10.0 ms | <= 20 ms: met |" in text
    assert "| p99 | 70.0 ms | <= 60 ms: **missed** |" in text
    assert "| 0 | 337 (337) | 150 | 10.0 | met |" in text
    assert "| 1000 | 50.0 | 300 (320) | 3.0 | 2.0 / 4.0 | met |" in text
    assert "make bench" in text
