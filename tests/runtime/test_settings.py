"""Settings: defaults, environment overrides, failing fast on bad values."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from runtime.settings import Settings


def test_defaults_use_the_embedded_server_and_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "JOURNEYS_TEMPORAL_ADDRESS", "JOURNEYS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.embedded
    assert settings.effective_database_url == "sqlite+aiosqlite:///data/journeys.db"
    assert settings.effective_codec_key_file == Path("data/codec-keys.json")
    assert settings.task_queue == "client-journeys"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "journeys-prod")
    monkeypatch.setenv("JOURNEYS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JOURNEYS_DATABASE_URL", "postgresql+asyncpg://u@db/journeys")
    settings = Settings(_env_file=None)
    assert not settings.embedded
    assert settings.temporal_address == "temporal.internal:7233"
    assert settings.temporal_namespace == "journeys-prod"
    assert settings.effective_database_url == "postgresql+asyncpg://u@db/journeys"
    assert settings.effective_codec_key_file == tmp_path / "codec-keys.json"


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("JOURNEYS_TEMPORAL_PORT", "70000", "temporal_port"),
        ("JOURNEYS_LOG_FORMAT", "xml", "log_format"),
        ("TEMPORAL_ADDRESS", "no-port", "TEMPORAL_ADDRESS"),
        ("JOURNEYS_CODEC_KEYS", "not json", "codec_keys"),
    ],
)
def test_bad_values_fail_fast_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert field in str(err.value)
