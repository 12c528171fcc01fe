"""Storing a day's health scores: one scorecard's scores of one day, written as sets, the overrides in force applied.

Split from :mod:`kizuna.health.service` (which computes the scores, records overrides and reads the history): a
refresh stores tens of thousands of scores a day, and a second refresh of the same day rewrites only the scores
whose values changed. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from kizuna.analytics.scoring.scorecard import Scorecard
from kizuna.db import expire_held, utcnow
from kizuna.health.models import HealthOverride, HealthScore

#: rows per executemany of a set-based write
_WRITE_CHUNK = 5000
#: the health-score table, for Core inserts
HEALTH_SCORES: Table = HealthScore.__table__  # type: ignore[assignment]
#: a stored score rewritten (the columns are the parameters' keys but ``row_id``)
_UPDATE_BY_ID = update(HEALTH_SCORES).where(HEALTH_SCORES.c.id == bindparam("row_id"))
#: the columns of a stored score that a computation gives (all but its keys, ``id`` and ``computed_at``)
_VALUES = (
    "scorecard_version",
    "computed_score",
    "computed_band",
    "known_weight",
    "missing",
    "contributions",
    "score",
    "band",
    "override_id",
)


def active_overrides(
    session: Session, *, day: dt.date, scorecard: str | None = None
) -> dict[tuple[int, str], HealthOverride]:
    """The overrides in force on ``day`` (of one ``scorecard``), by account and scorecard; the newest wins."""
    q = select(HealthOverride).where(
        HealthOverride.revoked_at.is_(None), HealthOverride.starts_on <= day, HealthOverride.expires_on > day
    )
    if scorecard is not None:
        q = q.where(HealthOverride.scorecard == scorecard)
    out: dict[tuple[int, str], HealthOverride] = {}
    for o in session.scalars(q.order_by(HealthOverride.created_at, HealthOverride.id)):
        out[(o.account_id, o.scorecard)] = o  # the newest override wins
    return out


def store_scores(
    session: Session,
    *,
    scorecard: Scorecard,
    as_of: dt.date,
    scores: pd.DataFrame,
    contributions: pd.DataFrame,
) -> int:
    """Insert or update the scores of one scorecard on one day; active overrides are applied. Returns the count.

    Written as sets (one multi-row insert for the new rows, one executemany update of the existing ones by id), not
    as ORM objects: a refresh stores tens of thousands of scores a day. A score already stored for the day is
    rewritten only when one of its values differs (:data:`_VALUES`): a second refresh of a day with nothing new
    rewrites no row (each stored row's ``computed_at`` is when its values were last written).
    """
    stored = _stored_day(session, scorecard=scorecard.name, as_of=as_of)
    overrides = active_overrides(session, day=as_of, scorecard=scorecard.name)
    per_account = _contribution_lists(contributions)
    now = utcnow()
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    ids = scores["account_id"].tolist()
    computed = rounded(scores["score"])
    bands = [None if pd.isna(b) else str(b) for b in scores["band"].tolist()]
    known = scores["known_weight"].astype(float).tolist()
    missing = scores["missing"].tolist()
    for account, score, band, weight, absent in zip(ids, computed, bands, known, missing, strict=True):
        account_id = int(account)
        override = overrides.get((account_id, scorecard.name))
        row: dict[str, Any] = {
            "scorecard_version": scorecard.version,
            "computed_score": score,
            "computed_band": band,
            "known_weight": weight,
            "missing": list(absent),
            "contributions": per_account.get(account, []),
            **_in_force(score, band, override),
        }
        held = stored.get(account_id)
        if held is None:
            keys = {"account_id": account_id, "scorecard": scorecard.name, "as_of": as_of}
            new.append({**keys, **row, "computed_at": now})
        elif held[1] != tuple(row[name] for name in _VALUES):
            changed.append({"row_id": held[0], **row, "computed_at": now})
    session.flush()  # (pending ORM changes first: the sets below go straight to the database)
    # a Core insert of the table: the ORM's bulk insert of the model spent as long again per row on its own
    # bookkeeping (467,545 rows on the first refresh of the 50,000-account demo)
    for start in range(0, len(new), _WRITE_CHUNK):
        session.execute(insert(HEALTH_SCORES), new[start : start + _WRITE_CHUNK])
    # and a Core executemany update by id (the ORM's bulk update by primary key cost as much again)
    for start in range(0, len(changed), _WRITE_CHUNK):
        session.execute(_UPDATE_BY_ID, changed[start : start + _WRITE_CHUNK])
    if changed:  # scores this session holds as objects are read again from the database when next used
        expire_held(session, HealthScore, ids={row["row_id"] for row in changed})
    return len(scores)


def _stored_day(session: Session, *, scorecard: str, as_of: dt.date) -> dict[int, tuple[int, tuple[Any, ...]]]:
    """The scores stored for one scorecard and day: ``account_id -> (id, the values of _VALUES)``."""
    columns = [HEALTH_SCORES.c[name] for name in _VALUES]
    query = select(HEALTH_SCORES.c.account_id, HEALTH_SCORES.c.id, *columns).where(
        HEALTH_SCORES.c.scorecard == scorecard, HEALTH_SCORES.c.as_of == as_of
    )
    return {int(r[0]): (int(r[1]), tuple(r[2:])) for r in session.execute(query)}


def _in_force(score: float | None, band: str | None, override: HealthOverride | None) -> dict[str, Any]:
    """The ``score``, ``band`` and ``override_id`` in force: the computed ones, or the override's."""
    if override is None:
        return {"score": score, "band": band, "override_id": None}
    return {
        "score": override.score if override.score is not None else score,
        "band": override.band,
        "override_id": override.id,
    }


def _contribution_lists(contributions: pd.DataFrame) -> dict[Any, list[dict[str, Any]]]:
    """Each account's contributions as stored (JSON-ready dicts, values rounded to 4 places), in frame order."""

    per_account: dict[Any, list[dict[str, Any]]] = {}
    columns = zip(
        contributions["account_id"].tolist(),
        contributions["measure"].tolist(),
        contributions["source"].tolist(),
        rounded(contributions["value"]),
        rounded(contributions["points"]),
        rounded(contributions["weight"]),
        rounded(contributions["effective_weight"]),
        rounded(contributions["contribution"]),
        contributions["missing"].astype(bool).tolist(),
        strict=True,
    )
    for account, measure, source, value, points, weight, effective, contribution, absent in columns:
        per_account.setdefault(account, []).append(
            {
                "measure": measure,
                "source": source,
                "value": value,
                "points": points,
                "weight": weight,
                "effective_weight": effective,
                "contribution": contribution,
                "missing": absent,
            }
        )
    return per_account


def rounded(values: pd.Series) -> list[float | None]:
    """``round(x, 4)`` of every value as Python gives it (None for NaN), a whole column at once: a refresh rounds
    five values of every contribution of every score (3 million at 50,000 accounts), a third of storing them.

    The nearest integer to x·10⁴ is the one Python's correctly rounded ``round`` picks unless the product's
    rounding error could cross a half (or x is huge, infinite or NaN): those few values are rounded by ``round``
    itself. The quotient of that integer by 10⁴ is then the double nearest the decimal, as ``round`` returns."""
    x = values.to_numpy(dtype=float, na_value=np.nan)
    y = x * 1e4
    with np.errstate(invalid="ignore"):
        half = np.abs(y - np.floor(y) - 0.5)
        safe = np.isfinite(y) & (np.abs(y) < 2.0**50) & (half > 4 * np.spacing(np.abs(y)))
    out: list[float | None] = np.where(safe, np.rint(y) / 1e4, 0.0).tolist()
    for i in np.flatnonzero(~safe).tolist():
        v = float(x[i])
        out[i] = None if v != v else round(v, 4)
    return out
