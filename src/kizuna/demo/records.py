"""The demo company's other hub rows: billing, onboarding, tickets, surveys, VoC, CS activities and the funnel.

All are drawn from the hidden world (:mod:`kizuna.demo.simulate`): an unhealthy account opens more and more severe
tickets, answers NPS lower (and more often not at all), is late on onboarding milestones and says things in VoC that
point at its hidden churn reason. Each part has its own random stream, so changing one never shifts the others.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from kizuna import models as m
from kizuna.demo import catalog as c
from kizuna.demo import texts
from kizuna.demo.bulk_insert import insert_rows
from kizuna.demo.simulate import World, add_months, sigmoid, stream

VOC_CHANNELS = ("call_center", "web_inquiry", "sales_hearing", "seminar", "user_group", "survey")
VOC_CHANNEL_WEIGHTS = (0.26, 0.2, 0.16, 0.1, 0.08, 0.2)
ENGLISH_SHARE = 0.1


def _draw(rng: np.random.Generator, cum: Any) -> int:
    """One categorical draw from cumulative probabilities (``rng.choice(p=...)`` checks and sums ``p`` per call)."""
    return min(bisect.bisect_right(cum, rng.random()), len(cum) - 1)


def _cum(p: Any) -> Any:
    """Cumulative probabilities as (nested) Python lists, for :func:`_draw`."""
    a = np.cumsum(np.asarray(p, dtype=np.float64), axis=-1)
    return (a / a[..., -1:]).tolist()


def _utc(day: dt.date, seconds: float = 0.0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=float(seconds))


def _work_time(rng: np.random.Generator, day: dt.date) -> dt.datetime:
    """A moment in Japanese working hours (09:00-19:00 JST) on ``day``, as UTC."""
    return _utc(day, (rng.uniform(9, 19) - 9) * 3600)


def write_records(
    conn: Connection,
    world: World,
    account_ids: np.ndarray[Any, Any],
    rows_written: dict[str, int],
    say: Callable[[str], None],
) -> None:
    """Insert the rows drawn from the hidden world besides accounts, contacts and subscriptions, counting the rows
    written per table into ``rows_written``."""
    ctx = _Context(world, account_ids)
    say("writing invoices and payments")
    invoices, payments_by_invoice = billing(ctx)
    rows_written["invoices"] = insert_rows(conn, m.Invoice.__table__, invoices)
    inv_ids = {
        ext: i
        for ext, i in conn.execute(
            m.Invoice.__table__.select().with_only_columns(m.Invoice.__table__.c.external_id, m.Invoice.__table__.c.id)
        )
    }
    del invoices
    payments = [{**p, "invoice_id": inv_ids[p.pop("invoice")]} for p in payments_by_invoice]
    del payments_by_invoice, inv_ids
    rows_written["payments"] = insert_rows(conn, m.Payment.__table__, payments)
    del payments
    say("writing onboarding, tickets, surveys, VoC and activities")
    contact_ids = {
        ext: i
        for ext, i in conn.execute(
            m.Contact.__table__.select().with_only_columns(m.Contact.__table__.c.external_id, m.Contact.__table__.c.id)
        )
    }
    ctx.contact_ids = contact_ids
    rows_written["onboarding_milestones"] = insert_rows(conn, m.OnboardingMilestone.__table__, onboarding(ctx))
    tickets, csat_surveys = support(ctx)
    rows_written["tickets"] = insert_rows(conn, m.Ticket.__table__, tickets)
    rows_written["survey_responses"] = insert_rows(conn, m.SurveyResponse.__table__, surveys(ctx) + csat_surveys)
    rows_written["voc_entries"] = insert_rows(conn, m.VocEntry.__table__, voc(ctx))
    rows_written["activities"] = insert_rows(conn, m.Activity.__table__, activities(ctx))
    say("writing leads, opportunities and marketing spend")
    leads, opps, spend = funnel(ctx)
    rows_written["leads"] = insert_rows(conn, m.Lead.__table__, leads)
    del leads
    lead_ids = {
        ext: i
        for ext, i in conn.execute(
            m.Lead.__table__.select().with_only_columns(m.Lead.__table__.c.external_id, m.Lead.__table__.c.id)
        )
    }
    for o in opps:
        lead = o.pop("lead")
        o["lead_id"] = lead_ids[lead] if lead else None
    rows_written["opportunities"] = insert_rows(conn, m.Opportunity.__table__, opps)
    rows_written["marketing_spend"] = insert_rows(conn, m.MarketingSpend.__table__, spend)


class _Context:
    def __init__(self, world: World, account_ids: np.ndarray[Any, Any]) -> None:
        self.world = world
        self.opts = world.options
        self.account_ids = account_ids
        self.ext = world.external_ids
        self.engagement = sigmoid(world.health.astype(np.float64))
        self.team: list[dict[str, Any]] = world.team  # type: ignore[attr-defined]
        self.team_ids: dict[str, list[int]] = world.team_ids  # type: ignore[attr-defined]
        self.team_names = {t["role"]: [x["name"] for x in self.team if x["role"] == t["role"]] for t in self.team}
        self.owner: np.ndarray[Any, Any] = world.owner  # type: ignore[attr-defined]
        self.touch: np.ndarray[Any, Any] = world.touch_tier  # type: ignore[attr-defined]
        self.contact_ids: dict[str, int] = {}
        self.today = self.opts.end_date
        self.now = _utc(self.today)
        rng = stream(self.opts.seed, "themes")
        self.theme = rng.integers(len(texts.THEMES), size=world.n)  # each account's favourite feature request
        self.n_contacts = np.maximum(3, np.minimum(world.seats.max(axis=0), 20))

    def contact(self, rng: np.random.Generator, i: int, key_only: bool = False) -> tuple[int | None, str]:
        k = int(rng.integers(3 if key_only else int(self.n_contacts[i])))
        ext = f"{self.ext[i]}-U{k:04d}"
        return self.contact_ids.get(ext), ext

    def month_day(self, rng: np.random.Generator, t: int) -> dt.date:
        ms = self.opts.month_start(t)
        days = (add_months(ms, 1) - ms).days
        if t == self.opts.months - 1:
            days = max(1, self.today.day - 1)
        return ms + dt.timedelta(days=int(rng.integers(days)))


# --- billing ---------------------------------------------------------------------------------------------------


def billing(ctx: _Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Invoices per billing period of each contract line, and the payment attempts on them."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "billing")
    fails: dict[tuple[int, int], bool] = {(a, t): final for a, t, final in world.payment_failures}
    first = opts.first_month
    invoices: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    by_contract: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in world.versions:
        if v["status"] != "trial":
            by_contract[v["contract_id"]].append(v)
    seq = 0
    for cid, versions in by_contract.items():
        versions.sort(key=lambda v: v["start_date"])
        prev: dict[str, Any] | None = None
        for v in versions:
            i = v["account"]
            bills: list[tuple[dt.date, int]] = []
            if v["billing_period_months"] == 1:
                day = v["start_date"]
                stop = v["end_date"] or add_months(ctx.today, 1)
                while day < stop and day <= ctx.today:
                    bills.append((day, v["mrr_minor"]))
                    day = add_months(day, 1)
            else:
                renewal = v["renewal_date"]
                remaining = max(1, (renewal.year - v["start_date"].year) * 12 + renewal.month - v["start_date"].month)
                same_term = prev is not None and prev["renewal_date"] == renewal
                amount = (v["mrr_minor"] - prev["mrr_minor"]) * remaining if same_term and prev else v["mrr_minor"] * 12
                if amount > 0 and v["start_date"] <= ctx.today:
                    bills.append((v["start_date"], amount))
            prev = v
            for issued, amount in bills:
                if amount <= 0:
                    continue
                seq += 1
                t = (issued.year - first.year) * 12 + issued.month - first.month
                ext = f"INV-{seq:08d}"
                due = issued + dt.timedelta(days=30 if v["billing_period_months"] == 12 else 10)
                final = fails.get((i, t))
                soft = final is False or rng.random() < 0.004
                attempts: list[tuple[dt.datetime, str, str | None]] = []
                first_try = _utc(issued, 3600 * rng.uniform(0, 8))
                if final is True:
                    for k in range(3):
                        attempts.append(
                            (
                                first_try + dt.timedelta(days=4 * k),
                                "failed",
                                texts._pick(rng, ("card_declined", "insufficient_funds", "expired_card")),
                            )
                        )
                    status, paid_at = "written_off", None
                elif soft:
                    attempts.append((first_try, "failed", texts._pick(rng, ("card_declined", "insufficient_funds"))))
                    attempts.append((first_try + dt.timedelta(days=int(rng.integers(3, 8))), "succeeded", None))
                    status, paid_at = "paid", attempts[-1][0]
                else:
                    attempts.append((first_try + dt.timedelta(days=int(rng.integers(0, 20))), "succeeded", None))
                    status, paid_at = "paid", attempts[-1][0]
                # the newest invoices may still be open or mid-retry
                attempts = [a for a in attempts if a[0] < ctx.now]
                if not attempts or (status == "paid" and paid_at is not None and paid_at >= ctx.now):
                    status, paid_at = "open", None
                elif status == "written_off" and len(attempts) < 3:
                    status = "retrying"
                invoices.append(
                    {
                        "external_id": ext,
                        "account_id": int(ctx.account_ids[i]),
                        "contract_id": cid,
                        "issued_on": issued,
                        "due_on": due,
                        "amount_minor": int(amount),
                        "currency": c.CURRENCY,
                        "status": status,
                        "paid_at": paid_at,
                    }
                )
                for k, (at, pstatus, reason) in enumerate(attempts, start=1):
                    payments.append(
                        {
                            "external_id": f"PAY-{seq:08d}-{k}",
                            "invoice": ext,
                            "account_id": int(ctx.account_ids[i]),
                            "attempted_at": at,
                            "amount_minor": int(amount),
                            "currency": c.CURRENCY,
                            "status": pstatus,
                            "attempt": k,
                            "failure_reason": reason,
                        }
                    )
    return invoices, payments


# --- onboarding ------------------------------------------------------------------------------------------------

MILESTONES = (("kickoff", 7), ("initial_setup", 21), ("training", 35), ("milestone_agreement", 50), ("feedback", 75))


def onboarding(ctx: _Context) -> list[dict[str, Any]]:
    """Five milestones per account from its first paid month; late more often when onboarding quality is low."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "onboarding")
    rows = []
    churn_month = {ch["account"]: ch["month"] for ch in reversed(world.churns)}
    for i in range(world.n):
        t0 = int(world.paid_month[i])
        if t0 >= opts.months:
            continue
        start = opts.month_start(t0)
        q = float(world.onboarding_quality[i])
        churned_soon = i in churn_month and churn_month[i] - t0 <= 12
        lateness = rng.normal(-2.0 - 4.0 * q + (6.0 if churned_soon else 0.0), 6.0, len(MILESTONES))
        delay_acc = 0.0
        for k, (kind, offset) in enumerate(MILESTONES):
            due = start + dt.timedelta(days=offset)
            delay_acc = max(0.0, delay_acc * 0.6 + lateness[k])
            done = due + dt.timedelta(days=round(delay_acc) - int(rng.integers(0, 3)))
            stalled = q < -1.2 and k >= 3 and rng.random() < 0.5
            ended = i in churn_month and opts.month_start(churn_month[i]) <= done
            completed = None if stalled or ended or done >= ctx.today else _work_time(rng, done)
            rows.append(
                {
                    "external_id": f"OB-{ctx.ext[i]}-{k + 1}",
                    "account_id": int(ctx.account_ids[i]),
                    "kind": kind,
                    "owner_id": int(ctx.owner[i]),
                    "due_on": due,
                    "completed_at": completed,
                    "is_key": kind == "initial_setup",
                }
            )
    return rows


