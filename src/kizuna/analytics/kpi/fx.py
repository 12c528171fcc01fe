"""Several currencies, one base currency: subscription lines converted with the dated rates of ``fx_rates``.

Every amount stays in its own currency in the hub. For the KPIs in the base currency, each subscription version is
converted once, at the rate in force on its ``start_date`` (the currency's latest rate dated on or before it; a
version older than the currency's first rate takes that first rate). A version is a price that held for a while, so
its converted MRR holds too: exchange rates alone never make an MRR movement; a new version (a renewal, a change of
seats or price) is converted at the rate of its own start. Only rates dated on or before ``as_of`` are read
(point in time).

``fx_rates`` rows say that one unit of ``currency`` is worth ``rate`` units of the base currency; minor units are
converted with both currencies' exponents: ``base_minor = round(minor × rate × 10^(e_base − e_currency))`` (US$12.50
= 1250 cents at 150 JPY/USD is ¥1,875), rounded half away from zero. Definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi import revenue
from kizuna.analytics.kpi._common import Tables, prepared_key, require
from kizuna.analytics.money import THREE_DECIMAL, ZERO_DECIMAL, minor_unit_exponent

FX_COLUMNS = ("date", "currency", "rate")
# stands in for "since ever" for the first rate of a currency
_EVER = dt.date(1, 1, 1)
_NEVER = dt.date(9999, 12, 31)


@dataclass(frozen=True)
class Conversion:
    """The hub tables with every subscription line in ``currency`` (the reporting currency), and the currencies
    whose lines could not be converted (no rate dated on or before ``as_of``): they are left out of ``tables``'
    subscriptions and counted only in their own currency."""

    tables: Tables
    currency: str
    currencies: tuple[str, ...]  # every currency of the subscription lines, sorted
    converted: bool = False  # False: the tables are the hub's own (one currency)
    unconverted: tuple[str, ...] = field(default=())


def line_currencies(tables: Tables, as_of: dt.date) -> tuple[str, ...]:
    """The currencies of the subscription lines started on or before ``as_of`` (sorted). Executes a small query."""
    subs = require(tables, "subscriptions", ("currency", "start_date"))
    known = subs.filter(subs.start_date <= ibis.date(as_of)).select("currency").distinct()
    return tuple(sorted(str(c) for c in known.to_pyarrow().column("currency").to_pylist() if c))


def rate_periods(tables: Tables, as_of: dt.date, *, base: str) -> ir.Table:
    """Each currency's rates as periods: ``currency, valid_from, valid_to, factor`` where ``factor`` multiplies an
    amount in the currency's minor units into the base currency's minor units. The first period of a currency starts
    at 0001-01-01 (older lines take the first rate); rates dated after ``as_of`` are not known yet."""
    rates = require(tables, "fx_rates", FX_COLUMNS)
    rates = rates.filter(rates["date"] <= ibis.date(as_of), rates.currency != base, rates.rate > 0)
    w = ibis.window(group_by="currency", order_by="date")
    day = rates["date"]
    base_exponent = minor_unit_exponent(base)
    factor = ibis.cases(
        (rates.currency.isin(sorted(ZERO_DECIMAL)), 10.0 ** (base_exponent - 0)),
        (rates.currency.isin(sorted(THREE_DECIMAL)), 10.0 ** (base_exponent - 3)),
        else_=10.0 ** (base_exponent - 2),
    )
    return rates.select(
        "currency",
        # the first rate of a currency also stands for the time before it
        valid_from=ibis.ifelse(day.lag().over(w).isnull(), ibis.date(_EVER), day),
        valid_to=day.lead().over(w).fill_null(ibis.date(_NEVER)),
        factor=rates.rate.cast("float64") * factor,
    )


def in_base_currency(tables: Tables, as_of: dt.date, *, base: str) -> Conversion:
    """``tables`` with the subscription lines converted to ``base`` (module docstring).

    * lines in ``base`` only: the tables as they are;
    * one other currency and no rate for it: the tables as they are, reported in that currency (a company that
      bills in one currency needs no rate);
    * else every line is converted; a currency with no rate is left out (``Conversion.unconverted``).
    """
    found = line_currencies(tables, as_of)
    if set(found) <= {base}:
        return Conversion(tables=tables, currency=base, currencies=found)
    periods = rate_periods(tables, as_of, base=base)
    rated = {str(c) for c in periods.select("currency").distinct().to_pyarrow().column("currency").to_pylist()}
    foreign = [c for c in found if c != base]
    if len(found) == 1 and not rated & set(foreign):
        return Conversion(tables=tables, currency=found[0], currencies=found)
    subs = tables["subscriptions"]
    columns = subs.columns
    own = subs.filter(subs.currency == base)
    other = subs.filter(subs.currency != base)
    joined = other.join(
        periods,
        [
            other.currency == periods.currency,
            periods.valid_from <= other.start_date,
            periods.valid_to > other.start_date,
        ],
    )
    converted = joined.select(
        *(c for c in columns if c not in ("mrr_minor", "currency")),
        mrr_minor=(joined.mrr_minor.cast("float64") * joined.factor).round().cast("int64"),
        currency=ibis.literal(base),
    ).select(*columns)
    out = dict(tables)
    # materialised once: every KPI reads the subscription lines, and would otherwise join the rates again
    out["subscriptions"] = own.union(converted).cache()
    unconverted = tuple(c for c in foreign if c not in rated)
    return Conversion(tables=out, currency=base, currencies=found, converted=True, unconverted=unconverted)


def foreign_accounts(tables: Tables, *, base: str) -> ir.Table:
    """The accounts with a subscription line in a currency other than ``base`` (one column, ``account_id``): the
    only ones whose figures differ between the base currency and their own."""
    subs = require(tables, "subscriptions", ("account_id", "currency"))
    return subs.filter(subs.currency != base).select("account_id").distinct()


def own_currency_movements(native: Tables, converted: Tables, as_of: dt.date, *, base: str) -> dict[str, Any]:
    """``native`` (the hub's own tables) plus the MRR movements and the trailing-12-month retention pairs of
    ``as_of`` in each currency's own amounts, for the second, per-currency pass of the snapshot.

    An account billed only in ``base`` has the same movements and pairs in both passes (none of its lines was
    converted), so they are taken from ``converted`` (:func:`~kizuna.analytics.kpi.revenue.prepare_revenue` already
    computed them); only the accounts with a line in another currency (:func:`foreign_accounts`, a few percent where
    a company bills mostly at home) are computed again, from their own lines and payments. The unions are exactly
    :func:`~kizuna.analytics.kpi.revenue.prepare_movements` of ``native`` and its
    :func:`~kizuna.analytics.kpi.revenue.retention_pairs`, at a fraction of their cost.
    """
    done = converted.get(prepared_key("mrr_movements", as_of))
    if done is None:
        return revenue.prepare_movements(native, as_of)
    foreign = foreign_accounts(native, base=base).cache()
    theirs = {**native, "subscriptions": native["subscriptions"].semi_join(foreign, "account_id")}
    if "payments" in native:  # (the involuntary churn flag reads the account's own payment attempts only)
        theirs["payments"] = native["payments"].semi_join(foreign, "account_id")
    # one spine for both (the earliest month of every own line: lines that could not be converted count here)
    first = revenue.first_month(native, as_of)
    theirs[prepared_key("first_month", as_of)] = first
    movements = revenue.mrr_movements(theirs, as_of)
    # (a table cached on Spark reads its casts back as the narrowest type: each union takes one schema)
    recomputed = movements.cache().cast(movements.schema())
    theirs[prepared_key("mrr_movements", as_of)] = recomputed
    out = {**native, prepared_key("first_month", as_of): first}
    # not materialised again: the few reads of the union each skip the foreign accounts of the cached converted table
    out[prepared_key("mrr_movements", as_of)] = _kept(done, foreign, recomputed).union(recomputed)
    converted_pairs = converted.get(prepared_key("retention_pairs_12m", as_of))
    if converted_pairs is not None:
        pairs = revenue.retention_pairs(theirs, as_of)
        out[prepared_key("retention_pairs_12m", as_of)] = _kept(converted_pairs, foreign, pairs).union(pairs)
    return out


def _kept(rows: ir.Table, foreign: ir.Table, like: ir.Table) -> ir.Table:
    """The rows of the accounts billed only in the base currency, with the columns and types of ``like``."""
    return rows.anti_join(foreign, "account_id").select(*like.columns).cast(like.schema())
