"""SaaS KPIs as portable Ibis expressions: written once, executed on DuckDB (default) or Spark with equal results.

Inputs are the hub tables from :func:`kizuna.warehouse.hub_tables` (named and shaped as the app database tables;
``events`` as ``kizuna.usage.store.EVENT_SCHEMA``). Definitions: ``docs/metrics.md``.
"""

from kizuna.analytics.kpi.usage import account_usage, licensed_seats

__all__ = ["account_usage", "licensed_seats"]