# --- support ---------------------------------------------------------------------------------------------------


def support(ctx: _Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tickets: more, and more severe, when an account is unhealthy; CSAT after close (also as survey rows)."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "support")
    rows: list[dict[str, Any]] = []
    csat_rows: list[dict[str, Any]] = []
    seq = 0
    for t in range(opts.months):
        live = world.live[t] > 0
        e = ctx.engagement[t]
        lam = (0.05 + 0.03 * np.log1p(world.seats[t])) * (0.4 + 2.2 * (1 - e) ** 2)
        counts = np.where(live, rng.poisson(lam), 0)
        for i in np.nonzero(counts)[0]:
            for _ in range(int(counts[i])):
                seq += 1
                contact_id, _ext = ctx.contact(rng, int(i))
                subject, body, severity = texts.ticket_text(rng, world.names[i], "担当者")
                bad = 1 - e[i]
                priority = severity
                if severity == "high" and rng.random() < 0.2 + 0.5 * bad:
                    priority = "urgent"
                elif severity == "normal" and rng.random() < 0.3 * bad:
                    priority = "high"
                opened = _work_time(rng, ctx.month_day(rng, t))
                tier = int(ctx.touch[i])
                first_resp = opened + dt.timedelta(hours=float(rng.lognormal(np.log(2 + 3 * tier), 0.8)))
                close_after = dt.timedelta(hours=float(rng.lognormal(np.log(20 + 60 * bad), 0.9)))
                closed: dt.datetime | None = first_resp + close_after
                status = "closed"
                if closed is not None and closed >= ctx.now:
                    status, closed = ("pending" if first_resp < ctx.now else "open"), None
                first_response = first_resp if first_resp < ctx.now else None
                csat = None
                if closed is not None and rng.random() < 0.55 - 0.2 * bad:
                    hours = close_after.total_seconds() / 3600
                    score = 4.7 - 1.6 * bad - 0.3 * (priority == "urgent") - min(0.8, 0.006 * hours)
                    csat = int(np.clip(round(score + rng.normal(0, 0.7)), 1, 5))
                    csat_rows.append(
                        {
                            "external_id": f"CSAT-{seq:07d}",
                            "account_id": int(ctx.account_ids[i]),
                            "contact_id": contact_id,
                            "kind": "csat",
                            "score": csat,
                            "comment": None,
                            "responded_at": closed + dt.timedelta(hours=3),
                        }
                    )
                rows.append(
                    {
                        "external_id": f"TCK-{seq:07d}",
                        "account_id": int(ctx.account_ids[i]),
                        "contact_id": contact_id,
                        "subject": subject,
                        "body": body,
                        "priority": priority,
                        "channel": texts._pick(rng, ("email", "email", "web", "phone", "chat")),
                        "status": status,
                        "escalated": priority == "urgent" and rng.random() < 0.5,
                        "opened_at": opened,
                        "first_response_at": first_response,
                        "closed_at": closed,
                        "csat": csat,
                    }
                )
    return rows, csat_rows


# --- surveys ---------------------------------------------------------------------------------------------------


def _topic_for(ctx: _Context, rng: np.random.Generator, i: int, e: float, score_kind: str = "voc") -> str:
    """What an account talks about: its hidden churn reason when unhappy, requests and praise when happy."""
    unhappy = e < 0.45
    r = rng.random()
    if unhappy:
        if r < 0.6:
            return c.CHURN_REASONS[int(ctx.world.hidden_reason[i])]
        if r < 0.78:
            return c.CHURN_REASONS[int(rng.integers(5))]
        return "feature_request" if r < 0.95 else "praise"
    if r < 0.12:
        return c.CHURN_REASONS[int(ctx.world.hidden_reason[i])]
    if r < 0.2:
        return c.CHURN_REASONS[int(rng.integers(5))]
    return "feature_request" if r < 0.6 else "praise"


def _theme(ctx: _Context, rng: np.random.Generator, i: int) -> str:
    k = int(ctx.theme[i]) if rng.random() < 0.7 else int(rng.random() * len(texts.THEMES))
    return texts.THEMES[k][0]


def surveys(ctx: _Context) -> list[dict[str, Any]]:
    """NPS every six months of tenure (unhealthy accounts answer less often) and CES after onboarding training."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "surveys")
    rows: list[dict[str, Any]] = []
    seq = 0
    for t in range(opts.months):
        tenure = t - world.paid_month
        due = (world.live[t] == 2) & (tenure >= 3) & ((tenure - 3) % 6 == 0)
        for i in np.nonzero(due)[0]:
            e = float(ctx.engagement[t, i])
            h = float(world.health[t, i])
            invited = int(min(ctx.n_contacts[i], 1 + rng.integers(0, 3)))
            for _ in range(invited):
                if rng.random() > 0.15 + 0.5 * e:  # silent customers: the unhappy rarely answer
                    continue
                seq += 1
                contact_id, _ = ctx.contact(rng, int(i))
                score = int(np.clip(round(6.3 + 3.2 * np.tanh(h - 0.4) + rng.normal(0, 1.5)), 0, 10))
                comment = None
                if rng.random() < 0.55:
                    topic = "praise" if score >= 9 else _topic_for(ctx, rng, int(i), e if score >= 7 else min(e, 0.3))
                    comment = texts.voc_text(
                        rng, topic, "survey", english=rng.random() < ENGLISH_SHARE, theme=_theme(ctx, rng, int(i))
                    )
                rows.append(
                    {
                        "external_id": f"NPS-{seq:07d}",
                        "account_id": int(ctx.account_ids[i]),
                        "contact_id": contact_id,
                        "kind": "nps",
                        "score": score,
                        "comment": comment,
                        "responded_at": _work_time(rng, ctx.month_day(rng, t)),
                    }
                )
    for a in range(world.n):
        t0 = int(world.paid_month[a])
        if t0 + 1 >= opts.months or rng.random() > 0.5:
            continue
        e = float(ctx.engagement[t0 + 1, a])
        seq += 1
        contact_id, _ = ctx.contact(rng, a, key_only=True)
        score = int(np.clip(round(3.0 + 1.2 * float(world.onboarding_quality[a]) + 2.5 * e + rng.normal(0, 1)), 1, 7))
        rows.append(
            {
                "external_id": f"CES-{seq:07d}",
                "account_id": int(ctx.account_ids[a]),
                "contact_id": contact_id,
                "kind": "ces",
                "score": score,
                "comment": None,
                "responded_at": _work_time(rng, ctx.month_day(rng, t0 + 1)),
            }
        )
    return rows


# --- VoC -------------------------------------------------------------------------------------------------------


def voc(ctx: _Context) -> list[dict[str, Any]]:
    """VoC from every channel; cancellation surveys for churned accounts; some prospects' voices (no account)."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "voc")
    rows: list[dict[str, Any]] = []
    seq = 0
    chan_cum = _cum(VOC_CHANNEL_WEIGHTS)

    def add(
        i: int | None, channel: str, topic: str, when: dt.datetime, author: str | None, contact_id: int | None
    ) -> None:
        nonlocal seq
        seq += 1
        english = rng.random() < ENGLISH_SHARE
        theme = _theme(ctx, rng, i) if i is not None else texts.THEMES[int(rng.random() * len(texts.THEMES))][0]
        rows.append(
            {
                "external_id": f"VOC-{seq:07d}",
                "account_id": int(ctx.account_ids[i]) if i is not None else None,
                "contact_id": contact_id,
                "channel": channel,
                "text": texts.voc_text(
                    rng, topic, channel, english=english, theme=theme, company=world.names[i] if i is not None else None
                ),
                "language": "en" if english else "ja",
                "author": author,
                "recorded_at": when,
            }
        )

    for t in range(opts.months):
        live = world.live[t] == 2
        e = ctx.engagement[t]
        lam = np.where(live, 0.03 + 0.1 * (1 - e) + 0.05 * (ctx.touch == 0), 0.0)
        counts = rng.poisson(lam)
        for i in np.nonzero(counts)[0]:
            for _ in range(int(counts[i])):
                channel = VOC_CHANNELS[_draw(rng, chan_cum)]
                role = {
                    "call_center": "support",
                    "web_inquiry": "support",
                    "sales_hearing": "field_sales",
                    "seminar": "marketing",
                    "user_group": "csm",
                }.get(channel)
                author = texts._pick(rng, ctx.team_names[role]) if role else None
                contact_id, _ = ctx.contact(rng, int(i))
                add(
                    int(i),
                    channel,
                    _topic_for(ctx, rng, int(i), float(e[i])),
                    _work_time(rng, ctx.month_day(rng, t)),
                    author,
                    contact_id,
                )
        # prospects at seminars and exhibitions
        for _ in range(int(rng.poisson(max(1.0, world.n / 400)))):
            topic = "feature_request" if rng.random() < 0.6 else texts._pick(rng, ("praise", "price_not_worth_it"))
            add(
                None,
                "seminar",
                topic,
                _work_time(rng, ctx.month_day(rng, t)),
                texts._pick(rng, ctx.team_names["marketing"]),
                None,
            )
    for ch in world.churns:
        if ch.get("planned") and ch["notice"] >= ctx.today:
            continue
        i = ch["account"]
        if rng.random() > 0.7:
            continue  # not everyone answers the cancellation survey
        if ch["kind"] == "involuntary":
            topic = "payment"
        elif ch["kind"] == "noise":
            topic = "budget_cut"
        else:
            topic = ch["reason"] if rng.random() < 0.75 else c.CHURN_REASONS[int(rng.integers(5))]
        contact_id, _ = ctx.contact(rng, i, key_only=True)
        notice = ch["notice"]
        add(i, "cancellation_survey", topic, _work_time(rng, notice), None, contact_id)
    return rows


# --- CS activities ---------------------------------------------------------------------------------------------


def activities(ctx: _Context) -> list[dict[str, Any]]:
    """Meetings, calls, e-mails, notes and QBRs: many for high touch, few for low touch, e-mails for tech touch."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "activities")
    rows: list[dict[str, Any]] = []
    seq = 0
    rate = np.array([2.2, 0.7, 0.15])  # per month by touch tier
    kinds = ("meeting", "call", "email", "note")
    kind_cum = _cum([[0.35, 0.25, 0.25, 0.15], [0.15, 0.35, 0.35, 0.15], [0.0, 0.05, 0.9, 0.05]])
    for t in range(opts.months):
        live = world.live[t] == 2
        e = ctx.engagement[t]
        risk = (e < 0.35) | world.intent[t]
        lam = np.where(live, rate[ctx.touch] * np.where(risk & (ctx.touch < 2), 1.6, 1.0), 0.0)
        counts = rng.poisson(lam)
        qbr = live & (ctx.touch == 0) & ((t - world.paid_month) % 3 == 2)
        for i in np.nonzero(counts + qbr)[0]:
            n_acts = int(counts[i]) + int(qbr[i])
            for k in range(n_acts):
                seq += 1
                kind = "qbr" if (qbr[i] and k == 0) else kinds[_draw(rng, kind_cum[int(ctx.touch[i])])]
                subject, body = texts.activity_text(rng, kind, bool(risk[i]))
                contact_id, _ = ctx.contact(rng, int(i), key_only=True)
                rows.append(
                    {
                        "external_id": f"ACT-{seq:07d}",
                        "account_id": int(ctx.account_ids[i]),
                        "contact_id": contact_id,
                        "author_id": int(ctx.owner[i]),
                        "kind": kind,
                        "subject": subject,
                        "body": body,
                        "occurred_at": _work_time(rng, ctx.month_day(rng, t)),
                    }
                )
    return rows


# --- the funnel ------------------------------------------------------------------------------------------------

COST_PER_LEAD = {
    "web": 9_000,
    "seminar": 18_000,
    "exhibition": 45_000,
    "referral": 3_000,
    "ads": 14_000,
    "partner": 11_000,
}


def funnel(ctx: _Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The Model: leads → MQL → SQL → opportunity → won/lost; won opportunities are the accounts; expansion deals."""
    world, opts = ctx.world, ctx.opts
    rng = stream(opts.seed, "funnel")
    marketing, inside, field = ctx.team_ids["marketing"], ctx.team_ids["inside_sales"], ctx.team_ids["field_sales"]
    src_cum = _cum(c.LEAD_SOURCE_WEIGHTS)
    ind_cum = _cum(c.INDUSTRY_WEIGHTS)
    seg_cum = _cum(c.SEGMENT_WEIGHTS)
    surnames = [s for s, _ in c.SURNAMES]
    given = [g for g, _ in c.GIVEN_NAMES]
    leads: list[dict[str, Any]] = []
    opps: list[dict[str, Any]] = []
    lead_months: dict[tuple[int, str], int] = defaultdict(int)
    hour = dt.timedelta(hours=1)

    def new_lead(seq: int, created: dt.datetime, source: str, company: str, industry: str, band: str) -> dict[str, Any]:
        name = f"{texts._pick(rng, surnames)} {texts._pick(rng, given)}"
        ms = dt.date(created.year, created.month, 1)
        lead_months[(int((ms.year - opts.first_month.year) * 12 + ms.month - opts.first_month.month), source)] += 1
        return {
            "external_id": f"LEAD-{seq:07d}",
            "company_name": company,
            "contact_name": name,
            "email": f"lead{seq}@prospect{seq % 997}.example.jp",
            "industry": industry,
            "employee_band": band,
            "source": source,
            "owner_id": int(marketing[int(rng.random() * len(marketing))]),
            "account_id": None,
            "status": "lead",
            "created_at": created,
            "mql_at": None,
            "sql_at": None,
            "opportunity_at": None,
            "first_touch_at": None,
            "disqualified_at": None,
        }

    seq = 0
    first_paid: dict[int, dict[str, Any]] = {}  # the first version of each account's first paid contract (-01)
    for v in world.versions:
        if v["external_id"].endswith("-01-v1"):
            first_paid[v["account"]] = v
    for i in range(world.n):  # won deals: every account came through the funnel
        seq += 1
        signed = world.created_at[i]
        cycle = rng.lognormal(np.log([20, 6, 8, 25][0:4]), 0.5)  # lead->mql, mql->sql, sql->opp, opp->won (days)
        opp_at = signed - dt.timedelta(days=float(cycle[3]))
        sql_at = opp_at - dt.timedelta(days=float(cycle[2]))
        mql_at = sql_at - dt.timedelta(days=float(cycle[1]))
        created = mql_at - dt.timedelta(days=float(cycle[0]))
        source = c.LEAD_SOURCES[_draw(rng, src_cum)]
        lead = new_lead(seq, created, source, world.names[i], c.INDUSTRIES[int(world.industry[i])], world.band[i])
        is_owner = int(inside[int(rng.random() * len(inside))])
        lead.update(
            {
                "status": "opportunity",
                "account_id": int(ctx.account_ids[i]),
                "mql_at": mql_at,
                "sql_at": sql_at,
                "opportunity_at": opp_at,
                "owner_id": is_owner,
                "first_touch_at": mql_at + hour * float(rng.lognormal(np.log(6), 1.2)),
            }
        )
        leads.append(lead)
        ver = first_paid.get(i)
        amount = (
            ver["mrr_minor"] if ver else world.seats[-1, i] * c.BASE_PLANS[int(world.plan_tier[-1, i])].monthly_price
        )
        opps.append(
            {
                "external_id": f"OPP-{seq:07d}",
                "name": f"{world.names[i]} 新規導入",
                "account_id": int(ctx.account_ids[i]),
                "lead": lead["external_id"],
                "owner_id": int(field[int(rng.random() * len(field))]),
                "kind": "new",
                "stage": "won",
                "source": source,
                "amount_minor": int(amount),
                "currency": c.CURRENCY,
                "created_at": opp_at,
                "close_date": signed.date(),
                "closed_at": signed,
            }
        )
    # leads that did not become customers (about 7 for every customer)
    start = _utc(add_months(opts.first_month, -2))
    span = (ctx.now - start).total_seconds()
    for _ in range(world.n * 7):
        seq += 1
        created = start + dt.timedelta(seconds=float(rng.random() ** 0.7 * span))
        source = c.LEAD_SOURCES[_draw(rng, src_cum)]
        ind = _draw(rng, ind_cum)
        seg = _draw(rng, seg_cum)
        band = c.EMPLOYEE_BANDS[seg][int(rng.random() * len(c.EMPLOYEE_BANDS[seg]))]
        company = f"株式会社{texts._pick(rng, c.NAME_STEMS)}{texts._pick(rng, c.INDUSTRY_SUFFIXES[c.INDUSTRIES[ind]])}"
        lead = new_lead(seq, created, source, company, c.INDUSTRIES[ind], band)
        r = rng.random()
        t = created
        if r < 0.45:  # stays a lead (nurturing) or disqualified
            if rng.random() < 0.4:
                lead.update(status="disqualified", disqualified_at=t + dt.timedelta(days=float(rng.uniform(5, 60))))
        else:
            t = t + dt.timedelta(days=float(rng.lognormal(np.log(15), 0.6)))
            lead.update(status="mql", mql_at=t, owner_id=int(inside[int(rng.random() * len(inside))]))
            untouched = rng.random() < 0.12
            if not untouched:
                lead["first_touch_at"] = t + hour * float(rng.lognormal(np.log(8), 1.5))
            if not untouched and r > 0.55:
                t = t + dt.timedelta(days=float(rng.lognormal(np.log(7), 0.5)))
                lead.update(status="sql", sql_at=t)
                if r > 0.65:
                    t = t + dt.timedelta(days=float(rng.lognormal(np.log(9), 0.5)))
                    lead.update(status="opportunity", opportunity_at=t)
                    closed = t + dt.timedelta(days=float(rng.lognormal(np.log(30), 0.5)))
                    lost = closed < ctx.now
                    opps.append(
                        {
                            "external_id": f"OPP-{seq:07d}",
                            "name": f"{company} 新規導入",
                            "account_id": None,
                            "lead": lead["external_id"],
                            "owner_id": int(field[int(rng.random() * len(field))]),
                            "kind": "new",
                            "stage": "lost" if lost else "open",
                            "source": source,
                            "amount_minor": int(rng.lognormal(np.log(30_000), 0.9)),
                            "currency": c.CURRENCY,
                            "created_at": t,
                            "close_date": closed.date(),
                            "closed_at": closed if lost else None,
                        }
                    )
            elif rng.random() < 0.3:
                lead.update(status="disqualified", disqualified_at=t + dt.timedelta(days=float(rng.uniform(5, 40))))
        # nothing in the future
        for key in ("mql_at", "sql_at", "opportunity_at", "first_touch_at", "disqualified_at"):
            if lead[key] is not None and lead[key] >= ctx.now:
                lead[key] = None
        if lead["opportunity_at"] is None and lead["status"] == "opportunity":
            lead["status"] = "sql" if lead["sql_at"] else "mql" if lead["mql_at"] else "lead"
        if lead["sql_at"] is None and lead["status"] == "sql":
            lead["status"] = "mql" if lead["mql_at"] else "lead"
        if lead["mql_at"] is None and lead["status"] == "mql":
            lead["status"] = "lead"
        if lead["disqualified_at"] is None and lead["status"] == "disqualified":
            lead["status"] = "lead"
        leads.append(lead)
    opps = [o for o in opps if o["created_at"] < ctx.now]
    # expansion deals from the simulated changes, and renewals of annual contracts
    for ch in world.changes:
        if ch["kind"] not in ("upsell", "upgrade", "cross_sell"):
            continue
        seq += 1
        i = ch["account"]
        closed = _work_time(
            rng, add_months(opts.month_start(ch["month"]), 0) - dt.timedelta(days=int(rng.integers(3, 20)))
        )
        kind = "cross_sell" if ch["kind"] == "cross_sell" else "upsell"
        opps.append(
            {
                "external_id": f"OPP-{seq:07d}",
                "name": f"{world.names[i]} {'クロスセル' if kind == 'cross_sell' else 'アップセル'}",
                "account_id": int(ctx.account_ids[i]),
                "lead": None,
                "owner_id": int(ctx.owner[i]),
                "kind": kind,
                "stage": "won",
                "source": "customer_success",
                "amount_minor": int(
                    max(1, ch.get("delta_seats", 0)) * c.BASE_PLANS[int(world.plan_tier[ch["month"], i])].monthly_price
                ),
                "currency": c.CURRENCY,
                "created_at": closed - dt.timedelta(days=float(rng.uniform(10, 40))),
                "close_date": closed.date(),
                "closed_at": closed,
            }
        )
        if rng.random() < 0.35:  # and some that did not close
            seq += 1
            lost_at = closed - dt.timedelta(days=int(rng.integers(60, 200)))
            if lost_at > _utc(opts.first_month):
                opps.append(
                    {
                        **opps[-1],
                        "external_id": f"OPP-{seq:07d}",
                        "stage": "lost",
                        "closed_at": lost_at,
                        "close_date": lost_at.date(),
                        "created_at": lost_at - dt.timedelta(days=30),
                    }
                )
    # marketing spend per month and channel: cost per lead with noise, plus events and content
    spend = []
    for month in range(opts.months):
        for channel in c.SPEND_CHANNELS:
            sources = [channel] if channel != "content" else ["web"]
            n_leads = sum(lead_months.get((month, s), 0) for s in sources)
            base = COST_PER_LEAD.get(channel, 2_500) * n_leads
            spend.append(
                {
                    "month": opts.month_start(month),
                    "channel": channel,
                    "amount_minor": int(max(0.0, base * rng.lognormal(0, 0.15))),
                    "currency": c.CURRENCY,
                }
            )
    return leads, opps, spend
