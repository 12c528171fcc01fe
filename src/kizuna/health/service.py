"""Health scores: compute and store them, record CSM overrides, explain changes, read history and trend.

Services take ``session`` first, flush and never commit; writes take ``actor=`` and write an audit row.
"""

from __future__ import annotations

import datetime as dt
import logging
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
from kizuna.health.models import HealthOverride, HealthScore
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
    """Every scorecard in force, by name."""
    return load_scorecards(scorecard_paths(settings))


def _round(x: float) -> float | None:
    return None if pd.isna(x) else round(float(x), 4)


def _active_overrides(
    session: Session, *, day: dt.date, scorecard: str | None = None
) -> dict[tuple[int, str], HealthOverride]:
    q = select(HealthOverride).where(
        HealthOverride.revoked_at.is_(None), HealthOverride.starts_on <= day, HealthOverride.expires_on > day
    )
    if scorecard is not None:
        q = q.where(HealthOverride.scorecard == scorecard)
    out: dict[tuple[int, str], HealthOverride] = {}
    for o in session.scalars(q.order_by(HealthOverride.created_at, HealthOverride.id)):
        out[(o.account_id, o.scorecard)] = o  # the newest override wins
    return out


def _apply_override(row: HealthScore, override: HealthOverride | None) -> None:
    if override is None:
        row.score, row.band, row.override_id = row.computed_score, row.computed_band, None
    else:
        row.band = override.band
        row.score = override.score if override.score is not None else row.computed_score
        row.override_id = override.id


def store_scores(
    session: Session,
    *,
    scorecard: Scorecard,
    as_of: dt.date,
    scores: pd.DataFrame,
    contributions: pd.DataFrame,
) -> int:
    """Insert or update the scores of one scorecard on one day; active overrides are applied. Returns the count."""
    existing = {
        r.account_id: r
        for r in session.scalars(
            select(HealthScore).where(HealthScore.scorecard == scorecard.name, HealthScore.as_of == as_of)
        )
    }
    overrides = _active_overrides(session, day=as_of, scorecard=scorecard.name)
    per_account: dict[Any, list[dict[str, Any]]] = {}
    for rec in contributions.itertuples(index=False):
        per_account.setdefault(rec.account_id, []).append(
            {
                "measure": rec.measure,
                "source": rec.source,
                "value": _round(rec.value),
                "points": _round(rec.points),
                "weight": _round(rec.weight),
                "effective_weight": _round(rec.effective_weight),
                "contribution": _round(rec.contribution),
                "missing": bool(rec.missing),
            }
        )
    now = utcnow()
    for rec in scores.itertuples(index=False):
        account_id = int(rec.account_id)
        row = existing.get(account_id)
        if row is None:
            row = HealthScore(account_id=account_id, scorecard=scorecard.name, as_of=as_of)
            session.add(row)
        row.scorecard_version = scorecard.version
        row.computed_score = _round(rec.score)
        row.computed_band = None if pd.isna(rec.band) else str(rec.band)
        row.known_weight = float(rec.known_weight)
        row.missing = list(rec.missing)
        row.contributions = per_account.get(rec.account_id, [])
        row.computed_at = now
        _apply_override(row, overrides.get((account_id, scorecard.name)))
    session.flush()
    return len(scores)


def compute_scores(
    session: Session,
    *,
    tables: dict[str, Any],
    as_of: dt.date,
    cards: dict[str, Scorecard],
    actor: str = "system:refresh",
    voc_scores: pd.DataFrame | None = None,
    voc_sentiment: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Score every account in force on ``as_of`` on every scorecard and store the scores (with contributions).

    VoC sentiment is read from ``voc_sentiment`` (the per-account measure of ``as_of``, as the VoC refresh step
    stores it) or else computed point-in-time from per-text ``voc_scores``; with neither it is missing.

    Returns a summary: accounts scored and the band counts per scorecard.
    """
    from kizuna.analytics.scoring.measures import account_measures
    from kizuna.analytics.scoring.scoring import score_accounts

    measures = account_measures(tables, as_of, voc_scores=voc_scores, voc_sentiment=voc_sentiment)
    population = measures[measures["active"]]
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
    others = _active_overrides(session, day=today, scorecard=override.scorecard)
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
