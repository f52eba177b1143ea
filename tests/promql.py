"""Read the operator's kit (ops/): its PromQL expressions, the metric names they use, and the
names a Prometheus text scrape exports. A small checker, not a PromQL parser: it finds
unbalanced brackets, unknown functions and the metric names the kit relies on."""

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "ops" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "recovery-journeys.json"

FUNCTIONS = frozenset(
    {"rate", "increase", "irate", "histogram_quantile", "absent", "time", "clamp_min",
     "sum", "max", "min", "avg", "count", "topk"}
)  # fmt: skip
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
     "unless", "offset", "inf", "nan"}
)  # fmt: skip
# Series Prometheus itself makes for every target.
PROMETHEUS_SERIES = frozenset({"up"})
_PAIRS = {")": "(", "]": "[", "}": "{"}
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def alert_expressions() -> dict[str, str]:
    """Every alert rule's expression, by alert name."""
    rules: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return {
        rule["alert"]: str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]
    }


def dashboard_expressions() -> dict[str, str]:
    """Every dashboard query, by panel title and query id."""
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return {
        f"{panel['title']} {target['refId']}": str(target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }


def problems(expr: str) -> list[str]:
    """What is wrong with an expression's brackets, quotes or function names (empty: fine)."""
    found: list[str] = []
    if expr.count('"') % 2:
        found.append("unbalanced quotes")
    stack: list[str] = []
    for char in re.sub(r'"[^"]*"', '""', expr):
        if char in "([{":
            stack.append(char)
        elif char in _PAIRS and (not stack or stack.pop() != _PAIRS[char]):
            found.append(f"unbalanced {char!r}")
    if stack:
        found.append(f"unclosed {stack[-1]!r}")
    for name in _calls(expr):
        if name not in FUNCTIONS:
            found.append(f"unknown function {name!r}")
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads."""
    bare = _bare(expr)
    names = {m.group() for m in _NAME.finditer(bare)}
    return names - _calls(expr) - KEYWORDS


def exported_names(scrape: str) -> set[str]:
    """Every family and sample name in a Prometheus text scrape."""
    names: set[str] = set()
    for line in scrape.splitlines():
        if line.startswith(("# TYPE ", "# HELP ")):
            names.add(line.split()[2])
        elif line and not line.startswith("#") and (name := _NAME.match(line)):
            names.add(name.group())
    return names


def _calls(expr: str) -> set[str]:
    bare = _bare(expr)
    return {m.group(1) for m in re.finditer(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*\(", bare)}


def _bare(expr: str) -> str:
    """The expression without strings, label matchers, ranges, grouping clauses and numbers."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
    return re.sub(r"\b\d+(\.\d+)?\b", "", text)
