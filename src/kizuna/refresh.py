"""``kizuna refresh``: recompute everything derived from the hub, in the order data flows.

sources -> store -> **refresh** (metrics, scores, models, text) -> snapshots in the store -> playbook triggers.

Each domain that derives something has a ``jobs.py`` with ``refresh(ctx: RefreshContext) -> dict[str, object]``
(a short summary for the CLI) and is listed in ``REFRESH_STEPS`` in data-flow order. The hub tables are read and
registered on the analytics engine once, in the context, and shared by every step.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kizuna.runtime import Runtime
from kizuna.usage.store import EventStore

log = logging.getLogger(__name__)

# module paths, in data-flow order; each has refresh(ctx) -> dict
REFRESH_STEPS: list[str] = [
    "kizuna.kpis.jobs",
    "kizuna.voc.jobs",  # before health: its stored VoC sentiment is a health measure
    "kizuna.health.jobs",
    "kizuna.risk.jobs",
    "kizuna.ltv.jobs",
    "kizuna.segments.jobs",
    "kizuna.lifecycle.jobs",
    "kizuna.renewals.jobs",
    "kizuna.knowledge.jobs",
    "kizuna.playbooks.jobs",
]


@dataclass
class RefreshContext:
    runtime: Runtime
    as_of: dt.date
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    _hub: dict[str, Any] = field(default_factory=dict, repr=False)
    _partial: dict[str, set[str]] = field(default_factory=dict, repr=False)  # tables read with some columns only
    _arrow: dict[str, Any] = field(default_factory=dict, repr=False)  # the hub tables as read, by name

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

    def arrow(self, names: Iterable[str]) -> dict[str, Any]:
        """Hub tables already read by :meth:`hub`, as the Arrow tables registered on ``con`` (to hand another
        process)."""
        return {name: self._arrow[name] for name in names}


def refresh(runtime: Runtime, *, as_of: dt.date | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Run every refresh step (or those whose module name ends with one of ``only``); returns their summaries."""
    ctx = RefreshContext(runtime=runtime, as_of=as_of or dt.datetime.now(dt.UTC).date())
    for module_name in REFRESH_STEPS:
        step = module_name.rsplit(".", 2)[-2]
        if only and step not in only:
            continue
        started = time.perf_counter()
        summary = _run_step(importlib.import_module(module_name), step, ctx)
        summary["seconds"] = round(time.perf_counter() - started, 2)
        ctx.summaries[step] = summary
        log.info("refresh step %s done in %.1f s", step, summary["seconds"])
    return ctx.summaries


#: how many times a step runs when SQLite refuses its write because another connection wrote meanwhile
LOCKED_ATTEMPTS = 3


def _run_step(module: Any, step: str, ctx: RefreshContext) -> dict[str, Any]:
    """Run one step; again (up to ``LOCKED_ATTEMPTS`` times) when SQLite refused it with "database is locked".

    A step's transaction that reads and then writes fails at once on SQLite when another connection (the web app's
    scheduler, a form) has written in between; its work was rolled back, and every step can run again (each
    replaces what it stores for the date), so it does instead of stopping the refresh.
    """
    from sqlalchemy.exc import OperationalError

    for attempt in range(1, LOCKED_ATTEMPTS):
        try:
            return module.refresh(ctx)  # type: ignore[no-any-return]
        except OperationalError as exc:
            if "database is locked" not in str(exc):
                raise
            log.warning("refresh step %s met another writer (attempt %d); running it again", step, attempt)
    return module.refresh(ctx)  # type: ignore[no-any-return]
