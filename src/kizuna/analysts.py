"""kizuna for analysts: ``kizuna.connect(data_dir or database URL)`` gives the hub, the product events and the stored
snapshots as Ibis tables (on DuckDB) and pandas frames, for notebooks and scripts.

    import kizuna
    hub = kizuna.connect("./kizuna-data")           # or "postgresql+psycopg://user@host/kizuna"
    hub.tables                                      # every table: accounts, subscriptions, ..., kpi_series, events
    subs = hub.table("subscriptions")               # an Ibis table: filter, group, join, then .to_pandas()
    hub.frame("accounts")                           # a pandas DataFrame
    hub.kpi(["mrr_minor", "nrr_12m"], by="plan")    # stored KPI series, long format (as ``kizuna kpi``)

Tables are read once, when first asked for, through the same readers as ``kizuna refresh`` (kizuna's types: UTC
timestamps, dates, money as int64 minor units); the events are the Parquet event store, read where they lie. Nothing
is written: a hub is a read-only view as of the moment each table is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from kizuna import models
from kizuna.analytics.engine import connect as engine_connect
from kizuna.errors import NotFound
from kizuna.hub.warehouse import read_table
from kizuna.kpis import service as kpis
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.usage.store import EventStore

EVENTS = "events"


class Hub:
    """The data of one kizuna installation, for analysis. Use as a context manager, or call :meth:`close`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtime = Runtime.open(settings)
        self.con: Any = engine_connect("duckdb")  #: the Ibis backend the tables live in (``hub.con.sql(...)``)
        self._loaded: dict[str, Any] = {}

    @property
    def tables(self) -> list[str]:
        """Every table an analyst can ask for: the app database's and ``events``."""
        return sorted([*models.Base.metadata.tables, EVENTS])

    def table(self, name: str) -> Any:
        """Table ``name`` as an Ibis table (read on first use)."""
        if name not in self._loaded:
            if name == EVENTS:
                store = EventStore(self.settings.events_dir)
                if not store.files():
                    raise NotFound(f"no product events in {self.settings.events_dir}", table=name)
                self._loaded[name] = self.con.read_parquet(store.glob(), table_name=EVENTS)
            elif name in models.Base.metadata.tables:
                self._loaded[name] = self.con.create_table(name, read_table(self._runtime.engine, name), overwrite=True)
            else:
                raise NotFound(f"no table {name!r}; the tables are: {', '.join(self.tables)}", table=name)
        return self._loaded[name]

    def frame(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a pandas DataFrame."""
        frame: pd.DataFrame = self.table(name).to_pandas()
        return frame

    def kpi(self, names: Sequence[str] | str, *, by: str | None = None, currency: str | None = None) -> pd.DataFrame:
        """Stored KPI series of the latest snapshot (``kizuna refresh``), long format: as_of, metric, month,
        currency, dimension, dimension_value, value (see docs/metrics.md for each metric's definition)."""
        wanted = [names] if isinstance(names, str) else list(names)
        with self._runtime.transaction() as session:
            return kpis.load_kpi(session, names=wanted, by=by, currency=currency)

    def kpi_table(self, name: str) -> pd.DataFrame:
        """A stored tabular KPI result (``cohort_retention``, ``funnel_by_source``, ...)."""
        with self._runtime.transaction() as session:
            return kpis.load_table(session, name=name)

    def close(self) -> None:
        self._runtime.close()
        self.con.disconnect()

    def __enter__(self) -> Hub:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def connect(location: str | Path | None = None) -> Hub:
    """The hub at ``location``: a data directory (default ``KIZUNA_DATA_DIR`` or ``./kizuna-data``) or a database
    URL (``postgresql+psycopg://...``; the event store is then the default data directory's, or ``KIZUNA_DATA_DIR``)."""
    text = str(location) if location is not None else ""
    if "://" in text:
        return Hub(Settings(database_url=text))
    return Hub(Settings(data_dir=Path(text)) if text else Settings())
