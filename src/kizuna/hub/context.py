"""What every refresh step receives: the runtime, the date it computes for, and the hub tables on the analytics
engine (each read from the app database once per refresh, when a step first asks for it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kizuna.hub.watermark import Watermark
from kizuna.runtime import Runtime
from kizuna.usage.store import EventStore


@dataclass
class RefreshContext:
    runtime: Runtime
    as_of: dt.date
    #: what acts in this refresh (back-fill mode, :mod:`kizuna.hub.watermark`); the pipeline sets it from the
    #: previous refresh. The default acts on everything (a step run on its own, outside ``kizuna refresh``).
    watermark: Watermark = field(default_factory=lambda: Watermark(since=None))
    _hub: dict[str, Any] = field(default_factory=dict, repr=False)
    _partial: dict[str, set[str]] = field(default_factory=dict, repr=False)  # tables read with some columns only
    _arrow: dict[str, Any] = field(default_factory=dict, repr=False)  # the hub tables as read, by name
    _measures: dict[dt.date, Any] = field(default_factory=dict, repr=False)  # point-in-time measures, by date

    @property
    def now(self) -> dt.datetime:
        """The moment this refresh judges signals at: now for today's refresh, the end of ``as_of`` for a past one."""
        from kizuna.db import utcnow

        current = utcnow()
        if self.as_of >= current.date():
            return current
        return dt.datetime(self.as_of.year, self.as_of.month, self.as_of.day, 23, 59, tzinfo=dt.UTC)

    @cached_property
    def con(self) -> Any:
        """The Ibis backend of the configured analytics engine (DuckDB or Spark)."""
        from kizuna.analytics.engine import connect

        return connect(self.runtime.settings.analytics_engine)

    @property
    def tables(self) -> dict[str, Any]:
        """Every hub table and the events as Ibis tables on ``con`` (see :meth:`hub`)."""
        from kizuna.hub.warehouse import ANALYTICS_TABLES

        return self.hub(ANALYTICS_TABLES)

    def hub(self, names: Iterable[str] | Mapping[str, Sequence[str] | None]) -> dict[str, Any]:
        """The hub tables ``names`` (each with every column, or with the columns a mapping gives) and the events, as
        Ibis tables on ``con``.

        Each table is read from the app database once per refresh, when a step first asks for it, and shared by
        the later steps: ``kizuna refresh --only metrics`` reads the tables and columns the KPIs use, not every hub
        table. A table read with some columns is read again, whole, when a step asks for others.
        """
        from kizuna.analytics.engine import register_tables
        from kizuna.hub.warehouse import start_reading

        wanted = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names)
        missing: dict[str, Sequence[str] | None] = {}
        for name, columns in wanted.items():
            if name not in self._hub:
                missing[name] = columns
            elif name in self._partial and (columns is None or not set(columns) <= self._partial[name]):
                missing[name] = None
        if missing or "events" not in self._hub:  # (the events are a view over their files: registering is cheap)
            tables = start_reading(self.runtime.engine, missing)
            con = self.con  # (the engine starts while a SQLite file's readers read)
            read = tables()
            self._arrow.update(read)
            events = EventStore(self.runtime.settings.events_dir).source()
            self._hub.update(register_tables(con, {**read, "events": events}))
            for name, columns in missing.items():
                if columns is None:
                    self._partial.pop(name, None)
                else:
                    self._partial[name] = set(columns)
        return {name: self._hub[name] for name in [*wanted, "events"]}

    @cached_property
    def usage_months(self) -> Any:
        """The monthly usage rollups of every closed month before ``as_of``'s (Arrow; ``kizuna.usage.rollups``),
        for measures at past dates (their last logins) without scanning the event history for each date."""
        from kizuna.usage.rollups import closed_account_months

        return closed_account_months(self.tables, EventStore(self.runtime.settings.events_dir), self.as_of)

    def measures(self, dates: Sequence[dt.date], *, voc_scores: Any = None, voc_sentiment: Any = None) -> Any:
        """``measures_over_time(self.tables, dates, ...)`` (:mod:`kizuna.analytics.scoring.measures`), each date's
        measures computed once per refresh: the health backtest, the churn model's training and the scoring of
        today read many of the same dates (all 30 days apart from ``as_of``). The VoC column is each caller's own
        (``voc_scores`` or, for one date, ``voc_sentiment``)."""
        import pandas as pd

        from kizuna.analytics.scoring.measures import measures_over_time, with_voc_sentiment

        dates = list(dates)
        missing = [day for day in dict.fromkeys(dates) if day not in self._measures]
        if missing:
            frame = measures_over_time(self.tables, missing, usage_months=self.usage_months)
            by_date = dict(iter(frame.groupby("as_of", sort=False)))
            for day in missing:
                self._measures[day] = by_date.get(day, frame.iloc[:0])
        if not dates:
            return measures_over_time(self.tables, [])
        stacked = pd.concat([self._measures[day] for day in dates], ignore_index=True)
        if voc_scores is None and voc_sentiment is None:
            return stacked
        return with_voc_sentiment(stacked, voc_scores=voc_scores, voc_sentiment=voc_sentiment)

    def arrow(self, names: Iterable[str]) -> dict[str, Any]:
        """Hub tables already read by :meth:`hub`, as the Arrow tables registered on ``con`` (to hand another
        process)."""
        return {name: self._arrow[name] for name in names}
