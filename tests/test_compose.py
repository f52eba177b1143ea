"""docker-compose.yml describes the production shape (no Docker engine runs here to start it)."""

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_has_the_production_services_with_health_checks() -> None:
    services = _compose()["services"]
    assert {
        "temporal-db",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "readmodel-db",
        "worker",
        "api",
    } <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert service["healthcheck"]["test"], name
        if name != "temporal-setup":
            assert service["healthcheck"]["test"] != ["NONE"], name


def test_temporal_runs_on_postgresql() -> None:
    services = _compose()["services"]
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    assert temporal["environment"]["DB"].startswith("postgres")
    assert temporal["environment"]["POSTGRES_SEEDS"] == "temporal-db"
    assert services["temporal-db"]["image"].startswith("postgres:")
    assert "temporal operator cluster health" in " ".join(temporal["healthcheck"]["test"])
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_databases_report_health_with_pg_isready() -> None:
    services = _compose()["services"]
    for name in ("temporal-db", "readmodel-db"):
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"]), name


def test_no_secret_is_written_into_the_file() -> None:
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "PWD", "CODEC_KEYS", "API_KEY")):
                # Only a required variable from .env or the shell, never a literal.
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), f"{name}.{key}"


def test_worker_is_built_here_and_waits_for_healthy_dependencies() -> None:
    worker = _compose()["services"]["worker"]
    assert worker["build"] == "."
    assert worker["command"] == ["python", "worker.py"]
    conditions = {name: dep["condition"] for name, dep in worker["depends_on"].items()}
    assert conditions == {
        "temporal": "service_healthy",
        "temporal-setup": "service_completed_successfully",
        "readmodel-db": "service_healthy",
    }
    env = worker["environment"]
    assert env["JOURNEYS_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "JOURNEYS_CODEC_KEYS" in env
    assert worker["healthcheck"]["test"] == ["CMD", "journeys", "check", "--worker"]


def test_api_is_built_here_and_serves_health() -> None:
    api = _compose()["services"]["api"]
    assert api["build"] == "."
    assert api["command"] == ["journeys", "api"]
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert api["depends_on"]["worker"]["condition"] == "service_healthy"
    assert api["ports"] == ["127.0.0.1:8000:8000"]


def test_every_depends_on_waits_for_a_condition() -> None:
    for name, service in _compose()["services"].items():
        for dep, spec in service.get("depends_on", {}).items():
            assert spec["condition"].startswith("service_"), f"{name} -> {dep}"


def test_search_attributes_are_registered_by_journeys_setup_once_before_the_workers() -> None:
    services = _compose()["services"]
    setup = services["temporal-setup"]
    # The code's own registration (runtime.search_attributes), not a list copied here.
    assert setup["build"] == "."
    assert setup["command"] == ["journeys", "setup"]
    assert setup["restart"] == "no"
    assert setup["depends_on"] == {"temporal": {"condition": "service_healthy"}}
    assert (
        setup["environment"]["TEMPORAL_ADDRESS"]
        == services["worker"]["environment"]["TEMPORAL_ADDRESS"]
    )
    assert setup["environment"]["TEMPORAL_NAMESPACE"] == "default"
    # It sends no payloads: no codec key is handed to it.
    assert not any("CODEC" in key for key in setup["environment"])
    # A one-shot job has no health to report; the workers wait for it to complete.
    assert setup["healthcheck"]["test"] == ["NONE"]
    assert services["worker"]["depends_on"]["temporal-setup"] == {
        "condition": "service_completed_successfully"
    }


def test_temporal_ui_is_read_only() -> None:
    ui = _compose()["services"]["temporal-ui"]
    assert ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["ports"] == ["127.0.0.1:8080:8080"]


def test_temporal_ui_decodes_through_the_apis_codec_endpoint_from_its_own_origin() -> None:
    services = _compose()["services"]
    ui, api = services["temporal-ui"]["environment"], services["api"]["environment"]
    # The browser calls the API's published port, with the session cookie.
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "${JOURNEYS_PUBLIC_URL:-http://127.0.0.1:8000}/codec"
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert "127.0.0.1:8000:8000" in services["api"]["ports"]
    # The API lets exactly the UI's published origin call it from a browser.
    published = services["temporal-ui"]["ports"][0].rsplit(":", 1)[0]
    assert api["JOURNEYS_TEMPORAL_UI_ORIGIN"] == (
        f"${{JOURNEYS_TEMPORAL_UI_ORIGIN:-http://{published}}}"
    )


def test_dockerfile_installs_the_locked_dependencies_and_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile
    packages = [p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"]
    assert len(packages) >= 9
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, f"{package} is missing from the image"
    assert "USER journeys" in dockerfile
    # The image writes no bytecode at run time, so it is compiled after the last source copy.
    assert "PYTHONDONTWRITEBYTECODE=1" in dockerfile
    assert dockerfile.index("python -m compileall -q /app") > dockerfile.rindex("COPY ")


def test_make_compiles_our_bytecode_for_every_package() -> None:
    makefile = (ROOT / "Makefile").read_text()
    sources = next(line for line in makefile.splitlines() if line.startswith("SOURCES :="))
    packages = [p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"]
    assert set(packages) <= set(sources.split()[2:])
    for target in ("run:", "test:", "bench:"):
        recipe = makefile.split(f"\n{target}", 1)[1].split("\n\n", 1)[0]
        assert "$(BYTECODE)" in recipe, target


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Bind mounts of files in this repository: container path -> repository path."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = source[2:]
    return mounts


def test_worker_and_api_serve_metrics_to_the_compose_network_only() -> None:
    services = _compose()["services"]
    for name, app, sdk in (
        ("worker", "JOURNEYS_WORKER_METRICS_PORT", "JOURNEYS_SDK_METRICS_PORT"),
        ("api", "JOURNEYS_API_METRICS_PORT", "JOURNEYS_API_SDK_METRICS_PORT"),
    ):
        env = _environment(services[name])
        assert env["JOURNEYS_METRICS_HOST"] == "0.0.0.0", name
        assert sorted(services[name]["expose"]) == sorted([env[app], env[sdk]]), name
        # Never published on the host: only Prometheus reads them.
        assert not any(env[app] in p or env[sdk] in p for p in services[name].get("ports", []))


def test_prometheus_scrapes_the_ports_the_services_serve_and_loads_the_alert_rules() -> None:
    services = _compose()["services"]
    prometheus = services["prometheus"]
    mounts = _mounts(prometheus)
    config_path = mounts["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load((ROOT / config_path).read_text())
    # Every rule file it loads is mounted from ops/prometheus and exists.
    for rule_file in config["rule_files"]:
        assert (ROOT / mounts[rule_file]).is_file(), rule_file
    targets: dict[str, set[str]] = {}
    for job in config["scrape_configs"]:
        found = {
            f"{name}:{sd['port']}" for sd in job.get("dns_sd_configs", []) for name in sd["names"]
        }
        found |= {t for sc in job.get("static_configs", []) for t in sc["targets"]}
        targets[job["job_name"]] = found
    worker, api = _environment(services["worker"]), _environment(services["api"])
    assert targets == {
        "journeys-worker": {f"worker:{worker['JOURNEYS_WORKER_METRICS_PORT']}"},
        "journeys-worker-sdk": {f"worker:{worker['JOURNEYS_SDK_METRICS_PORT']}"},
        "journeys-api": {f"api:{api['JOURNEYS_API_METRICS_PORT']}"},
        "journeys-api-sdk": {f"api:{api['JOURNEYS_API_SDK_METRICS_PORT']}"},
    }
    # Worker replicas are found by the service's DNS name, one target each.
    assert services["worker"]["deploy"]["replicas"] > 1
    assert prometheus["ports"] == ["127.0.0.1:9090:9090"]
    assert {"worker", "api"} <= set(prometheus["depends_on"])


def test_grafana_is_provisioned_with_the_prometheus_datasource_and_the_dashboard() -> None:
    services = _compose()["services"]
    grafana = services["grafana"]
    mounts = _mounts(grafana)
    datasources = ROOT / mounts["/etc/grafana/provisioning/datasources"]
    source = yaml.safe_load((datasources / "prometheus.yml").read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    providers = ROOT / mounts["/etc/grafana/provisioning/dashboards"]
    provider = yaml.safe_load((providers / "journeys.yml").read_text())["providers"][0]
    folder = provider["options"]["path"]
    dashboards = [target for target in mounts if target.startswith(folder + "/")]
    assert dashboards == [f"{folder}/recovery-journeys.json"]
    assert (ROOT / mounts[dashboards[0]]).is_file()
    assert grafana["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
    assert _environment(grafana)["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
