"""One typed settings object, read from the environment once and validated at start-up."""

from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    """Accept a setting under its plain name (as Temporal's own tools do) or with our prefix."""
    return AliasChoices(name, f"JOURNEYS_{name}")


_NO_LOCAL_DAY = frozenset({"localtime", "Factory", "posixrules"})


DEFAULT_MRN_SYSTEM = "urn:recovery-journeys:ehr-mrn"


class Settings(BaseSettings):
    """Every setting of the service; env prefix ``JOURNEYS_`` (Temporal ones also unprefixed)."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNEYS_",
        env_file=".env",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
        # Errors name the setting but never echo its value: codec keys and API keys are secrets.
        hide_input_in_errors=True,
    )

    data_dir: Path = Path("data")
    database_url: str | None = None
    temporal_address: str | None = Field(default=None, validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field(
        default="default", min_length=1, validation_alias=_env("TEMPORAL_NAMESPACE")
    )
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("TEMPORAL_API_KEY")
    )
    task_queue: str = Field(default="client-journeys", min_length=1)
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    # The Temporal UI whose pages may call the codec endpoint (/codec) with a staff session;
    # unset, the embedded UI (http://127.0.0.1:TEMPORAL_UI_PORT).
    temporal_ui_origin: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    codec_keys: dict[str, SecretStr] | None = None
    codec_active_key: str | None = None
    codec_key_file: Path | None = None
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    policy_path: Path | None = None
    # The program's time zone (IANA name): its days decide what is due today on the board, in
    # the due filters and on the dashboard.
    program_timezone: ZoneInfo = ZoneInfo("UTC")
    # Outbound notifications (e-mail over SMTP, webhooks) and the links they carry.
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Recovery Journeys <no-reply@localhost>"
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_timeout_s: float = Field(default=10.0, gt=0, le=300)
    dispatch_interval_s: float = Field(default=1.0, gt=0, le=60)
    # Journeys a worker keeps in memory between workflow tasks; the rest replay when they wake.
    worker_cache_size: int = Field(default=1000, ge=0, le=100_000)
    # Webhook host names exempt from the address rules (and allowed plain http), comma-separated:
    # development and tests only. Every other endpoint must be https to a public address.
    webhook_allow_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Webhook deliveries in flight at once to one endpoint, per worker process.
    webhook_max_in_flight: int = Field(default=4, ge=1, le=100)
    # Dashboard sessions end after this long without a request, and this long after login.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 7)
    # API tokens issued or rotated from now on work this long.
    token_lifetime_days: int = Field(default=90, ge=1, le=3650)
    # Refused dashboard logins allowed per account and per client address within the window.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # The identifier system of the EHR's medical record numbers: POST /fhir/Patient matches a
    # client by the identifier in this system.
    ehr_mrn_system: str = Field(default=DEFAULT_MRN_SYSTEM, min_length=1, max_length=200)
    # Prometheus endpoints, each process its own (several workers on one host: set the ports
    # per process). Port 0 turns one endpoint off; metrics_enabled false turns all of them off.
    # The SDK's endpoints carry the Temporal SDK's own metrics (pollers, slots, task failures).
    metrics_enabled: bool = True
    metrics_host: str = Field(default="127.0.0.1", min_length=1)
    worker_metrics_port: int = Field(default=9461, ge=0, le=65535)
    api_metrics_port: int = Field(default=9462, ge=0, le=65535)
    sdk_metrics_port: int = Field(default=9463, ge=0, le=65535)
    api_sdk_metrics_port: int = Field(default=9464, ge=0, le=65535)

    @field_validator("temporal_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None and not value.rpartition(":")[2].isdigit():
            raise ValueError("expected HOST:PORT")
        return value or None

    @field_validator("temporal_ui_origin")
    @classmethod
    def _an_origin(cls, value: str | None) -> str | None:
        # An origin is what a browser sends: scheme, host and port, no path or slash.
        if value is None or value == "":
            return None
        value = value.rstrip("/")
        scheme, sep, rest = value.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise ValueError("expected an origin, e.g. https://temporal.example.org")
        return value

    @field_validator("smtp_host", "smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes unset optional variables as empty strings.
        return None if value == "" else value

    @field_validator("webhook_allow_hosts", mode="before")
    @classmethod
    def _comma_separated_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("program_timezone", mode="before")
    @classmethod
    def _program_zone_is_a_place(cls, value: object) -> object:
        # "localtime" is whatever the host says and "Factory" has no local time: neither tells
        # staff when their day begins.
        if isinstance(value, str) and value in _NO_LOCAL_DAY:
            raise ValueError(f"{value!r} is not a program time zone; name one, e.g. America/Denver")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        # INFO and info both come from people's habits; the logging module wants one spelling.
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _codec_keys_name_the_active_one(self) -> Self:
        if not self.codec_keys:
            return self
        if self.codec_active_key is None and len(self.codec_keys) > 1:
            raise ValueError("codec_active_key: required when codec_keys holds several keys")
        if self.codec_active_key is not None and self.codec_active_key not in self.codec_keys:
            raise ValueError(f"codec_active_key: {self.codec_active_key!r} is not in codec_keys")
        return self

    @model_validator(mode="after")
    def _tls_cert_comes_with_its_key(self) -> Self:
        # A certificate without its private key (or the reverse) fails only at the first
        # connection, far from the typo; refuse it here instead.
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("temporal_tls_cert and temporal_tls_key: set both or neither")
        return self

    @property
    def effective_temporal_ui_origin(self) -> str:
        """The Temporal UI origin allowed to call the codec endpoint from a browser."""
        return self.temporal_ui_origin or f"http://127.0.0.1:{self.temporal_ui_port}"

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
    """The settings, loaded once per process.

    Raises:
        pydantic.ValidationError: a setting has a bad value; the message names it.
    """
    return Settings()
