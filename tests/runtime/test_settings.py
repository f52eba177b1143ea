"""Settings: defaults, environment overrides, failing fast on bad values."""

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from runtime.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
OWN_ENV = ("TEMPORAL_", "JOURNEYS_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from the developer's shell must not leak into these tests."""
    for name in list(os.environ):
        if name.upper().startswith(OWN_ENV):
            monkeypatch.delenv(name)


def test_defaults_use_the_embedded_server_and_sqlite() -> None:
    settings = Settings(_env_file=None)
    assert settings.embedded
    assert settings.effective_database_url == "sqlite+aiosqlite:///data/journeys.db"
    assert settings.effective_codec_key_file == Path("data/codec-keys.json")
    assert settings.task_queue == "client-journeys"
    assert (settings.temporal_port, settings.temporal_ui_port) == (7233, 8233)
    assert settings.temporal_namespace == "default"
    assert settings.codec_keys is None
    assert settings.policy_path is None
    assert (settings.log_format, settings.log_level) == ("auto", "info")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "journeys-prod")
    monkeypatch.setenv("TEMPORAL_API_KEY", "cloud-key")
    monkeypatch.setenv("JOURNEYS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JOURNEYS_DATABASE_URL", "postgresql+asyncpg://u@db/journeys")
    monkeypatch.setenv("JOURNEYS_TEMPORAL_PORT", "17233")
    monkeypatch.setenv("JOURNEYS_LOG_LEVEL", "WARNING")
    settings = Settings(_env_file=None)
    assert not settings.embedded
    assert settings.temporal_address == "temporal.internal:7233"
    assert settings.temporal_namespace == "journeys-prod"
    assert settings.temporal_api_key is not None
    assert settings.temporal_api_key.get_secret_value() == "cloud-key"
    assert settings.effective_database_url == "postgresql+asyncpg://u@db/journeys"
    assert settings.effective_codec_key_file == tmp_path / "codec-keys.json"
    assert settings.temporal_port == 17233
    assert settings.log_level == "warning"


def test_prefixed_temporal_names_work_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYS_TEMPORAL_ADDRESS", "temporal.internal:7233")
    assert Settings(_env_file=None).temporal_address == "temporal.internal:7233"


def test_codec_keys_come_from_a_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYS_CODEC_KEYS", '{"2026-01": "b2xk", "2026-07": "bmV3"}')
    monkeypatch.setenv("JOURNEYS_CODEC_ACTIVE_KEY", "2026-07")
    settings = Settings(_env_file=None)
    assert settings.codec_keys is not None
    assert sorted(settings.codec_keys) == ["2026-01", "2026-07"]
    # Secrets stay out of reprs, so out of logs and tracebacks.
    assert "bmV3" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("JOURNEYS_TEMPORAL_PORT", "70000", "temporal_port"),
        ("JOURNEYS_TEMPORAL_UI_PORT", "web", "temporal_ui_port"),
        ("JOURNEYS_LOG_FORMAT", "xml", "log_format"),
        ("JOURNEYS_LOG_LEVEL", "chatty", "log_level"),
        ("TEMPORAL_ADDRESS", "no-port", "TEMPORAL_ADDRESS"),
        ("JOURNEYS_TEMPORAL_TLS", "maybe", "temporal_tls"),
        ("JOURNEYS_CODEC_KEYS", "not json", "codec_keys"),
        ("JOURNEYS_TASK_QUEUE", "", "task_queue"),
    ],
)
def test_bad_values_fail_fast_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"codec_keys": {"a": "x", "b": "y"}}, "codec_active_key"),
        ({"codec_keys": {"a": "x"}, "codec_active_key": "b"}, "codec_active_key"),
        ({"temporal_tls_cert": "client.pem"}, "temporal_tls_key"),
    ],
)
def test_inconsistent_settings_fail_fast(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, **values)  # type: ignore[arg-type]
    assert field in str(err.value)


def test_errors_never_echo_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYS_CODEC_KEYS", '["c2VjcmV0LWtleS1tYXRlcmlhbA=="]')
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert "c2VjcmV0" not in str(err.value)


def test_settings_are_loaded_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file here
    get_settings.cache_clear()
    try:
        first = get_settings()
        monkeypatch.setenv("JOURNEYS_TASK_QUEUE", "changed-later")
        assert get_settings() is first
    finally:
        get_settings.cache_clear()


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for name in Settings.model_fields:
        assert {f"JOURNEYS_{name.upper()}", name.upper()} & documented, name


def test_empty_smtp_settings_mean_no_smtp() -> None:
    settings = Settings.model_validate(
        {"smtp_host": "", "smtp_username": "", "smtp_password": "", "smtp_port": "2525"}
    )
    assert settings.smtp_host is None
    assert settings.smtp_username is None
    assert settings.smtp_password is None
    assert settings.smtp_port == 2525


def test_the_program_time_zone_is_utc_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).program_timezone == ZoneInfo("UTC")
    monkeypatch.setenv("JOURNEYS_PROGRAM_TIMEZONE", "America/Denver")
    assert Settings(_env_file=None).program_timezone == ZoneInfo("America/Denver")


@pytest.mark.parametrize(
    "value",
    [
        "Mars/Olympus",  # no such zone
        "america/denver",  # names are case-sensitive
        "MST7MDT ",  # stray space
        "",
        "-07:00",  # an offset is not a place: it knows no daylight saving
        "../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "localtime",  # whatever the host happens to say
        "Factory",  # a zone with no local time
    ],
)
def test_an_unknown_program_time_zone_fails_at_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JOURNEYS_PROGRAM_TIMEZONE", value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert "program_timezone" in str(err.value)
