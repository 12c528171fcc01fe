"""The one settings object. Every knob is read from ``KIZUNA_*`` environment variables or passed explicitly.

Nothing reads the environment at import time: call :func:`Settings` (or ``Settings(data_dir=...)`` in tests) and pass
the object down into ``create_app(settings)``, the CLI and jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """kizuna's configuration (environment prefix ``KIZUNA_``)."""

    model_config = SettingsConfigDict(env_prefix="KIZUNA_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("kizuna-data"), description="Where the SQLite file, events and models live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the app database; default: a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    analytics_engine: Literal["duckdb", "spark"] = "duckdb"
    currency: str = Field(default="JPY", description="Reporting currency (ISO 4217).")
    timezone: str = Field(default="Asia/Tokyo", description="Business time zone for calendar months.")
    gross_margin: float = Field(default=0.8, ge=0, le=1, description="Gross margin used in LTV.")
    kpi_snapshot_days: int = Field(
        default=90,
        ge=1,
        description="Days a daily KPI snapshot is kept; the last snapshot of each month is kept for good.",
    )
    kpi_processes: int = Field(
        default=0,
        ge=0,
        le=2,
        description="Processes a KPI refresh on DuckDB computes in: 2 puts the usage and funnel parts (the events "
        "and the leads) in a second process beside the revenue and voice parts; 1 keeps all in one; 0 = 2 on a "
        "machine with two or more cores.",
    )
    secret_key: str = Field(default="change-me-in-production", description="Signs sessions and survey links.")
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "kizuna@localhost"
    language: Literal["ja", "en"] = "ja"
    voc_product_webhook_url: str | None = Field(
        default=None,
        description="Where /voc/analytics sends the feature requests ranked by ARR (the product team's webhook); "
        "the page offers it and may send elsewhere.",
    )
    scheduler_in_process: bool = Field(
        default=True,
        description="Run the playbook scheduler (tasks, e-mails, webhooks) inside the web app; turn off when a "
        "separate `kizuna worker` runs it.",
    )

    connector_sync_minutes: int = Field(
        default=15,
        ge=1,
        description="Minutes between two incremental pulls of a connected billing or CRM system or mailbox.",
    )

    sqlite_busy_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a SQLite writer waits for another's write lock before 'database is locked'.",
    )
    write_patience: float = Field(
        default=300.0,
        ge=0,
        description="Seconds the scheduler and the worker keep retrying a write that another writer is in the way of "
        "(after each busy timeout) before giving up.",
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Days finished jobs, sent messages, the playbook run log and the connectors' sync runs are kept in "
        "full; after that the run logs are deleted (each connector's newest run of each kind kept) and jobs and "
        "messages are compacted to their idempotency key, status and times.",
    )

    @property
    def sqlalchemy_url(self) -> str:
        """The app database URL, defaulting to ``sqlite:///<data_dir>/kizuna.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kizuna.sqlite3').resolve()}"

    @property
    def events_dir(self) -> Path:
        """Product usage events: Parquet files partitioned by month."""
        return self.data_dir / "events"

    @property
    def rejects_dir(self) -> Path:
        return self.data_dir / "rejects"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.events_dir, self.rejects_dir, self.models_dir, self.outbox_dir):
            path.mkdir(parents=True, exist_ok=True)
