"""What a QBR deck says, in one language, for one audience: slides of figures, one chart each, and tables.

The deck is plain data (strings already in the reader's language and format), so the PowerPoint, the PDF and the
HTML page draw the same thing. Two audiences:

* ``customer``: what a CSM sends: usage and adoption, success-plan goals against results, value delivered, next
  steps agreed. Nothing internal: no churn risk, health score, health drivers, internal tasks or revenue figures.
* ``internal``: the same slides, then the account team's own: health scorecards and their drivers, churn risk and
  its drivers, open tasks, MRR history. Every internal slide is marked so.

The next steps agreed are the success plan's open goals and the onboarding milestones ahead (what the customer and
the CSM agreed on, with dates), then the renewal; the account team's tasks stay internal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts import service as accounts
from kizuna.accounts.models import TeamMember
from kizuna.billing.models import Plan, Subscription
from kizuna.health import service as health_service
from kizuna.kpis import service as kpis
from kizuna.lifecycle import service as lifecycle_service
from kizuna.onboarding.models import OnboardingMilestone
from kizuna.platform.web import i18n
from kizuna.risk import service as risk_service
from kizuna.settings import Settings
from kizuna.support.models import Ticket
from kizuna.tasks import service as tasks_service
from kizuna.usage.rollups import account_history
from kizuna.usage.store import EventStore
from kizuna.voc.models import SurveyResponse

Audience = Literal["customer", "internal"]
AUDIENCES: tuple[Audience, ...] = ("customer", "internal")
#: months of usage on the trend chart
TREND_MONTHS = 12


@dataclasses.dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    #: drawn as columns (``bar``) or as a line on the same axis
    style: Literal["bar", "line"] = "bar"


@dataclasses.dataclass(frozen=True)
class Chart:
    """Categories along the x axis (months, goals), one or more series; ``percent``: values are ratios (0.5 = 50 %)."""

    categories: list[str]
    series: list[Series]
    percent: bool = False
    #: horizontal bars (long category names: goals)
    horizontal: bool = False

    def values_max(self) -> float:
        found = [v for s in self.series for v in s.values if v is not None]
        return max(found, default=0.0)


@dataclasses.dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]

    def relative_widths(self) -> list[float]:
        """Column widths relative to each other: a column of long text (a goal, a step) wider than one of figures."""
        return [
            float(min(max(len(head), *(len(row[c]) for row in self.rows), 6), 28)) for c, head in enumerate(self.header)
        ]


@dataclasses.dataclass(frozen=True)
class Slide:
    key: str
    title: str
    figures: list[Figure] = dataclasses.field(default_factory=list)
    chart: Chart | None = None
    chart_title: str = ""
    table: Table | None = None
    bullets: list[str] = dataclasses.field(default_factory=list)
    #: said instead of the chart and table when there is nothing to show
    empty: str = ""
    internal: bool = False


@dataclasses.dataclass(frozen=True)
class Deck:
    account_id: int
    account_name: str
    language: str
    audience: Audience
    title: str
    period: str
    prepared: str
    presenter: str
    confidential: str
    slides: list[Slide]

    def text(self) -> str:
        """Every word of the deck, one line each (for a search or a test)."""
        lines = [self.account_name, self.title, self.period, self.prepared, self.presenter, self.confidential]
        for slide in self.slides:
            lines += [slide.title, slide.chart_title, slide.empty, *slide.bullets]
            lines += [f"{f.label} {f.value} {f.note}" for f in slide.figures]
            if slide.chart is not None:
                lines += [*slide.chart.categories, *(s.name for s in slide.chart.series)]
            if slide.table is not None:
                lines += [" ".join(row) for row in [slide.table.header, *slide.table.rows]]
        return "\n".join(line for line in lines if line)


def quarter_of(today: dt.date) -> tuple[dt.date, dt.date]:
    """The review's period: the three whole months before ``today``'s month, as ``[start, end)``."""
    end = today.replace(day=1)
    start = _add_months(end, -3)
    return start, end


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _live(subscriptions: Sequence[Subscription], day: dt.date) -> list[Subscription]:
    return [
        s
        for s in subscriptions
        if s.status in ("active", "cancelled") and s.start_date <= day and (s.end_date is None or s.end_date > day)
    ]


@dataclasses.dataclass
class _Facts:
    """What the slides are made of, read once from the store (no analysis happens here)."""

    account: Any
    owner: TeamMember | None
    subscriptions: Sequence[Subscription]
    plans: dict[int, str]
    metrics: dict[str, Any] | None
    usage: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    milestones: Sequence[OnboardingMilestone]
    tickets_closed: list[float]
    nps: list[int]


def _facts(session: Session, account_id: int, *, today: dt.date, events: EventStore) -> _Facts:
    account = accounts.get_account(session, account_id)
    subs = accounts.list_subscriptions(session, account_id)
    plan_ids = {s.plan_id for s in subs}
    plans = (
        {int(i): str(n) for i, n in session.execute(select(Plan.id, Plan.name).where(Plan.id.in_(plan_ids)))}
        if plan_ids
        else {}
    )
    start, end = quarter_of(today)
    since = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    closed = session.execute(
        select(Ticket.opened_at, Ticket.closed_at).where(
            Ticket.account_id == account_id, Ticket.closed_at >= since, Ticket.closed_at < until
        )
    ).all()
    nps = session.scalars(
        select(SurveyResponse.score)
        .where(SurveyResponse.account_id == account_id, SurveyResponse.kind == "nps")
        .order_by(SurveyResponse.responded_at.desc())
        .limit(1)
    ).all()
    return _Facts(
        account=account,
        owner=session.get(TeamMember, account.owner_id) if account.owner_id else None,
        subscriptions=subs,
        plans=plans,
        metrics=kpis.account_metrics_of(session, account_id),
        usage=account_history(events, account_id, since=_add_months(end, -TREND_MONTHS)),
        goals=lifecycle_service.success_plan(session, account_id=account_id, today=today),
        milestones=session.scalars(
            select(OnboardingMilestone)
            .where(OnboardingMilestone.account_id == account_id)
            .order_by(OnboardingMilestone.due_on)
        ).all(),
        tickets_closed=[(c - o).total_seconds() / 86400 for o, c in closed if c is not None and o is not None],
        nps=[int(s) for s in nps],
    )


def build_deck(
    session: Session,
    account_id: int,
    *,
    today: dt.date,
    language: str,
    audience: Audience,
    settings: Settings,
) -> Deck:
    """The QBR deck of one account for ``audience`` in ``language`` (``ja`` or ``en``), as of ``today``."""
    t = i18n.translator(language)
    facts = _facts(session, account_id, today=today, events=EventStore(settings.events_dir))
    start, end = quarter_of(today)
    period = t(
        "qbr.period",
        start=i18n.format_month(start, language),
        end=i18n.format_month(_add_months(end, -1), language),
    )
    slides = [
        _summary(facts, t, language, today),
        _usage(facts, t, language, today),
        _goals(facts, t, language),
        _value(facts, t, language, today),
        _next_steps(facts, t, language, today),
    ]
    if audience == "internal":
        slides += _internal(session, facts, t, language, settings=settings, today=today)
    owner = facts.owner.name if facts.owner is not None else ""
    return Deck(
        account_id=account_id,
        account_name=facts.account.name,
        language=language,
        audience=audience,
        title=t("qbr.title"),
        period=period,
        prepared=t("qbr.prepared", date=i18n.format_date(today, language)),
        presenter=t("qbr.presenter", name=owner) if owner else "",
        confidential=t("qbr.internal_banner") if audience == "internal" else "",
        slides=slides,
    )


Translate = Callable[..., str]


def _seats(facts: _Facts, day: dt.date) -> int:
    return sum(int(s.quantity or 0) for s in _live(facts.subscriptions, day))


def _summary(facts: _Facts, t: Translate, language: str, today: dt.date) -> Slide:
    live = _live(facts.subscriptions, today)
    plan = " / ".join(sorted({facts.plans.get(s.plan_id, "") for s in live} - {""})) or "—"
    renewals = [s.renewal_date for s in live if s.renewal_date is not None and s.renewal_date >= today]
    m = facts.metrics or {}
    seats = _seats(facts, today)
    figures = [
        Figure(t("qbr.plan"), plan),
        Figure(t("qbr.seats"), i18n.format_number(seats)),
        Figure(t("qbr.active_users_30d"), i18n.format_number(m.get("active_users_30d"))),
        Figure(t("qbr.seat_utilisation"), i18n.format_percent(m.get("seat_utilisation"), 0)),
        Figure(t("qbr.features_used"), i18n.format_number(m.get("features_used_30d"))),
        Figure(t("qbr.nps_latest"), str(facts.nps[0]) if facts.nps else "—", t("qbr.nps_scale")),
        Figure(t("qbr.tickets_resolved"), i18n.format_number(len(facts.tickets_closed)), t("qbr.in_the_quarter")),
        Figure(t("qbr.renewal_date"), i18n.format_date(min(renewals), language) if renewals else "—"),
    ]
    return Slide(key="summary", title=t("qbr.summary"), figures=figures)


def _usage(facts: _Facts, t: Translate, language: str, today: dt.date) -> Slide:
    first_start = min((s.start_date for s in facts.subscriptions), default=None)
    months = [u for u in facts.usage if first_start is None or u["month"] >= first_start.replace(day=1)]
    if not months:
        return Slide(key="usage", title=t("qbr.usage"), empty=t("qbr.no_usage"))
    seats = [_seats(facts, _add_months(u["month"], 1) - dt.timedelta(days=1)) for u in months]
    chart = Chart(
        categories=[i18n.format_month(u["month"], language) for u in months],
        series=[
            Series(t("qbr.active_users"), [float(u["users"]) for u in months]),
            Series(t("qbr.seats"), [float(s) for s in seats], style="line"),
        ],
    )
    adoption = [u["users"] / s if s else None for u, s in zip(months, seats, strict=True)]
    last, before = months[-1], months[-4] if len(months) >= 4 else months[0]
    change = last["users"] - before["users"]
    figures = [
        Figure(t("qbr.active_users_last_month"), i18n.format_number(last["users"])),
        Figure(t("qbr.active_users_change"), f"{change:+,}", t("qbr.vs_three_months_before")),
        Figure(t("qbr.adoption_last_month"), i18n.format_percent(adoption[-1], 0), t("qbr.adoption_note")),
        Figure(t("qbr.logins_last_month"), i18n.format_number(last["logins"])),
    ]
    rows = [
        [
            i18n.format_month(u["month"], language),
            i18n.format_number(u["users"]),
            i18n.format_number(s),
            i18n.format_percent(a, 0),
            i18n.format_number(u["logins"]),
        ]
        for u, s, a in zip(months, seats, adoption, strict=True)
    ]
    table = Table(
        [t("qbr.month"), t("qbr.active_users"), t("qbr.seats"), t("qbr.adoption"), t("qbr.logins")], rows[-6:]
    )
    return Slide(
        key="usage",
        title=t("qbr.usage"),
        figures=figures,
        chart=chart,
        chart_title=t("qbr.usage_chart"),
        table=table,
    )


def _number(value: float | None, unit: str | None) -> str:
    if value is None:
        return "—"
    text = i18n.format_number(value)
    return f"{text} {unit}" if unit else text


def _goal_status(goal: dict[str, Any], t: Translate) -> str:
    status = t(f"qbr.goal_status.{goal['status']}")
    return f"{status} · {t('qbr.past_target_date')}" if goal["past_target_date"] else status


def _goals(facts: _Facts, t: Translate, language: str) -> Slide:
    goals = facts.goals
    if not goals:
        return Slide(key="goals", title=t("qbr.goals"), empty=t("qbr.no_goals"))
    chart = Chart(
        categories=[g["goal"] for g in goals],
        series=[Series(t("qbr.progress_to_target"), [g["progress"] for g in goals])],
        percent=True,
        horizontal=True,
    )
    rows = [
        [
            g["goal"],
            _number(g["baseline_value"], g["unit"]),
            _number(g["target_value"], g["unit"]),
            _number(g["current_value"], g["unit"]),
            i18n.format_date(g["target_date"], language),
            _goal_status(g, t),
        ]
        for g in goals
    ]
    header = [t("qbr.goal"), t("qbr.baseline"), t("qbr.target"), t("qbr.result"), t("qbr.target_date")]
    achieved = sum(1 for g in goals if g["status"] == "achieved")
    return Slide(
        key="goals",
        title=t("qbr.goals"),
        figures=[Figure(t("qbr.goals_achieved"), t("qbr.n_of_m", n=achieved, m=len(goals)))],
        chart=chart,
        chart_title=t("qbr.goals_chart"),
        table=Table([*header, t("qbr.status")], rows),
    )


def _value(facts: _Facts, t: Translate, language: str, today: dt.date) -> Slide:
    bullets: list[str] = []
    for g in facts.goals:
        if g["status"] == "achieved" or (g["progress"] is not None and g["progress"] >= 1):
            moved = (
                t(
                    "qbr.value_goal_moved",
                    baseline=_number(g["baseline_value"], g["unit"]),
                    current=_number(g["current_value"], g["unit"]),
                )
                if g["current_value"] is not None and g["baseline_value"] is not None
                else ""
            )
            bullets.append(t("qbr.value_goal", goal=g["goal"]) + moved)
    months = facts.usage
    if len(months) >= 4 and months[-4]["users"] and months[-1]["users"] > months[-4]["users"]:
        bullets.append(t("qbr.value_users", before=months[-4]["users"], after=months[-1]["users"]))
    done = [m for m in facts.milestones if m.completed_at is not None]
    if done:
        bullets.append(t("qbr.value_milestones", done=len(done), total=len(facts.milestones)))
    m = facts.metrics or {}
    if m.get("features_used_30d"):
        bullets.append(t("qbr.value_features", n=m["features_used_30d"]))
    if facts.tickets_closed:
        days = statistics.median(facts.tickets_closed)
        bullets.append(t("qbr.value_tickets", n=len(facts.tickets_closed), days=f"{days:.1f}"))
    chart = None
    if len(months) >= 2:
        chart = Chart(
            categories=[i18n.format_month(u["month"], language) for u in months[-6:]],
            series=[Series(t("qbr.logins"), [float(u["logins"]) for u in months[-6:]])],
        )
    return Slide(
        key="value",
        title=t("qbr.value"),
        bullets=bullets,
        chart=chart,
        chart_title=t("qbr.value_chart"),
        empty="" if bullets else t("qbr.no_value"),
    )


def _next_steps(facts: _Facts, t: Translate, language: str, today: dt.date) -> Slide:
    rows: list[list[str]] = []
    for g in facts.goals:
        if g["status"] in ("achieved", "missed"):
            continue
        target = _number(g["target_value"], g["unit"])
        step = g["goal"] if target == "—" else t("qbr.step_goal", goal=g["goal"], target=target)
        rows.append([step, i18n.format_date(g["target_date"], language), t("qbr.owner_joint")])
    for milestone in facts.milestones:
        if milestone.completed_at is None and milestone.due_on >= today - dt.timedelta(days=30):
            rows.append(
                [
                    t("qbr.step_milestone", milestone=t(f"milestone.{milestone.kind}")),
                    i18n.format_date(milestone.due_on, language),
                    t("qbr.owner_joint"),
                ]
            )
    live = _live(facts.subscriptions, today)
    renewals = [s.renewal_date for s in live if s.renewal_date is not None and s.renewal_date >= today]
    if renewals:
        rows.append([t("qbr.step_renewal"), i18n.format_date(min(renewals), language), t("qbr.owner_joint")])
    rows.append([t("qbr.step_next_review"), i18n.format_month(_add_months(today.replace(day=1), 3), language), ""])
    return Slide(
        key="next_steps",
        title=t("qbr.next_steps"),
        table=Table([t("qbr.step"), t("qbr.when"), t("qbr.who")], rows),
    )


def _internal(
    session: Session, facts: _Facts, t: Translate, language: str, *, settings: Settings, today: dt.date
) -> list[Slide]:
    account_id = facts.account.id
    cards = health_service.scorecards(settings)
    health_rows: list[list[str]] = []
    figures: list[Figure] = []
    for score in health_service.latest_scores(session, account_id=account_id):
        card = cards.get(score.scorecard)
        title = (card.title.get(language) or card.title.get("ja")) if card is not None and card.title else None
        name = title or score.scorecard
        band = t(f"band.{score.band}") if score.band else "—"
        figures.append(Figure(name, "—" if score.score is None else f"{score.score:.0f}", band))
        measures = {m.name: m for m in card.measures} if card is not None else {}
        for c in sorted(score.contributions or [], key=lambda c: -abs(float(c.get("contribution") or 0)))[:3]:
            measure = measures.get(str(c.get("measure")))
            label = (measure.title.get(language) or measure.title.get("ja")) if measure and measure.title else None
            points = float(c.get("contribution") or 0)
            health_rows.append([name, label or str(c.get("measure")), f"{points:.0f}"])
    risk = risk_service.latest_risk(session, account_id=account_id)
    risk_rows: list[list[str]] = []
    if risk is not None:
        figures.insert(
            0, Figure(t("qbr.churn_risk"), i18n.format_percent(risk.probability, 0), t(f"qbr.risk_band.{risk.band}"))
        )
        for d in (risk.drivers or [])[:3]:
            effect = float(d.get("contribution") or 0)
            risk_rows.append(
                [
                    _feature(str(d.get("feature")), t, cards, language),
                    t("qbr.raises") if effect > 0 else t("qbr.lowers"),
                ]
            )
    health = Slide(
        key="internal_health",
        title=t("qbr.internal_health"),
        figures=figures,
        table=Table([t("qbr.scorecard"), t("qbr.driver"), t("qbr.points")], health_rows) if health_rows else None,
        bullets=[t("qbr.risk_driver", driver=row[0], effect=row[1]) for row in risk_rows],
        empty="" if figures else t("qbr.no_scores"),
        internal=True,
    )
    tasks = tasks_service.list_tasks(session, account_id=account_id, statuses=("open", "snoozed"), limit=12)
    task_slide = Slide(
        key="internal_tasks",
        title=t("qbr.internal_tasks"),
        table=Table(
            [t("qbr.task"), t("qbr.when"), t("qbr.priority")],
            [[task.title, i18n.format_date(task.due_on, language), t(f"priority.{task.priority}")] for task in tasks],
        )
        if tasks
        else None,
        empty="" if tasks else t("qbr.no_tasks"),
        internal=True,
    )
    mrr = accounts.mrr_history(session, account_id, today=today, subscriptions=facts.subscriptions)[-12:]
    currency = next((s.currency for s in facts.subscriptions), "JPY")
    revenue = Slide(
        key="internal_revenue",
        title=t("qbr.internal_revenue"),
        chart=Chart(
            categories=[i18n.format_month(p.month, language) for p in mrr],
            series=[Series(t("qbr.mrr"), [float(p.mrr_minor) for p in mrr])],
        )
        if mrr
        else None,
        chart_title=t("qbr.mrr_chart", currency=currency),
        figures=[Figure(t("qbr.mrr"), i18n.format_money(mrr[-1].mrr_minor if mrr else None, currency, language))],
        internal=True,
    )
    return [health, task_slide, revenue]


def _feature(name: str, t: Translate, cards: dict[str, Any], language: str) -> str:
    """A churn-model feature in words: a health measure's title where one has that source, else the catalogue's."""
    for card in cards.values():
        for measure in card.measures:
            if name in (measure.name, measure.source) and measure.title:
                return str(measure.title.get(language) or measure.title.get("ja"))
    key = f"qbr.feature.{name}"
    label = t(key)
    return name.replace("_", " ") if label == key else label
