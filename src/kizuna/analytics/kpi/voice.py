"""Onboarding, surveys (NPS, CSAT, CES) and support load.

* onboarding completion = every milestone of the account completed by the cut-off; time-to-value = days from the
  account's first subscription line (trials included: the customer started using the product) to the completion of
  its first key milestone (``is_key``);
* NPS = (promoters - detractors) / responses × 100 with promoters 9-10, passives 7-8, detractors 0-6;
  CSAT = share of 4-5 answers (also the mean score); CES = mean score (1-7, higher = easier);
* support load = tickets opened in the last 30 / 90 days, open tickets at the cut-off, escalations, first response.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import Tables, cutoff, days_before, prepared_key, ratio, require
from kizuna.analytics.kpi.breakdowns import breakdown_rows, with_breakdown
from kizuna.errors import InvalidInput

PROMOTER_MIN = 9
DETRACTOR_MAX = 6
CSAT_SATISFIED_MIN = 4


def prepare(tables: Tables, as_of: dt.date) -> dict[str, object]:
    """Return ``tables`` plus :func:`account_onboarding` of ``as_of`` materialised once on the backend (the onboarding
    tables and columns read it). The input mapping is not changed."""
    out = dict(tables)
    if prepared_key("account_onboarding", as_of) not in out:
        out[prepared_key("account_onboarding", as_of)] = account_onboarding(out, as_of).cache()
    return out


def account_onboarding(tables: Tables, as_of: dt.date) -> ir.Table:
    """Onboarding per account known at ``as_of`` that has milestones.

    Columns: ``account_id, milestones, completed, completion_rate, onboarding_complete, started_on`` (first
    subscription start), ``first_value_at`` (first key milestone completed), ``time_to_value_days``.
    """
    prepared = tables.get(prepared_key("account_onboarding", as_of))
    if prepared is not None:
        return prepared
    ms = require(tables, "onboarding_milestones", ("account_id", "completed_at", "is_key"))
    subs = require(tables, "subscriptions", ("account_id", "start_date"))
    end = cutoff(as_of)
    ms = ms.mutate(done=ms.completed_at.notnull() & (ms.completed_at < end))
    per = ms.group_by("account_id").aggregate(
        milestones=ms.count(),
        completed=ms.done.cast("int64").sum(),
        first_value_at=ms.completed_at.min(where=ms.done & ms.is_key.fill_null(False)),
    )
    known = subs.filter(subs.start_date <= ibis.date(as_of))
    started = known.group_by("account_id").aggregate(started_on=known.start_date.min())
    out = per.left_join(started, "account_id").drop("account_id_right")
    out = out.mutate(milestones=out.milestones.cast("int64"), completed=out.completed.cast("int64"))
    return out.mutate(
        completion_rate=ratio(out.completed, out.milestones),
        onboarding_complete=out.completed == out.milestones,
        time_to_value_days=out.first_value_at.date().delta(out.started_on, unit="day").cast("int64"),
    )


def onboarding_summary(tables: Tables, as_of: dt.date, *, by: Sequence[str] = ()) -> ir.Table:
    """Onboarding completion rate and mean time-to-value per ``by`` (median: :func:`median_time_to_value`).

    Columns: ``*by, accounts, completed_accounts, completion_rate, reached_value, mean_time_to_value_days``.
    """
    acc = account_onboarding(tables, as_of)
    acc = with_breakdown(tables, acc.mutate(plan_id=ibis.null("int64")), [b for b in by if b != "plan"])
    g = acc.group_by(list(by)) if by else acc
    out = g.aggregate(
        accounts=acc.count(),
        completed_accounts=acc.onboarding_complete.cast("int64").sum(),
        reached_value=acc.first_value_at.notnull().cast("int64").sum(),
        mean_time_to_value_days=acc.time_to_value_days.mean(),
    )
    out = out.mutate(accounts=out.accounts.cast("int64"))
    return out.mutate(completion_rate=ratio(out.completed_accounts, out.accounts))


def median_time_to_value(tables: Tables, as_of: dt.date) -> float | None:
    """Exact median of ``time_to_value_days`` (computed in pandas after the portable per-account query)."""
    frame = account_onboarding(tables, as_of).select("time_to_value_days").to_pyarrow().to_pandas()
    values = frame.time_to_value_days.dropna()
    return None if values.empty else float(values.median())


def survey_scores(tables: Tables, as_of: dt.date, *, by: Sequence[str] = (), by_each: Sequence[str] = ()) -> ir.Table:
    """NPS, CSAT and CES per calendar month of response (responses before the cut-off), per breakdown ``by`` (or
    each of ``by_each`` in turn, stacked as ``dimension, dimension_value``).

    Columns: ``month, *by, nps_responses, promoters, passives, detractors, nps`` (-100..100),
    ``csat_responses, csat`` (share 4-5), ``csat_mean, ces_responses, ces_mean``.
    """
    if "plan" in [*by, *by_each]:
        raise InvalidInput("survey scores have no plan breakdown (a response belongs to an account, not a plan)")
    sr = require(tables, "survey_responses", ("account_id", "kind", "score", "responded_at"))
    sr = sr.filter(sr.responded_at < cutoff(as_of))
    sr = sr.mutate(month=sr.responded_at.date().truncate("M"))
    sr, group = breakdown_rows(tables, sr, by, by_each)
    nps, csat, ces = sr.kind == "nps", sr.kind == "csat", sr.kind == "ces"
    out = sr.group_by(["month", *group]).aggregate(
        nps_responses=nps.cast("int64").sum(),
        promoters=(nps & (sr.score >= PROMOTER_MIN)).cast("int64").sum(),
        detractors=(nps & (sr.score <= DETRACTOR_MAX)).cast("int64").sum(),
        csat_responses=csat.cast("int64").sum(),
        csat_satisfied=(csat & (sr.score >= CSAT_SATISFIED_MIN)).cast("int64").sum(),
        csat_mean=sr.score.mean(where=csat),
        ces_responses=ces.cast("int64").sum(),
        ces_mean=sr.score.mean(where=ces),
    )
    out = out.mutate(passives=out.nps_responses - out.promoters - out.detractors)
    return out.mutate(
        nps=ratio((out.promoters - out.detractors) * 100, out.nps_responses),
        csat=ratio(out.csat_satisfied, out.csat_responses),
    ).order_by(["month", *group])


def account_voice(tables: Tables, as_of: dt.date, *, window_days: int = 90) -> ir.Table:
    """Per account: latest NPS answer and its category, CSAT / CES means over ``window_days``, support load.

    Columns: ``account_id, nps_score, nps_category`` (promoter / passive / detractor), ``nps_responded_at,
    csat_mean_90d, ces_mean_90d, tickets_30d, tickets_90d, open_tickets, escalated_90d,
    mean_first_response_hours_90d, ticket_csat_mean_90d``.
    """
    accounts = require(tables, "accounts", ("id", "created_at"))
    sr = require(tables, "survey_responses", ("account_id", "kind", "score", "responded_at"))
    tk = require(tables, "tickets", ("account_id", "opened_at", "first_response_at", "closed_at", "escalated", "csat"))
    end, start = cutoff(as_of), days_before(as_of, window_days)
    sr = sr.filter(sr.responded_at < end)
    nps = sr.filter(sr.kind == "nps")
    last = nps.group_by("account_id").aggregate(nps_responded_at=nps.responded_at.max())
    latest = nps.join(last, "account_id").filter(lambda t: t.responded_at == t.nps_responded_at)
    latest = latest.group_by("account_id").aggregate(
        nps_score=latest.score.min(), nps_responded_at=latest.nps_responded_at.max()
    )
    recent = sr.filter(sr.responded_at >= start)
    means = recent.group_by("account_id").aggregate(
        csat_mean_90d=recent.score.mean(where=recent.kind == "csat"),
        ces_mean_90d=recent.score.mean(where=recent.kind == "ces"),
    )
    tk = tk.filter(tk.opened_at < end)
    in90 = tk.opened_at >= start
    hours = (tk.first_response_at.epoch_seconds() - tk.opened_at.epoch_seconds()).cast("float64") / 3600.0
    support = tk.group_by("account_id").aggregate(
        tickets_30d=(tk.opened_at >= days_before(as_of, 30)).cast("int64").sum(),
        tickets_90d=in90.cast("int64").sum(),
        open_tickets=(tk.closed_at.isnull() | (tk.closed_at >= end)).cast("int64").sum(),
        escalated_90d=(in90 & tk.escalated.fill_null(False)).cast("int64").sum(),
        mean_first_response_hours_90d=hours.mean(
            where=in90 & tk.first_response_at.notnull() & (tk.first_response_at < end)
        ),
        ticket_csat_mean_90d=tk.csat.mean(where=in90),
    )
    out = accounts.filter(accounts.created_at <= end).select(account_id=accounts.id)
    for part in (latest, means, support):
        out = out.left_join(part, "account_id").drop("account_id_right")
    zero = ibis.literal(0, "int64")
    out = out.mutate(
        nps_category=ibis.cases(
            (out.nps_score >= PROMOTER_MIN, "promoter"),
            (out.nps_score > DETRACTOR_MAX, "passive"),
            (out.nps_score.notnull(), "detractor"),
            else_=ibis.null("string"),
        ),
        tickets_30d=out.tickets_30d.fill_null(zero).cast("int64"),
        tickets_90d=out.tickets_90d.fill_null(zero).cast("int64"),
        open_tickets=out.open_tickets.fill_null(zero).cast("int64"),
        escalated_90d=out.escalated_90d.fill_null(zero).cast("int64"),
    )
    return out.select(
        "account_id",
        "nps_score",
        "nps_category",
        "nps_responded_at",
        "csat_mean_90d",
        "ces_mean_90d",
        "tickets_30d",
        "tickets_90d",
        "open_tickets",
        "escalated_90d",
        "mean_first_response_hours_90d",
        "ticket_csat_mean_90d",
    )


def support_load(tables: Tables, as_of: dt.date) -> ir.Table:
    """Tickets opened per month and per paying account: ``month, tickets, accounts_with_tickets, escalated``."""
    tk = require(tables, "tickets", ("account_id", "opened_at", "escalated"))
    tk = tk.filter(tk.opened_at < cutoff(as_of))
    tk = tk.mutate(month=tk.opened_at.date().truncate("M"))
    out = tk.group_by("month").aggregate(
        tickets=tk.count(),
        accounts_with_tickets=tk.account_id.nunique(),
        escalated=tk.escalated.fill_null(False).cast("int64").sum(),
    )
    return out.mutate(tickets=out.tickets.cast("int64"), accounts_with_tickets=out.accounts_with_tickets.cast("int64"))
