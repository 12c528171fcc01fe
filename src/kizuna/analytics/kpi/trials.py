"""Trials: started, converted, expired, still open, the conversion rate and the time to convert, by trial month
and plan.

A trial is a subscription line with status ``trial`` (free on ``[start_date, end_date)``; never MRR). It
**converts** when a paid line of the same account starts on or after the trial's start and no later than
``CONVERSION_GRACE_DAYS`` days after its end (and on or before ``as_of``): a paid version of the trial's own contract,
or the first version of another contract (a change to a contract the account already paid for is not a
conversion). Otherwise it has **expired** once its end date has passed, and is **open** while it runs. The
conversion rate is ``converted / (converted + expired)`` (decided trials only: open trials would understate the
rate of recent months); the time to convert is in days from the trial's start to the paid line's start, reported as
its median and quartiles over the converted trials (a few slow conversions would pull a mean far from the usual
case): exact, interpolated between the two nearest converted trials as pandas' ``quantile`` does, the same on DuckDB
and Spark.

Trials are counted by the month they started in, per plan of the trial line; they are not per currency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import OPEN_END, SUBSCRIPTION_COLUMNS, Tables, ratio, require
from kizuna.analytics.kpi.breakdowns import breakdown_rows
from kizuna.analytics.kpi.revenue import NOT_PAID

CONVERSION_GRACE_DAYS = 30
#: the quantiles of the time to convert the summary reports, by column prefix
TIME_TO_CONVERT_QUANTILES = (("p25", 0.25), ("median", 0.5), ("p75", 0.75))


def trial_outcomes(tables: Tables, as_of: dt.date) -> ir.Table:
    """One row per trial line started on or before ``as_of``: ``account_id, plan_id, trial_start, trial_end``
    (null while open-ended), ``month`` (of the start), ``converted_on`` (the paid line's start, or null),
    ``days_to_convert``, ``outcome`` (``converted``, ``expired`` or ``open``)."""
    subs = require(tables, "subscriptions", SUBSCRIPTION_COLUMNS)
    day = ibis.date(as_of)
    trials = subs.filter(subs.status == "trial", subs.start_date <= day)
    trials = trials.select(
        account_id=trials.account_id,
        contract_id=trials.contract_id,
        plan_id=trials.plan_id,
        trial_start=trials.start_date,
        trial_end=trials.end_date,
    )
    # the trial's key (an open end as the far future, so that it joins)
    trials = trials.mutate(end_key=trials.trial_end.fill_null(ibis.date(OPEN_END)))
    keys = ["account_id", "contract_id", "plan_id", "trial_start", "end_key"]
    paid = subs.filter(subs.status.notin(NOT_PAID), subs.start_date <= day)
    # the paid starts that convert a trial: the first version of any contract of the account, or any paid version of
    # the trial's own contract; two equality joins (one join with an OR of both ran a nested loop: 8 s on 50,000
    # accounts where these take a fraction of a second)
    firsts = paid.group_by(["account_id", "contract_id"]).aggregate(p_start=paid.start_date.min())
    firsts = firsts.select(p_account_id=firsts.account_id, p_start=firsts.p_start)
    own = paid.select(p_contract_id=paid.contract_id, p_start=paid.start_date)

    def within(t: ir.Table, p: ir.Table) -> list[ir.BooleanValue]:
        grace = ibis.interval(days=CONVERSION_GRACE_DAYS)
        return [p.p_start >= t.trial_start, t.trial_end.isnull() | (p.p_start <= t.trial_end + grace)]

    new_contract = trials.join(firsts, [trials.account_id == firsts.p_account_id, *within(trials, firsts)])
    same_contract = trials.join(own, [trials.contract_id == own.p_contract_id, *within(trials, own)])
    candidates = ibis.union(
        new_contract.select(*keys, "p_start"), same_contract.select(*keys, "p_start"), distinct=False
    )
    converted = candidates.group_by(keys).aggregate(converted_on=candidates.p_start.min())
    per = trials.left_join(converted, keys).drop(*(f"{k}_right" for k in keys))
    ended = per.trial_end.notnull() & (per.trial_end <= day)
    outcome = ibis.cases(
        (per.converted_on.notnull(), "converted"),
        (ended, "expired"),
        else_="open",
    )
    return per.select(
        "account_id",
        "plan_id",
        "trial_start",
        "trial_end",
        month=per.trial_start.truncate("M"),
        converted_on=per.converted_on,
        days_to_convert=per.converted_on.delta(per.trial_start, unit="day").cast("int64"),
        outcome=outcome,
    )


def trial_summary(
    tables: Tables,
    as_of: dt.date,
    *,
    by: Sequence[str] = (),
    by_each: Sequence[str] = (),
    outcomes: ir.Table | None = None,
) -> ir.Table:
    """Trials per start month (and breakdown ``by``, or each of ``by_each`` stacked as ``dimension,
    dimension_value``): ``month, *by, trials_started, trials_converted, trials_expired, trials_open,
    trial_conversion_rate, median_days_to_convert, p25_days_to_convert, p75_days_to_convert`` (null where nothing
    is decided / converted). ``outcomes``: :func:`trial_outcomes` of the same date, when the caller has them
    already (e.g. cached for several summaries)."""
    outcomes = trial_outcomes(tables, as_of) if outcomes is None else outcomes
    rows, group = breakdown_rows(tables, outcomes, by, by_each)
    keys = ["month", *group]
    # each converted trial's rank by days within its group, and the group's size: the quantiles are picked from
    # these ranks in the one aggregation below (no join: a breakdown value may be null)
    rows = rows.mutate(is_converted=rows.outcome == "converted")
    peers = [*keys, "is_converted"]
    rows = rows.mutate(
        rank=ibis.row_number().over(ibis.window(group_by=peers, order_by=rows.days_to_convert)),
        converted_peers=rows.count().over(ibis.window(group_by=peers)),
    )
    g = rows.group_by(keys)
    quantiles = {}
    for name, q in TIME_TO_CONVERT_QUANTILES:
        # pandas' linear interpolation: position h = (n - 1) q between the floor(h)-th and ceil(h)-th smallest
        h = (rows.converted_peers - 1).cast("float64") * q
        low = rows.days_to_convert.max(where=rows.is_converted & (rows.rank == h.floor()))
        high = rows.days_to_convert.max(where=rows.is_converted & (rows.rank == h.ceil()))
        share = (h - h.floor()).max(where=rows.is_converted)
        quantiles[f"{name}_days_to_convert"] = low.cast("float64") + share * (high - low).cast("float64")
    out = g.aggregate(
        trials_started=rows.count(),
        trials_converted=rows.is_converted.cast("int64").sum(),
        trials_expired=(rows.outcome == "expired").cast("int64").sum(),
        trials_open=(rows.outcome == "open").cast("int64").sum(),
        **quantiles,
    )
    out = out.mutate(trials_started=out.trials_started.cast("int64"))
    return out.select(
        *keys,
        "trials_started",
        "trials_converted",
        "trials_expired",
        "trials_open",
        trial_conversion_rate=ratio(out.trials_converted, out.trials_converted + out.trials_expired),
        median_days_to_convert=out.median_days_to_convert,
        p25_days_to_convert=out.p25_days_to_convert,
        p75_days_to_convert=out.p75_days_to_convert,
    ).order_by(keys)
