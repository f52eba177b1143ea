"""Metrics endpoints: the application's registry and the SDK's runtime, per role and setting."""

import socket

import httpx

from runtime import metrics
from runtime.metrics_server import Role, ports, serve, urls
from runtime.settings import Settings
from tests.portpick import free_port


def _settings(**values: object) -> Settings:
    return Settings.model_validate({"data_dir": "unused", **values})


def test_each_role_has_its_own_ports_and_zero_or_disabled_turns_them_off() -> None:
    settings = _settings(worker_metrics_port=9001, sdk_metrics_port=9002,
                         api_metrics_port=9003, api_sdk_metrics_port=0)  # fmt: skip
    assert ports(settings, Role.WORKER) == (9001, 9002)
    assert ports(settings, Role.API) == (9003, 0)
    assert urls(settings, Role.API) == ("http://127.0.0.1:9003/metrics", None)
    off = _settings(metrics_enabled=False)
    assert ports(off, Role.WORKER) == (0, 0)
    assert serve(off, Role.WORKER) == serve(off, Role.API)
    assert serve(off, Role.WORKER).runtime is None


def test_serves_primed_application_metrics_and_the_sdk_endpoint() -> None:
    app, sdk = free_port(), free_port()
    endpoints = serve(_settings(api_metrics_port=app, api_sdk_metrics_port=sdk), Role.API)
    assert endpoints.app_url == f"http://127.0.0.1:{app}/metrics"
    assert endpoints.sdk_url == f"http://127.0.0.1:{sdk}/metrics"
    assert endpoints.runtime is not None
    text = httpx.get(endpoints.app_url, timeout=10).text
    # Every command and outcome is there at zero before the first command.
    for command in metrics.COMMAND_NAMES:
        assert f'journeys_commands_total{{command="{command}",outcome="rejected"}}' in text
    assert 'journeys_deliveries_total{channel="webhook",status="dead"}' in text
    assert httpx.get(endpoints.sdk_url, timeout=10).status_code == 200


def test_a_port_in_use_is_skipped_and_the_process_carries_on() -> None:
    with socket.socket() as taken, socket.socket() as also_taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        also_taken.bind(("127.0.0.1", 0))
        also_taken.listen()
        settings = _settings(
            worker_metrics_port=taken.getsockname()[1],
            sdk_metrics_port=also_taken.getsockname()[1],
        )
        endpoints = serve(settings, Role.WORKER)
    assert endpoints.app_url is None
    assert endpoints.sdk_url is None
    assert endpoints.runtime is None
