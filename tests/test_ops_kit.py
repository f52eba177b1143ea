"""The operator's kit (ops/): Prometheus configuration, alert rules and the Grafana dashboard
parse, and every expression is well formed. That every metric they name is exported is
checked against live processes in tests/integration/test_metrics.py."""

import json
from typing import Any

import yaml

from tests.promql import (
    ALERTS,
    DASHBOARD,
    ROOT,
    alert_expressions,
    dashboard_expressions,
    metric_names,
    problems,
)

# The alerts the operators asked for, each on the metric it must watch.
EXPECTED_ALERTS = {
    "JourneysDeadLetters": "journeys_dead_letters",
    "JourneysProjectionLagHigh": "journeys_projection_lag_seconds_bucket",
    "JourneysWorkflowTaskFailures": "temporal_workflow_task_execution_failed",
    "JourneysOverdueUrgentWork": "journeys_overdue_tasks",
    "JourneysWorkerNotPolling": "temporal_num_pollers",
    "JourneysWorkerDown": "up",
}


def test_alert_rules_cover_the_operators_signals_with_well_formed_expressions() -> None:
    expressions = alert_expressions()
    for alert, metric in EXPECTED_ALERTS.items():
        assert metric in metric_names(expressions[alert]), alert
    rules: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert rule["for"].endswith("m"), rule["alert"]
    for alert, expr in expressions.items():
        assert problems(expr) == [], (alert, expr)


def test_dashboard_queries_are_well_formed_and_use_the_provisioned_datasource() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "recovery-journeys"
    datasource = yaml.safe_load(
        (ROOT / "ops/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    queries = dashboard_expressions()
    assert len(queries) >= 15
    for name, expr in queries.items():
        assert problems(expr) == [], (name, expr)
        assert metric_names(expr), name
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
    # Panels never overlap on the grid.
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, panel["title"]
        cells |= mine


def test_the_checker_catches_what_it_should() -> None:
    assert problems("sum(rate(x_total[5m])") == ["unclosed '('"]
    assert problems("rates(x_total[5m])") == ["unknown function 'rates'"]
    assert problems('up{job="a} == 0') != []
    assert metric_names(
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{k="v(1)"}[5m]))) > 60 or absent(b)'
    ) == {"a_bucket", "b"}
