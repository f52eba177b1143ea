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
        floor_ms=[8.0] * 99 + [20.0],
        latency_rate=25.0,
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
    assert "| admission at least 0.5 of the baseline | 0.26 | **missed** |" in text
    assert "| command-to-feed p50 at most 20 ms | 10.0 ms | met |" in text
    assert "| command-to-feed p99 at most 60 ms | 70.0 ms | **missed** |" in text
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
