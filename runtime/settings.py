"""One typed settings object, read from the environment once and validated at start-up."""

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the service; env prefix ``JOURNEYS_`` (Temporal ones also unprefixed)."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNEYS_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Path("data")
    database_url: str | None = None
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "JOURNEYS_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default",
        min_length=1,
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "JOURNEYS_TEMPORAL_NAMESPACE"),
    )
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_API_KEY", "JOURNEYS_TEMPORAL_API_KEY")
    )
    task_queue: str = Field(default="client-journeys", min_length=1)
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    codec_keys: dict[str, SecretStr] | None = None
    codec_active_key: str | None = None
    codec_key_file: Path | None = None
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    policy_path: Path | None = None

    @field_validator("temporal_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            raise ValueError("expected HOST:PORT")
        return value or None

    @property
    def effective_database_url(self) -> str:
        """The read-model URL: SQLite in the data directory unless one is configured."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'journeys.db'}"

    @property
    def effective_codec_key_file(self) -> Path:
        """Where the local key file lives when no keys are configured."""
        return self.codec_key_file or self.data_dir / "codec-keys.json"

    @property
    def embedded(self) -> bool:
        """Whether this process should start the embedded Temporal server."""
        return self.temporal_address is None


@cache
def get_settings() -> Settings:
    """The settings, loaded once per process."""
    return Settings()
