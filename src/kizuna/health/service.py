"""Health scores: compute and store them, record CSM overrides, explain changes, read history and trend.

Services take ``session`` first, flush and never commit; writes take ``actor=`` and write an audit row.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.analytics.scoring.scorecard import BANDS, Scorecard, load_scorecards
from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import InvalidInput, NotFound
from kizuna.health.models import HealthBacktest, HealthOverride, HealthScore
from kizuna.health.scores import active_overrides, store_scores
from kizuna.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SCORECARDS_DIR = Path(__file__).parent / "scorecards"


def scorecard_paths(settings: Settings | None = None) -> list[Path]:
    """The built-in scorecards, then ``<data_dir>/scorecards/*.yaml`` (a file there replaces a built-in by name)."""
    paths = sorted(DEFAULT_SCORECARDS_DIR.glob("*.yaml"))
    if settings is not None:
        custom = settings.data_dir / "scorecards"
        if custom.is_dir():
            paths += sorted(custom.glob("*.yaml"))
    return paths


def scorecards(settings: Settings | None = None) -> dict[str, Scorecard]:
    """Every scorecard in force, by name (read again when a file is added, removed or changed)."""
    paths = scorecard_paths(settings)
    return dict(_load(tuple((p, p.stat().st_mtime_ns) for p in paths)))


@functools.lru_cache(maxsize=8)
def _load(files: tuple[tuple[Path, int], ...]) -> tuple[tuple[str, Scorecard], ...]:
    # keyed by the files and their modification times: pages ask on every request, YAML is parsed once
    return tuple(load_scorecards([p for p, _ in files]).items())


def _round(x: float) -> float | None:
    return None if pd.isna(x) else round(float(x), 4)


def _apply_override(row: HealthScore, override: HealthOverride | None) -> None:
    if override is None:
        row.score, row.band, row.override_id = row.computed_score, row.computed_band, None
    else:
        row.band = override.band
        row.score = override.score if override.score is not None else row.computed_score
        row.override_id = override.id


#: the behaviour statistics (:mod:`kizuna.analytics.risk.behaviour`) offered as measures when a scorecard's own
#: mostly have no data: volume per seat, active days, the account against its own history, recency, lifetime use
BEHAVIOUR_STATS = ("per_seat30", "days30", "vs_base", "vs_life", "trend90", "since", "ever")
BEHAVIOUR_ALL = ("ev_all__days30", "ev_all__breadth30", "ev_all__trend30")


def behaviour_sources(cards: Iterable[Scorecard]) -> list[str]:
    """The measure sources of ``cards`` that are behaviour columns (computed from the product events)."""
    from kizuna.analytics.risk.behaviour import is_behaviour_feature

    return sorted({m.source for card in cards for m in card.measures if is_behaviour_feature(m.source)})


def with_behaviour(tables: dict[str, Any], measures: pd.DataFrame, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """``measures`` (``account_id`` and ``as_of``, or one day's frame and ``as_of``) with the behaviour columns of
    every event type in the store added (:func:`kizuna.analytics.risk.behaviour.behaviour_features`)."""
    from kizuna.analytics.risk.behaviour import behaviour_features

    if measures.empty:
        return measures
    if as_of is not None:
        return behaviour_features(tables, measures.assign(as_of=as_of)).drop(columns="as_of")
    return behaviour_features(tables, measures)


def behaviour_candidates(measures: pd.DataFrame) -> list[str]:
    """The behaviour columns of ``measures`` a calibration may propose as measures (:data:`BEHAVIOUR_STATS`)."""
    from kizuna.analytics.risk.behaviour import PREFIX

    per_type = [c for c in measures.columns if c.startswith(PREFIX) and c.rsplit("__", 1)[-1] in BEHAVIOUR_STATS]
    return per_type + [c for c in BEHAVIOUR_ALL if c in measures.columns]


def behaviour_family(column: str) -> str:
    """The event type of a behaviour column (one measure per event type is proposed)."""
    from kizuna.analytics.risk.behaviour import behaviour_event

    return behaviour_event(column) or column


def compute_scores(
    session: Session,
    *,
    tables: dict[str, Any],
    as_of: dt.date,
    cards: dict[str, Scorecard],
    actor: str = "system:refresh",
    voc_scores: pd.DataFrame | None = None,
    voc_sentiment: pd.DataFrame | None = None,
    usage_months: Any = None,
    measures: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Score every account in force on ``as_of`` on every scorecard and store the scores (with contributions).

    VoC sentiment is read from ``voc_sentiment`` (the per-account measure of ``as_of``, as the VoC refresh step
    stores it) or else computed point-in-time from per-text ``voc_scores``; with neither it is missing.

    Returns a summary: accounts scored and the band counts per scorecard.
    """
    from kizuna.analytics.scoring.measures import account_measures
    from kizuna.analytics.scoring.scoring import score_accounts

    if measures is None:
        measures = account_measures(
            tables, as_of, voc_scores=voc_scores, voc_sentiment=voc_sentiment, usage_months=usage_months
        )
    population = measures[measures["active"]]
    if behaviour_sources(cards.values()) and not population.empty:
        # a scorecard calibrated on this company's own events reads their behaviour columns
        population = with_behaviour(tables, population, as_of=as_of)
    summary: dict[str, Any] = {"as_of": as_of.isoformat(), "accounts": len(population)}
    for card in cards.values():
        scores, contributions = score_accounts(population[card.applies(population)], card)
        store_scores(session, scorecard=card, as_of=as_of, scores=scores, contributions=contributions)
        summary[card.name] = {b: int((scores["band"] == b).sum()) for b in BANDS}
    record_audit(
        session,
        actor=actor,
        action="compute",
        entity="health_scores",
        entity_id=as_of.isoformat(),
        after={k: v for k, v in summary.items() if k != "as_of"},
    )
    log.info("health scores stored for %s accounts as of %s", len(population), as_of)
    return summary


def record_override(
    session: Session,
    *,
    actor: str,
    account_id: int,
    scorecard: str,
    band: str,
    reason: str,
    expires_on: dt.date,
    score: float | None = None,
    starts_on: dt.date | None = None,
) -> HealthOverride:
    """A CSM overrides an account's health on a scorecard until ``expires_on`` (exclusive).

    The override applies to the stored scores from ``starts_on`` (default today) on, and to every later computation
    until it expires or is revoked; the computed score stays stored next to it.
    """
    starts_on = starts_on or utcnow().date()
    if band not in BANDS:
        raise InvalidInput(f"band must be one of {', '.join(BANDS)}, got {band!r}", field="band", value=band)
    if score is not None and not 0 <= score <= 100:
        raise InvalidInput(f"score must lie in 0..100, got {score}", field="score", value=score)
    if not reason or not reason.strip():
        raise InvalidInput("an override needs a reason", field="reason")
    if expires_on <= starts_on:
        raise InvalidInput(
            f"expires_on ({expires_on}) must be after {starts_on}", field="expires_on", value=str(expires_on)
        )
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account with id {account_id}", account_id=account_id)
    override = HealthOverride(
        account_id=account_id,
        scorecard=scorecard,
        band=band,
        score=score,
        reason=reason.strip(),
        author=actor,
        starts_on=starts_on,
        expires_on=expires_on,
    )
    session.add(override)
    session.flush()
    for row in session.scalars(
        select(HealthScore).where(
            HealthScore.account_id == account_id,
            HealthScore.scorecard == scorecard,
            HealthScore.as_of >= starts_on,
            HealthScore.as_of < expires_on,
        )
    ):
        _apply_override(row, override)
    record_audit(
        session,
        actor=actor,
        action="override",
        entity="health_override",
        entity_id=override.id,
        after={
            "account_id": account_id,
            "scorecard": scorecard,
            "band": band,
            "score": score,
            "reason": override.reason,
            "starts_on": starts_on.isoformat(),
            "expires_on": expires_on.isoformat(),
        },
    )
    session.flush()
    return override


def revoke_override(session: Session, *, actor: str, override_id: int) -> HealthOverride:
    """End an override now; scores from today on show the computed values again (the history keeps the rest)."""
    override = session.get(HealthOverride, override_id)
    if override is None:
        raise NotFound(f"no health override with id {override_id}", override_id=override_id)
    today = utcnow().date()
    override.revoked_at = utcnow()
    override.revoked_by = actor
    session.flush()
    others = active_overrides(session, day=today, scorecard=override.scorecard)
    for row in session.scalars(
        select(HealthScore).where(HealthScore.override_id == override.id, HealthScore.as_of >= today)
    ):
        _apply_override(row, others.get((row.account_id, row.scorecard)))
    record_audit(
        session,
        actor=actor,
        action="revoke",
        entity="health_override",
        entity_id=override.id,
        before={"band": override.band, "score": override.score},
    )
    session.flush()
    return override


def latest_scores(session: Session, *, account_id: int) -> list[HealthScore]:
    """The newest stored score of each scorecard for one account."""
    rows = session.scalars(
        select(HealthScore)
        .where(HealthScore.account_id == account_id)
        .order_by(HealthScore.scorecard, HealthScore.as_of.desc())
    )
    out: dict[str, HealthScore] = {}
    for r in rows:
        out.setdefault(r.scorecard, r)
    return list(out.values())


def score_history(
    session: Session, *, account_id: int, scorecard: str, since: dt.date | None = None
) -> list[HealthScore]:
    """Stored scores of one account on one scorecard, oldest first."""
    q = select(HealthScore).where(HealthScore.account_id == account_id, HealthScore.scorecard == scorecard)
    if since is not None:
        q = q.where(HealthScore.as_of >= since)
    return list(session.scalars(q.order_by(HealthScore.as_of)))


def _contribution_frame(row: HealthScore) -> pd.DataFrame:
    frame = pd.DataFrame(row.contributions)
    frame.insert(0, "account_id", row.account_id)
    return frame


def explain_score_change(
    session: Session, *, account_id: int, scorecard: str, since: dt.date | None = None
) -> dict[str, Any]:
    """Which measures moved an account's computed score from an earlier day (default: the previous score) to the
    latest, and by how many points each; the deltas add up to the change."""
    from kizuna.analytics.scoring.scoring import explain_change

    history = score_history(session, account_id=account_id, scorecard=scorecard)
    if not history:
        raise NotFound(f"no {scorecard} scores for account {account_id}", account_id=account_id)
    after = history[-1]
    earlier = [r for r in history[:-1] if since is None or r.as_of <= since]
    if not earlier:
        return {
            "account_id": account_id,
            "scorecard": scorecard,
            "to": after.as_of,
            "from": None,
            "score_after": after.computed_score,
            "score_before": None,
            "change": None,
            "measures": [],
        }
    before = earlier[-1]
    frame = explain_change(_contribution_frame(before), _contribution_frame(after))
    measures = [
        {
            "measure": r.measure,
            "value_before": _round(r.value_before),
            "value_after": _round(r.value_after),
            "points_before": _round(r.points_before),
            "points_after": _round(r.points_after),
            "delta": round(float(r.delta), 2),
        }
        for r in frame.itertuples(index=False)
    ]
    change = None
    if after.computed_score is not None and before.computed_score is not None:
        change = round(after.computed_score - before.computed_score, 2)
    return {
        "account_id": account_id,
        "scorecard": scorecard,
        "from": before.as_of,
        "to": after.as_of,
        "score_before": before.computed_score,
        "score_after": after.computed_score,
        "band_before": before.band,
        "band_after": after.band,
        "change": change,
        "measures": measures,
    }


def health_trend(session: Session, *, account_id: int, scorecard: str, days: int = 30) -> dict[str, Any]:
    """The change and the slope (points per 30 days) of the computed score over the last ``days`` days."""
    from kizuna.analytics.scoring.scoring import score_trend

    rows = score_history(session, account_id=account_id, scorecard=scorecard)
    frame = pd.DataFrame(
        {
            "account_id": [r.account_id for r in rows],
            "as_of": [r.as_of for r in rows],
            "score": [r.computed_score for r in rows],
        }
    )
    trend = score_trend(frame, days=days)
    if trend.empty:
        return {
            "account_id": account_id,
            "scorecard": scorecard,
            "latest": None,
            "change": None,
            "slope_per_30d": None,
            "direction": None,
        }
    rec = trend.iloc[0]
    return {
        "account_id": account_id,
        "scorecard": scorecard,
        "latest": float(rec["latest"]),
        "change": float(rec["change"]),
        "slope_per_30d": _round(rec["slope_per_30d"]),
        "direction": rec["direction"],
    }


def band_counts(session: Session, *, as_of: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Accounts per band and scorecard on ``as_of`` (default: the newest day stored)."""
    from sqlalchemy import func

    day = as_of or session.scalar(select(func.max(HealthScore.as_of)))
    out: dict[str, dict[str, int]] = {}
    if day is None:
        return out
    q = (
        select(HealthScore.scorecard, HealthScore.band, func.count())
        .where(HealthScore.as_of == day)
        .group_by(HealthScore.scorecard, HealthScore.band)
    )
    for card, band, n in session.execute(q):
        out.setdefault(card, {})[band or "unknown"] = int(n)
    return out


#: a stored backtest older than this (or of another scorecard version) is recomputed by the refresh
BACKTEST_MAX_AGE_DAYS = 30
#: the refresh backtests over at most this many sample dates (two years at the default 30 days apart)
BACKTEST_MAX_DATES = 24
#: months of per-account history the refresh scores once when an account base has none (a new install, the demo)
BACKFILL_DATES = 6


def backtest_history(
    tables: dict[str, Any],
    *,
    as_of: dt.date,
    every_days: int = 30,
    max_dates: int = BACKTEST_MAX_DATES,
    voc_scores: pd.DataFrame | None = None,
    usage_months: Any = None,
    measures_of: Callable[[list[dt.date]], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Point-in-time measures at every ``every_days`` days back from ``as_of`` (at most ``max_dates`` dates, none
    before 90 days after the first subscription) and the churns seen up to ``as_of``: what a backtest reads.
    ``measures_of`` gives the measures of the dates when the caller has them (the refresh computes each date once
    for this backtest and the churn model's training)."""
    from kizuna.analytics.churn.labels import churn_events, read_subscriptions, sample_dates
    from kizuna.analytics.risk.features import first_sample_date
    from kizuna.analytics.scoring.measures import measures_over_time

    start = first_sample_date(tables)
    if start is None:
        return pd.DataFrame(), pd.DataFrame(columns=["account_id", "churned_on"])
    dates = sample_dates(
        max(start, as_of - dt.timedelta(days=every_days * (max_dates - 1))), as_of, every_days=every_days
    )
    if measures_of is not None:
        measures = measures_of(dates)
    else:
        measures = measures_over_time(tables, dates, voc_scores=voc_scores, usage_months=usage_months)
    churns = churn_events(read_subscriptions(tables), observed_until=as_of)
    return measures, churns


def store_backtest(
    session: Session,
    *,
    card: Scorecard,
    measures: pd.DataFrame,
    churns: pd.DataFrame,
    as_of: dt.date,
    horizon_days: int = 90,
    every_days: int = 30,
) -> HealthBacktest:
    """Backtest ``card`` on ``measures`` (see :func:`backtest_history`) and store the result with the portfolio's
    history at every sample date."""
    from kizuna.analytics.scoring.backtest import backtest_scorecard, portfolio_history, score_history

    result = backtest_scorecard(measures, card, churns, observed_until=as_of, horizon_days=horizon_days)
    population = measures[measures["active"].astype(bool)]
    history = portfolio_history(score_history(population[card.applies(population)], card))
    row = HealthBacktest(
        scorecard=card.name,
        scorecard_version=card.version,
        as_of=as_of,
        horizon_days=horizon_days,
        every_days=every_days,
        metrics=_json(result.metrics),
        by_band=_json(result.by_band.to_dict(orient="records")),
        history=_json(history.to_dict(orient="records")),
    )
    session.add(row)
    session.flush()
    return row


def _json(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python, dates -> ISO text."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    return value


def latest_backtests(session: Session) -> dict[str, HealthBacktest]:
    """The newest stored backtest of each scorecard."""
    out: dict[str, HealthBacktest] = {}
    for row in session.scalars(select(HealthBacktest).order_by(HealthBacktest.as_of.desc(), HealthBacktest.id.desc())):
        out.setdefault(row.scorecard, row)
    return out


def stale_backtests(session: Session, cards: dict[str, Scorecard], *, as_of: dt.date) -> list[Scorecard]:
    """The scorecards whose stored backtest is missing, of another version or older than
    :data:`BACKTEST_MAX_AGE_DAYS`."""
    stored = latest_backtests(session)
    return [
        card
        for card in cards.values()
        if (b := stored.get(card.name)) is None
        or b.scorecard_version != card.version
        or b.as_of < as_of - dt.timedelta(days=BACKTEST_MAX_AGE_DAYS)
    ]


def needs_backfill(session: Session, *, as_of: dt.date, every_days: int = 30) -> bool:
    """True when no score is stored from before the last ``every_days`` days: the history would be one point."""
    from sqlalchemy import func

    first = session.scalar(select(func.min(HealthScore.as_of)))
    return first is None or first > as_of - dt.timedelta(days=every_days - 1)


def store_history(
    session: Session, *, measures: pd.DataFrame, cards: dict[str, Scorecard], dates: list[dt.date]
) -> int:
    """Score and store the accounts in force on each of ``dates`` from point-in-time ``measures`` (with an
    ``as_of`` column): the per-account history a new install starts with. Returns the rows stored."""
    from kizuna.analytics.scoring.scoring import score_accounts

    stored = 0
    for day in dates:
        frame = measures[(measures["as_of"] == day) & measures["active"].astype(bool)]
        for card in cards.values():
            population = frame[card.applies(frame)]
            scores, contributions = score_accounts(population, card)
            stored += store_scores(session, scorecard=card, as_of=day, scores=scores, contributions=contributions)
    return stored


def scorecard_title(name: str, language: str, cards: dict[str, Scorecard] | None = None) -> str:
    """A scorecard's title in ``language`` (the YAML's ``title``; see :mod:`kizuna.health.words`)."""
    from kizuna.health.words import scorecard_title as title

    return title(name, language, cards)


def band_distribution(session: Session, *, scorecard: str) -> dict[str, Any]:
    """Accounts per band of ``scorecard`` on its newest stored day: ``{"as_of", "red", "yellow", "green",
    "mean_score"}`` (``as_of`` None before the first refresh)."""
    from sqlalchemy import func

    day = session.scalar(select(func.max(HealthScore.as_of)).where(HealthScore.scorecard == scorecard))
    out: dict[str, Any] = {"as_of": day, "red": 0, "yellow": 0, "green": 0, "accounts": 0, "mean_score": None}
    if day is None:
        return out
    q = (
        select(HealthScore.band, func.count(), func.avg(HealthScore.score))
        .where(HealthScore.scorecard == scorecard, HealthScore.as_of == day)
        .group_by(HealthScore.band)
    )
    total = 0.0
    for band, n, mean in session.execute(q):
        if band in BANDS:
            out[band] = int(n)
        out["accounts"] += int(n)
        total += float(mean or 0.0) * int(n)
    out["mean_score"] = total / out["accounts"] if out["accounts"] else None
    return out


def account_history(
    session: Session, *, account_id: int, language: str = "ja", cards: dict[str, Scorecard] | None = None
) -> list[dict[str, Any]]:
    """An account's health on every scorecard it has scores on: title, newest score and band (and override), the
    trend over 30 days, and its history as a chart (``kizuna.platform.web`` chart spec, thresholds drawn).

    What ``health/account_history.html`` renders; one query for every scorecard."""
    from kizuna.analytics.scoring.scoring import score_trend
    from kizuna.health.words import scorecard_title as title
    from kizuna.platform.web import i18n

    cards = cards if cards is not None else scorecards()
    t = i18n.translator(language)
    rows = session.scalars(
        select(HealthScore)
        .where(HealthScore.account_id == account_id)
        .order_by(HealthScore.scorecard, HealthScore.as_of)
    )
    by_card: dict[str, list[HealthScore]] = {}
    for r in rows:
        by_card.setdefault(r.scorecard, []).append(r)
    order = [c for c in cards if c in by_card] + sorted(c for c in by_card if c not in cards)
    out: list[dict[str, Any]] = []
    for name in order:
        history = by_card[name]
        latest = history[-1]
        card = cards.get(name)
        frame = pd.DataFrame(
            {
                "account_id": account_id,
                "as_of": [r.as_of for r in history],
                "score": [r.computed_score for r in history],
            }
        )
        trend = score_trend(frame, days=30)
        change = None if trend.empty or pd.isna(trend.iloc[0]["change"]) else float(trend.iloc[0]["change"])
        red = card.red_below if card else 40.0
        green = card.green_from if card else 70.0
        dates = [i18n.format_date(r.as_of, language) for r in history]
        out.append(
            {
                "scorecard": name,
                "title": title(name, language, cards),
                "as_of": latest.as_of,
                "score": latest.score,
                "band": latest.band,
                "computed_score": latest.computed_score,
                "overridden": latest.override_id is not None,
                "change_30d": change,
                "points": len(history),
                "chart": {
                    "kind": "line",
                    "categories": dates,
                    "series": [
                        {"name": t("health.score"), "data": [r.score for r in history], "color": "#1c7ed6"},
                        {"name": t("health.threshold.green"), "data": [green] * len(history), "color": "#2b8a3e"},
                        {"name": t("health.threshold.red"), "data": [red] * len(history), "color": "#c92a2a"},
                    ],
                },
            }
        )
    return out


def scorecard_pages(session: Session, *, cards: dict[str, Scorecard]) -> list[dict[str, Any]]:
    """What the health pages show of each scorecard, all stored: the scorecard, its newest distribution, its
    newest backtest and the portfolio's history (the backtest's sample dates, then the newest stored day)."""
    backtests = latest_backtests(session)
    out = []
    for name, card in cards.items():
        distribution = band_distribution(session, scorecard=name)
        stored = backtests.get(name)
        history = [
            {**h, "as_of": dt.date.fromisoformat(h["as_of"])} for h in (stored.history if stored is not None else [])
        ]
        if distribution["as_of"] is not None and (not history or history[-1]["as_of"] < distribution["as_of"]):
            history.append({k: distribution[k] for k in ("as_of", "accounts", *BANDS, "mean_score")})
        out.append({"card": card, "distribution": distribution, "backtest": stored, "history": history})
    return out


def account_name(session: Session, *, account_id: int) -> str:
    """The account's name; :class:`~kizuna.errors.NotFound` for an unknown id."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}", account_id=account_id)
    return account.name


#: a stored backtest whose ROC-AUC is under this ranks churners the wrong way: the scorecard is worse than random
RANDOM_AUC = 0.5


def below_random(backtest: HealthBacktest | None) -> bool:
    """The stored backtest ranks churn worse than random (ROC-AUC under 0.5): shown as a warning wherever the
    scorecard is."""
    if backtest is None:
        return False
    auc = (backtest.metrics or {}).get("roc_auc")
    return isinstance(auc, int | float) and auc == auc and float(auc) < RANDOM_AUC


def scorecards_with_backtests(session: Session, settings: Settings | None = None) -> list[dict[str, Any]]:
    """The scorecards in force as dicts with their newest stored backtest and a ``warning`` (English, the API's
    language) when it ranks churn worse than random: what the API and ``kizuna health scorecards`` say."""
    stored = latest_backtests(session)
    out = []
    for card in scorecards(settings).values():
        b = stored.get(card.name)
        backtest = (
            None
            if b is None
            else {
                "version": b.scorecard_version,
                "as_of": b.as_of.isoformat(),
                "roc_auc": (b.metrics or {}).get("roc_auc"),
            }
        )
        warning = (
            f"{card.name} v{b.scorecard_version} ranks churn worse than random on its own backtest "
            f"(ROC-AUC {backtest['roc_auc']:.3f} < 0.5): do not act on its red and green until it is recalibrated "
            f"(kizuna health calibrate --scorecard {card.name})"
            if b is not None and backtest is not None and below_random(b)
            else None
        )
        out.append({**card.to_dict(), "backtest": backtest, "warning": warning})
    return out


def save_scorecard_version(session: Session, *, actor: str, card: Scorecard, settings: Settings) -> Path:
    """Save ``card`` as the scorecard in force: ``<data_dir>/scorecards/<name>.yaml`` (it replaces a built-in of the
    same name), refusing a version not above the one in force; writes an audit row. The file is the version."""
    import yaml

    current = scorecards(settings).get(card.name)
    if current is not None and card.version <= current.version:
        raise InvalidInput(
            f"scorecard {card.name}: version {card.version} is not above the version in force ({current.version})",
            field="version",
            value=card.version,
        )
    folder = settings.data_dir / "scorecards"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{card.name}.yaml"
    text = yaml.safe_dump(card.to_dict(), allow_unicode=True, sort_keys=False)
    record_audit(
        session,
        actor=actor,
        action="health.scorecard_version",
        entity="scorecard",
        entity_id=card.name,
        before=current.to_dict() if current is not None else None,
        after=card.to_dict(),
    )
    session.flush()
    path.write_text(text, encoding="utf-8")
    return path


def proposal_path(settings: Settings, scorecard: str) -> Path:
    """Where ``kizuna health calibrate`` leaves its proposal for a person to approve (outside the scorecards read)."""
    return settings.data_dir / "scorecards" / "proposals" / f"{scorecard}.json"


def store_proposal(settings: Settings, proposal: dict[str, Any]) -> Path:
    """Keep a calibration proposal (:meth:`~kizuna.analytics.scoring.calibration.Calibration.to_dict`, plus the
    stored backtest it was shown beside) until it is approved or replaced."""
    import json

    path = proposal_path(settings, str(proposal["scorecard"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_json(proposal), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return path


def read_proposal(settings: Settings, scorecard: str) -> dict[str, Any] | None:
    """The pending proposal of ``scorecard``, or None (none, or one made for a version no longer in force)."""
    import json

    path = proposal_path(settings, scorecard)
    if not path.is_file():
        return None
    proposal: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    current = scorecards(settings).get(scorecard)
    if current is None or int(proposal.get("current_version", -1)) != current.version:
        return None
    return proposal


def approve_proposal(session: Session, *, actor: str, settings: Settings, scorecard: str) -> Scorecard:
    """Save the pending proposal of ``scorecard`` as its next version (audit row) and clear it."""
    from kizuna.analytics.scoring.scorecard import scorecard_from_dict

    proposal = read_proposal(settings, scorecard)
    if proposal is None:
        raise NotFound(f"no pending calibration of scorecard {scorecard!r}; run `kizuna health calibrate`")
    card = scorecard_from_dict(proposal["proposed"], where=str(proposal_path(settings, scorecard)))
    save_scorecard_version(session, actor=actor, card=card, settings=settings)
    proposal_path(settings, scorecard).unlink(missing_ok=True)
    return card


def measures_without_data(session: Session, *, scorecard: str) -> list[str]:
    """The measures of ``scorecard`` missing for every account scored on its newest stored day (their weight was
    spread over the others), in the order first seen."""
    from sqlalchemy import func

    day = session.scalar(select(func.max(HealthScore.as_of)).where(HealthScore.scorecard == scorecard))
    if day is None:
        return []
    common: list[str] | None = None
    for missing in session.scalars(
        select(HealthScore.missing).where(HealthScore.scorecard == scorecard, HealthScore.as_of == day)
    ):
        names = [str(x) for x in missing or []]
        common = names if common is None else [x for x in common if x in names]
        if not common:
            return []
    return common or []
