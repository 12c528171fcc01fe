"""MRR, ARR and MRR movements (new, expansion, contraction, churn, reactivation), per account and month.

ChartMogul-style conventions (details and the differences in ``docs/metrics.md``):

* a subscription line contributes its ``mrr_minor`` on every day of ``[start_date, end_date)``; ``trial`` and
  ``paused`` lines never;
* a month's MRR is the MRR on its last day (month-end snapshot); the current month's is the MRR on ``as_of``;
* movements compare an account's month-end MRR with the previous month-end MRR, per account and currency, so an
  upgrade and a downgrade inside one month net out, and several lines of one account add up first;
* ``new`` = first paying month; ``reactivation`` = paying again after a month-end with no MRR;
  ``churn`` = from some MRR to none; ``expansion`` / ``contraction`` = more / less MRR than the month before;
* ``pause`` = less MRR (or none) at a month-end where a line of the account is paused and was not the month before;
  ``resume`` = more MRR after a month-end with a paused line, none now: a pause is neither churn nor MRR, and its
  end is not a reactivation.

All functions return Ibis expressions (execute with ``.to_pandas()``) that run unchanged on DuckDB and Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import (
    EPOCH,
    MICROS_PER_DAY,
    OPEN_END,
    SUBSCRIPTION_COLUMNS,
    Tables,
    cutoff,
    epoch_micros,
    month_spine,
    prepared_key,
    ratio,
    require,
)
from kizuna.analytics.kpi.breakdowns import BREAKDOWNS, breakdown_rows, with_breakdown

KEYS = ["account_id", "currency", "month"]
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "pause", "resume")
NOT_PAID = ("trial", "paused")  # statuses of lines that carry no MRR
INVOLUNTARY_REASONS = ("payment_failed",)
INVOLUNTARY_LOOKBACK_DAYS = 90


def revenue_lines(tables: Tables, as_of: dt.date) -> ir.Table:
    """Subscription lines that count for MRR as of ``as_of``: not trials, not paused, started on or before ``as_of``.

    Adds ``is_addon`` (from ``plans``) and ``end_open`` (``end_date`` with open ends as 9999-12-31).
    """
    subs = require(tables, "subscriptions", SUBSCRIPTION_COLUMNS)
    plans = require(tables, "plans", ("id", "is_addon"))
    lines = subs.filter(subs.status.notin(NOT_PAID), subs.start_date <= ibis.date(as_of))
    addon = plans.select(addon_plan_id=plans.id, is_addon=plans.is_addon.fill_null(False))
    lines = lines.left_join(addon, lines.plan_id == addon.addon_plan_id).drop("addon_plan_id")
    return lines.mutate(
        is_addon=lines.is_addon.fill_null(False),
        end_open=lines.end_date.fill_null(ibis.date(OPEN_END)),
    )


def prepare_revenue(tables: Tables, as_of: dt.date) -> dict[str, Any]:
    """:func:`kizuna.analytics.kpi.intermediates.prepare` of the revenue intermediates only (no event or lead is
    read): ``tables`` plus account MRR, MRR movements, trailing-12-month retention pairs and the MRR summary of
    ``as_of`` (``tables`` itself, copied, when it holds them already)."""
    out = dict(tables)
    if prepared_key("mrr_summary", as_of) in out:
        return out
    out[prepared_key("first_month", as_of)] = first_month(tables, as_of)
    out[prepared_key("account_mrr", as_of)] = account_mrr(out, as_of).cache()
    # movements carry every breakdown attribute, so later KPIs are small queries over one cached table
    movements = with_breakdown(tables, mrr_movements(out, as_of), BREAKDOWNS)
    out[prepared_key("mrr_movements", as_of)] = movements.cache()
    # the trailing-12-month pairs once, with every breakdown: each MRR summary then only groups them
    out[prepared_key("retention_pairs_12m", as_of)] = retention_pairs(out, as_of, by=BREAKDOWNS).cache()
    out[prepared_key("mrr_summary", as_of)] = mrr_summary(out, as_of).cache()
    return out


def prepare_movements(tables: Tables, as_of: dt.date) -> dict[str, Any]:
    """``tables`` plus the account MRR and the MRR movements of ``as_of`` only (no breakdown, no retention pairs):
    what a second, smaller pass needs (each currency's own figures beside the converted ones) so that its summary,
    retention and accounts share one computation of the movements."""
    out = dict(tables)
    if prepared_key("mrr_movements", as_of) in out:
        return out
    out[prepared_key("first_month", as_of)] = first_month(tables, as_of)
    out[prepared_key("account_mrr", as_of)] = account_mrr(out, as_of).cache()
    out[prepared_key("mrr_movements", as_of)] = mrr_movements(out, as_of).cache()
    return out


def first_month(tables: Tables, as_of: dt.date) -> dt.date:
    """The first calendar month with a revenue line (or ``as_of``'s month when there is none). Executes a query."""
    known = tables.get(prepared_key("first_month", as_of))
    if known is not None:
        return known  # type: ignore[no-any-return]
    lines = revenue_lines(tables, as_of)
    value = lines.start_date.min().to_pyarrow().as_py()
    return (value or as_of).replace(day=1)


def paused_mrr(tables: Tables, as_of: dt.date) -> ir.Table:
    """Paused lines at each month-end: ``account_id, currency, month, paused_lines, paused_mrr_minor`` (the MRR the
    lines carry while on hold, counted in no MRR), for account-months with a paused line valid on the snapshot day.

    A paused line is on hold only while no paid line of its contract runs: a customer who resumes before the
    pause's recorded end (a paid version starting inside it) is no longer on pause. A paused version that ends on
    or before its own start is never in force."""
    subs = require(tables, "subscriptions", SUBSCRIPTION_COLUMNS)
    paused = subs.filter(subs.status == "paused", subs.start_date <= ibis.date(as_of))
    paused = paused.mutate(end_open=paused.end_date.fill_null(ibis.date(OPEN_END)))
    spine = month_spine(tables, first_month(tables, as_of), as_of)
    j = paused.join(spine, [paused.start_date <= spine.snapshot_day, paused.end_open > spine.snapshot_day])
    lines = revenue_lines(tables, as_of)
    paid = lines.select(r_contract=lines.contract_id, r_start=lines.start_date, r_end=lines.end_open)
    j = j.anti_join(
        paid, [j.contract_id == paid.r_contract, paid.r_start <= j.snapshot_day, paid.r_end > j.snapshot_day]
    )
    out = j.group_by(KEYS).aggregate(paused_lines=j.count(), paused_mrr_minor=j.mrr_minor.sum())
    return out.mutate(paused_lines=out.paused_lines.cast("int64"), paused_mrr_minor=out.paused_mrr_minor.cast("int64"))


def account_mrr(tables: Tables, as_of: dt.date) -> ir.Table:
    """MRR per account, currency and month (month-end snapshots), for months with at least one valid line.

    Columns: ``account_id, currency, month, snapshot_day, mrr_minor, base_mrr_minor, addon_mrr_minor, seats,
    addon_plans, plan_id`` (the base plan with the most MRR; ties: lowest id).
    """
    prepared = tables.get(prepared_key("account_mrr", as_of))
    if prepared is not None:
        return prepared
    lines = revenue_lines(tables, as_of)
    spine = month_spine(tables, first_month(tables, as_of), as_of)
    j = lines.join(spine, [lines.start_date <= spine.snapshot_day, lines.end_open > spine.snapshot_day])
    per_plan = j.group_by([*KEYS, "plan_id", "is_addon"]).aggregate(
        mrr=j.mrr_minor.sum(), seats=j.quantity.sum(), snapshot_day=j.snapshot_day.max()
    )
    zero = ibis.literal(0, "int64")
    # the main plan: the base plan with the most MRR, the lowest id among equals (one pass: the largest key)
    rank = ibis.struct({"mrr": per_plan.mrr, "lowest_id": -per_plan.plan_id})
    am = per_plan.group_by(KEYS).aggregate(
        snapshot_day=per_plan.snapshot_day.max(),  # (one per month: the month-end or as_of)
        mrr_minor=per_plan.mrr.sum(),
        base_mrr_minor=per_plan.mrr.sum(where=~per_plan.is_addon),
        addon_mrr_minor=per_plan.mrr.sum(where=per_plan.is_addon),
        seats=per_plan.seats.sum(where=~per_plan.is_addon),
        # per_plan has one row per plan here (is_addon belongs to the plan): a count, not a distinct count
        addon_plans=(per_plan.is_addon & (per_plan.mrr > 0)).cast("int64").sum(),
        plan_id=per_plan.plan_id.argmax(rank, where=~per_plan.is_addon),
    )
    return am.mutate(
        mrr_minor=am.mrr_minor.cast("int64"),
        base_mrr_minor=am.base_mrr_minor.fill_null(zero).cast("int64"),
        addon_mrr_minor=am.addon_mrr_minor.fill_null(zero).cast("int64"),
        seats=am.seats.fill_null(zero).cast("int64"),
        addon_plans=am.addon_plans.fill_null(zero).cast("int64"),
    )


def mrr(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ()) -> ir.Table:
    """MRR and ARR on ``as_of`` per currency (and breakdown): ``mrr_minor, arr_minor, customers``."""
    months = mrr_movements(tables, as_of)
    current = months.filter(months.month == ibis.date(as_of.replace(day=1)), months.mrr_minor > 0)
    current = with_breakdown(tables, current, by)
    out = current.group_by(["currency", *by]).aggregate(mrr_minor=current.mrr_minor.sum(), customers=current.count())
    return out.mutate(arr_minor=out.mrr_minor * 12, customers=out.customers.cast("int64"))


def mrr_movements(tables: Tables, as_of: dt.date) -> ir.Table:
    """One row per account, currency and month in which the account had MRR at the month's start or end.

    Columns: ``account_id, currency, month, snapshot_day, mrr_start_minor`` (previous month-end),
    ``mrr_minor`` (this month-end), ``movement`` (``new``, ``expansion``, ``contraction``, ``churn``,
    ``reactivation``, ``pause``, ``resume`` or ``flat``), one column per movement ``<movement>_minor`` (churn,
    contraction and pause negative;
    they add up to ``mrr_minor - mrr_start_minor``), ``base_mrr_minor``, ``base_mrr_start_minor``,
    ``addon_plans``, ``addon_plans_start``, ``upsell`` (base-plan MRR grew), ``cross_sell`` (more add-on plans),
    ``involuntary`` (a churn caused by failed payments), ``plan_id`` (this month's main plan, else last month's),
    ``cohort_month`` (first paying month) and ``tenure_months`` (months since the cohort month).
    """
    prepared = tables.get(prepared_key("mrr_movements", as_of))
    if prepared is not None:
        return prepared
    am = account_mrr(tables, as_of)
    spine = month_spine(tables, first_month(tables, as_of), as_of)
    zero = ibis.literal(0, "int64")
    # each account-month with MRR at its end (this month's row) or at its start (last month's row, moved on a month):
    # an outer join of the two, kept to the months up to as_of's
    current = am.select("account_id", "currency", "month", "mrr_minor", "base_mrr_minor", "addon_plans", "plan_id")
    moved = am.join(spine, am.month == spine.month)
    previous = moved.select(
        start_account_id=moved.account_id,
        start_currency=moved.currency,
        start_month=moved.next_month,
        mrr_start_minor=moved.mrr_minor,
        base_mrr_start_minor=moved.base_mrr_minor,
        addon_plans_start=moved.addon_plans,
        plan_id_start=moved.plan_id,
    )
    both = current.outer_join(
        previous,
        [
            current.account_id == previous.start_account_id,
            current.currency == previous.start_currency,
            current.month == previous.start_month,
        ],
    )
    both = both.select(
        account_id=ibis.coalesce(both.account_id, both.start_account_id),
        currency=ibis.coalesce(both.currency, both.start_currency),
        month=ibis.coalesce(both.month, both.start_month),
        mrr_minor=both.mrr_minor.fill_null(zero),
        base_mrr_minor=both.base_mrr_minor.fill_null(zero),
        addon_plans=both.addon_plans.fill_null(zero),
        plan_id=both.plan_id,
        mrr_start_minor=both.mrr_start_minor.fill_null(zero),
        base_mrr_start_minor=both.base_mrr_start_minor.fill_null(zero),
        addon_plans_start=both.addon_plans_start.fill_null(zero),
        plan_id_start=both.plan_id_start,
    )
    mv = both.view().join(spine.select("month", "snapshot_day"), "month")  # (view: Ibis would fold the joins)
    mv = mv.filter((mv.mrr_minor > 0) | (mv.mrr_start_minor > 0))
    paying = am.filter(am.mrr_minor > 0)
    cohorts = paying.group_by(["account_id", "currency"]).aggregate(cohort_month=paying.month.min())
    mv = mv.join(cohorts, ["account_id", "currency"])
    mv = _with_pauses(tables, mv, spine, as_of)

    start, end = mv.mrr_start_minor, mv.mrr_minor
    paused_now, paused_then = mv.paused_now, mv.paused_then
    movement = ibis.cases(
        # a return after a pause is a resume even in another currency than the paused line's (paused_then_any)
        ((start == 0) & mv.paused_then_any, "resume"),
        ((start == 0) & (mv.month == mv.cohort_month), "new"),
        (start == 0, "reactivation"),
        ((end < start) & paused_now & ~paused_then, "pause"),
        (end == 0, "churn"),
        ((end > start) & paused_then & ~paused_now, "resume"),
        (end > start, "expansion"),
        (end < start, "contraction"),
        else_="flat",
    )
    mv = mv.mutate(movement=movement)
    delta = end - start
    mv = mv.mutate(
        new_minor=ibis.ifelse(mv.movement == "new", delta, zero),
        expansion_minor=ibis.ifelse(mv.movement == "expansion", delta, zero),
        contraction_minor=ibis.ifelse(mv.movement == "contraction", delta, zero),
        churn_minor=ibis.ifelse(mv.movement == "churn", delta, zero),
        reactivation_minor=ibis.ifelse(mv.movement == "reactivation", delta, zero),
        pause_minor=ibis.ifelse(mv.movement == "pause", delta, zero),
        resume_minor=ibis.ifelse(mv.movement == "resume", delta, zero),
        upsell=(mv.mrr_start_minor > 0) & (mv.base_mrr_start_minor > 0) & (mv.base_mrr_minor > mv.base_mrr_start_minor),
        cross_sell=(mv.mrr_start_minor > 0) & (mv.mrr_minor > 0) & (mv.addon_plans > mv.addon_plans_start),
        plan_id=mv.plan_id.fill_null(mv.plan_id_start),
        tenure_months=_months_between(mv.cohort_month, mv.month),
    )
    mv = _flag_involuntary(tables, mv, as_of)
    return mv.select(
        "account_id",
        "currency",
        "month",
        "snapshot_day",
        "mrr_start_minor",
        "mrr_minor",
        "movement",
        *(f"{m}_minor" for m in MOVEMENTS),
        "base_mrr_start_minor",
        "base_mrr_minor",
        "addon_plans_start",
        "addon_plans",
        "upsell",
        "cross_sell",
        "involuntary",
        "plan_id",
        "cohort_month",
        "tenure_months",
    )


def _with_pauses(tables: Tables, mv: ir.Table, spine: ir.Table, as_of: dt.date) -> ir.Table:
    """``mv`` with ``paused_now`` / ``paused_then``: the account has a paused line in the row's currency at this /
    the previous month-end; ``paused_then_any``: in any currency at the previous month-end."""
    paused = paused_mrr(tables, as_of)
    now = paused.select(p_account_id=paused.account_id, p_currency=paused.currency, p_month=paused.month, p_now=True)
    shifted = paused.join(spine, paused.month == spine.month)
    then = shifted.select(
        q_account_id=shifted.account_id, q_currency=shifted.currency, q_month=shifted.next_month, q_then=True
    )
    out = mv.left_join(now, [mv.account_id == now.p_account_id, mv.currency == now.p_currency, mv.month == now.p_month])
    out = out.left_join(
        then, [out.account_id == then.q_account_id, out.currency == then.q_currency, out.month == then.q_month]
    )
    anywhere = then.select(a_account_id=then.q_account_id, a_month=then.q_month).distinct().mutate(a_then=True)
    out = out.left_join(anywhere, [out.account_id == anywhere.a_account_id, out.month == anywhere.a_month])
    out = out.mutate(
        paused_now=out.p_now.fill_null(False),
        paused_then=out.q_then.fill_null(False),
        paused_then_any=out.a_then.fill_null(False),
    )
    return out.drop(
        "p_account_id",
        "p_currency",
        "p_month",
        "p_now",
        "q_account_id",
        "q_currency",
        "q_month",
        "q_then",
        "a_account_id",
        "a_month",
        "a_then",
    )


def _months_between(first: ir.DateValue, later: ir.DateValue) -> ir.IntegerValue:
    return ((later.year() - first.year()) * 12 + later.month() - first.month()).cast("int64")


def _flag_involuntary(tables: Tables, mv: ir.Table, as_of: dt.date) -> ir.Table:
    """Mark churn rows caused by failed payments.

    Involuntary when a line of the account that ended in the month (``end_date`` in ``[month, snapshot_day]``) has a
    ``cancellation_reason`` in ``INVOLUNTARY_REASONS``, or when the account's last payment attempt within
    ``INVOLUNTARY_LOOKBACK_DAYS`` days up to the snapshot day failed (no later successful attempt).
    """
    lines = revenue_lines(tables, as_of)
    payments = require(tables, "payments", ("account_id", "attempted_at", "status"))
    churned = mv.filter(mv.movement == "churn").select("account_id", "currency", "month", "snapshot_day")

    ended = lines.filter(lines.cancellation_reason.isin(list(INVOLUNTARY_REASONS)))
    by_reason = (
        churned.join(
            ended,
            [
                churned.account_id == ended.account_id,
                churned.currency == ended.currency,
                ended.end_date >= churned.month,
                ended.end_date <= churned.snapshot_day,
            ],
        )
        .select(lambda t: t.account_id, lambda t: t.month, lambda t: t.currency)
        .distinct()
        .mutate(by_reason=ibis.literal(True))
    )

    known = payments.filter(payments.attempted_at < cutoff(as_of))
    # UTC day numbers: cheaper than dates of 400,000 aware timestamps (DuckDB goes through ICU's calendar for those)
    known = known.mutate(attempt_day=epoch_micros(tables, known.attempted_at) // MICROS_PER_DAY)
    churned = churned.mutate(churn_day=churned.snapshot_day.delta(ibis.date(EPOCH), unit="day"))
    pj = churned.join(
        known,
        [
            churned.account_id == known.account_id,
            known.attempt_day <= churned.churn_day,
            known.attempt_day > churned.churn_day - INVOLUNTARY_LOOKBACK_DAYS,
        ],
    )
    by_payment = pj.group_by(["account_id", "currency", "month"]).aggregate(
        last_failed=pj.attempted_at.max(where=pj.status == "failed"),
        last_succeeded=pj.attempted_at.max(where=pj.status == "succeeded"),
    )
    by_payment = by_payment.filter(
        by_payment.last_failed.notnull()
        & (by_payment.last_succeeded.isnull() | (by_payment.last_succeeded < by_payment.last_failed))
    ).select("account_id", "currency", "month", by_payment=ibis.literal(True))

    out = mv.left_join(by_reason, KEYS).drop("account_id_right", "currency_right", "month_right")
    out = out.left_join(by_payment, KEYS).drop("account_id_right", "currency_right", "month_right")
    return out.mutate(
        involuntary=(out.movement == "churn") & (out.by_reason.fill_null(False) | out.by_payment.fill_null(False))
    ).drop("by_reason", "by_payment")


def mrr_summary(tables: Tables, as_of: dt.date, *, by: Sequence[str] = (), by_each: Sequence[str] = ()) -> ir.Table:
    """Monthly MRR movements, customer counts and rates per currency (and breakdown ``by``, or each breakdown of
    ``by_each`` in turn, stacked in one table as ``dimension, dimension_value``: one query for several).

    Columns: ``currency, month, *by``, MRR (``mrr_start_minor, mrr_minor, arr_minor, net_new_mrr_minor`` and one
    column per movement, ``churn_voluntary_minor, churn_involuntary_minor``), counts (``customers_start, customers,
    new_customers, reactivated_customers, paused_customers, resumed_customers, churned_customers,
    churned_involuntary_customers, expanded_customers,
    contracted_customers, upsell_customers, cross_sell_customers``) and rates (``arpa_minor, logo_churn_rate,
    gross_revenue_churn_rate, net_revenue_churn_rate, grr, nrr, quick_ratio, upsell_rate, cross_sell_rate``;
    null where the denominator is 0). Formulas: ``docs/metrics.md``.
    """
    prepared = None if by or by_each else tables.get(prepared_key("mrr_summary", as_of))
    if prepared is not None:
        return prepared
    mv, group = breakdown_rows(tables, mrr_movements(tables, as_of), by, by_each)
    keys = ["currency", "month", *group]
    g = mv.group_by(keys)
    paying_start = mv.mrr_start_minor > 0
    out = g.aggregate(
        mrr_start_minor=mv.mrr_start_minor.sum(),
        mrr_minor=mv.mrr_minor.sum(),
        new_minor=mv.new_minor.sum(),
        expansion_minor=mv.expansion_minor.sum(),
        contraction_minor=mv.contraction_minor.sum(),
        churn_minor=mv.churn_minor.sum(),
        reactivation_minor=mv.reactivation_minor.sum(),
        pause_minor=mv.pause_minor.sum(),
        resume_minor=mv.resume_minor.sum(),
        churn_involuntary_minor=mv.churn_minor.sum(where=mv.involuntary),
        customers_start=paying_start.cast("int64").sum(),
        customers=(mv.mrr_minor > 0).cast("int64").sum(),
        new_customers=(mv.movement == "new").cast("int64").sum(),
        reactivated_customers=(mv.movement == "reactivation").cast("int64").sum(),
        paused_customers=(mv.movement == "pause").cast("int64").sum(),
        resumed_customers=(mv.movement == "resume").cast("int64").sum(),
        churned_customers=(mv.movement == "churn").cast("int64").sum(),
        churned_involuntary_customers=mv.involuntary.cast("int64").sum(),
        expanded_customers=(mv.movement == "expansion").cast("int64").sum(),
        contracted_customers=(mv.movement == "contraction").cast("int64").sum(),
        upsell_customers=mv.upsell.cast("int64").sum(),
        cross_sell_customers=mv.cross_sell.cast("int64").sum(),
    )
    zero = ibis.literal(0, "int64")
    out = out.mutate(churn_involuntary_minor=out.churn_involuntary_minor.fill_null(zero).cast("int64"))
    out = out.mutate(
        churn_voluntary_minor=(out.churn_minor - out.churn_involuntary_minor).cast("int64"),
        net_new_mrr_minor=(out.mrr_minor - out.mrr_start_minor).cast("int64"),
        arr_minor=(out.mrr_minor * 12).cast("int64"),
        arpa_minor=ratio(out.mrr_minor, out.customers),
        logo_churn_rate=ratio(out.churned_customers, out.customers_start),
        gross_revenue_churn_rate=ratio(-(out.churn_minor + out.contraction_minor), out.mrr_start_minor),
        net_revenue_churn_rate=ratio(
            -(out.churn_minor + out.contraction_minor + out.expansion_minor + out.reactivation_minor),
            out.mrr_start_minor,
        ),
        grr=ratio(out.mrr_start_minor + out.churn_minor + out.contraction_minor, out.mrr_start_minor),
        nrr=ratio(
            out.mrr_start_minor + out.churn_minor + out.contraction_minor + out.expansion_minor, out.mrr_start_minor
        ),
        quick_ratio=ratio(
            out.new_minor + out.expansion_minor + out.reactivation_minor, -(out.churn_minor + out.contraction_minor)
        ),
        upsell_rate=ratio(out.upsell_customers, out.customers_start),
        cross_sell_rate=ratio(out.cross_sell_customers, out.customers_start),
    )
    t12 = trailing_retention(tables, as_of, by=by, by_each=by_each)
    out = out.left_join(t12, keys).drop(*(f"{k}_right" for k in keys))
    return out.order_by(keys)


def trailing_retention(
    tables: Tables, as_of: dt.date, *, by: Sequence[str] = (), by_each: Sequence[str] = (), months: int = 12
) -> ir.Table:
    """GRR and NRR over the trailing ``months`` months, for every month: ``grr_12m, nrr_12m``.

    The accounts paying at the month-end ``months`` months earlier are followed to this month-end:
    ``nrr_12m = Σ MRR now / Σ MRR then``; ``grr_12m = Σ min(MRR now, MRR then) / Σ MRR then`` (per account, so
    expansion never offsets another account's loss). Breakdown attributes are taken at the earlier month.
    """
    pairs = tables.get(prepared_key(f"retention_pairs_{months}m", as_of))
    if pairs is None or any(b not in pairs.columns for b in [*by, *by_each]):
        pairs = retention_pairs(tables, as_of, by=[*by, *by_each], months=months)
    pairs, group = breakdown_rows(tables, pairs, by, by_each)
    out = pairs.group_by(["currency", "month", *group]).aggregate(
        mrr_then=pairs.mrr_then.sum(),
        mrr_now=pairs.mrr_now.sum(),
        mrr_kept=ibis.least(pairs.mrr_now, pairs.mrr_then).sum(),
    )
    suffix = f"{months}m"
    return out.select(
        "currency",
        "month",
        *group,
        **{f"grr_{suffix}": ratio(out.mrr_kept, out.mrr_then), f"nrr_{suffix}": ratio(out.mrr_now, out.mrr_then)},
    )


def retention_pairs(tables: Tables, as_of: dt.date, *, by: Sequence[str] = (), months: int = 12) -> ir.Table:
    """Every account paying at a month-end, followed ``months`` months on (for :func:`trailing_retention`).

    Columns: ``account_id, currency, month`` (the later month, up to ``as_of``'s), ``mrr_then``, ``mrr_now`` (0 when
    no longer paying), ``plan_id``, ``cohort_month`` and the breakdown attributes ``by``, taken at the earlier month.
    """
    mv = mrr_movements(tables, as_of)
    then = mv.filter(mv.mrr_minor > 0).select(
        "account_id",
        "currency",
        "plan_id",
        "cohort_month",
        *(b for b in by if b in mv.columns and b not in ("plan_id", "cohort_month")),
        start_month=mv.month,
        mrr_then=mv.mrr_minor,
    )
    then = then.mutate(month=(then.start_month + ibis.interval(months=months)))
    now = mv.select("account_id", "currency", "month", mrr_now=mv.mrr_minor)
    spine = month_spine(tables, first_month(tables, as_of), as_of).select("month")
    then = then.join(spine, "month")  # only months up to as_of
    joined = then.left_join(now, KEYS).drop("account_id_right", "currency_right", "month_right")
    joined = joined.mutate(mrr_now=joined.mrr_now.fill_null(ibis.literal(0, "int64")))
    return with_breakdown(tables, joined, by)


def renewals(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ()) -> ir.Table:
    """Renewal rate per month: contracts whose renewal date fell in the month (and before ``as_of``), and how many
    were renewed (a non-trial line of the contract is valid on the renewal date).

    Columns: ``currency, month, *by, contracts_up, contracts_renewed, mrr_up_minor, mrr_renewed_minor,
    renewal_rate, renewal_mrr_rate``. ``mrr_up_minor`` is the contract's MRR the day before the renewal date.
    """
    lines = revenue_lines(tables, as_of)
    due = lines.filter(lines.renewal_date.notnull(), lines.renewal_date <= ibis.date(as_of))
    due = due.select("account_id", "contract_id", "currency", "renewal_date").distinct()
    before = lines.select(
        b_contract=lines.contract_id,
        b_start=lines.start_date,
        b_end=lines.end_open,
        b_mrr=lines.mrr_minor,
        b_plan=lines.plan_id,
    )
    j = due.left_join(
        before,
        [due.contract_id == before.b_contract, before.b_start < due.renewal_date, before.b_end >= due.renewal_date],
    )
    up = j.group_by(["account_id", "contract_id", "currency", "renewal_date"]).aggregate(
        mrr_up=j.b_mrr.sum(), plan_id=j.b_plan.min()
    )
    after = lines.select(
        a_contract=lines.contract_id, a_start=lines.start_date, a_end=lines.end_open, a_mrr=lines.mrr_minor
    )
    k = up.left_join(
        after, [up.contract_id == after.a_contract, after.a_start <= up.renewal_date, after.a_end > up.renewal_date]
    )
    res = k.group_by(["account_id", "contract_id", "currency", "renewal_date", "plan_id"]).aggregate(
        mrr_up=k.mrr_up.max(), mrr_after=k.a_mrr.sum()
    )
    res = res.mutate(
        month=res.renewal_date.truncate("M"),
        renewed=res.mrr_after.notnull() & (res.mrr_after > 0),
        mrr_up=res.mrr_up.fill_null(ibis.literal(0, "int64")),
    )
    res = with_breakdown(tables, res, by)
    out = res.group_by(["currency", "month", *by]).aggregate(
        contracts_up=res.count(),
        contracts_renewed=res.renewed.cast("int64").sum(),
        mrr_up_minor=res.mrr_up.sum(),
        mrr_renewed_minor=res.mrr_up.sum(where=res.renewed),
    )
    zero = ibis.literal(0, "int64")
    out = out.mutate(
        contracts_up=out.contracts_up.cast("int64"),
        mrr_renewed_minor=out.mrr_renewed_minor.fill_null(zero).cast("int64"),
    )
    return out.mutate(
        renewal_rate=ratio(out.contracts_renewed, out.contracts_up),
        renewal_mrr_rate=ratio(out.mrr_renewed_minor, out.mrr_up_minor),
    ).order_by(["currency", "month", *by])
