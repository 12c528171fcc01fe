"""Churn risk: train and save the model (with its backtest), score accounts, report.

The fitted model is a joblib file under ``settings.models_dir``; its metadata (training window, features, params,
backtest figures) is a ``risk_models`` row. Services flush and never commit; writes take ``actor=`` and audit.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import NotFound
from kizuna.platform.cache import TtlCache
from kizuna.risk.models import RiskModel, RiskScore

log = logging.getLogger(__name__)

#: the probability stored for an account that gave notice: it is leaving unless saved
NOTICE_PROBABILITY = 1.0


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python, dates -> ISO text."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return value


def train_model(
    session: Session,
    *,
    actor: str,
    tables: dict[str, Any],
    as_of: dt.date,
    models_dir: Path,
    horizon_days: int = 90,
    every_days: int = 30,
    scorecard: Any = None,
    voc_scores: pd.DataFrame | None = None,
    random_state: int = 0,
    usage_months: Any = None,
    measures_of: Callable[[list[dt.date]], pd.DataFrame] | None = None,
) -> RiskModel:
    """Build point-in-time samples up to ``as_of``, backtest on a time split, refit on all samples, save, activate.

    ``scorecard`` (default: the ``overall`` scorecard) is compared in the backtest. ``usage_months``: the monthly
    usage rollups, if at hand (the last login at each past date is read from them); ``measures_of``: gives the
    measures of the sample dates when the caller has them (the refresh computes each date once).
    """
    import joblib

    from kizuna.analytics.risk.backtest import time_split_backtest
    from kizuna.analytics.risk.features import training_samples
    from kizuna.analytics.risk.model import ChurnRiskModel

    if scorecard is None:
        from kizuna.health.service import scorecards

        scorecard = scorecards().get("overall")
    samples, _ = training_samples(
        tables,
        observed_until=as_of,
        horizon_days=horizon_days,
        every_days=every_days,
        voc_scores=voc_scores,
        usage_months=usage_months,
        measures_of=measures_of,
        random_state=random_state,
    )
    if samples.empty or samples["churned"].nunique() < 2:
        from kizuna.errors import NotEnoughData
        from kizuna.hub.history import history_cause

        cause = history_cause(tables, as_of=as_of, horizon_days=horizon_days, samples=samples)
        raise NotEnoughData(
            "not enough history to train a churn model: need churned and retained accounts "
            f"with {horizon_days} days of outcome before {as_of}; {cause}",
            samples=len(samples),
        )
    backtest = time_split_backtest(samples, horizon_days=horizon_days, scorecard=scorecard, random_state=random_state)
    model = ChurnRiskModel(horizon_days=horizon_days, random_state=random_state).fit(samples)
    models_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    file_name = f"churn_risk_{as_of.isoformat()}_{stamp}.joblib"
    dates = pd.to_datetime(samples["as_of"])
    meta = {
        "data_as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "train_window": [dates.min().date().isoformat(), dates.max().date().isoformat()],
        "features": model.features_,
        "backtest": backtest.to_dict(),
    }
    joblib.dump({"model": model, "meta": meta}, models_dir / file_name)
    session.execute(update(RiskModel).where(RiskModel.active.is_(True)).values(active=False))
    row = RiskModel(
        file_name=file_name,
        data_as_of=as_of,
        horizon_days=horizon_days,
        train_start=dates.min().date(),
        train_end=dates.max().date(),
        n_samples=len(samples),
        base_rate=float(model.base_rate_),
        features=list(model.features_),
        params=_clean(
            {
                "n_estimators": model.n_estimators,
                "rounds": model.rounds_,
                "learning_rate": model.learning_rate,
                "num_leaves": model.num_leaves,
                "min_child_samples": model.min_child_samples,
                "random_state": model.random_state,
                "max_samples": model.max_samples,
                "every_days": every_days,
                "band_thresholds": model.band_thresholds_,
            }
        ),
        metrics=_clean(backtest.to_dict()),
        active=True,
        trained_by=actor,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="train",
        entity="risk_model",
        entity_id=row.id,
        after={"file_name": file_name, "n_samples": row.n_samples, "data_as_of": as_of.isoformat()},
    )
    log.info("churn model %s trained on %s samples", row.id, row.n_samples)
    return row


def active_model(session: Session) -> RiskModel | None:
    return session.scalars(select(RiskModel).where(RiskModel.active.is_(True)).order_by(RiskModel.id.desc())).first()


def load_model(row: RiskModel, models_dir: Path) -> Any:
    """The fitted :class:`~kizuna.analytics.risk.model.ChurnRiskModel` of a saved model row."""
    import joblib

    path = models_dir / row.file_name
    if not path.exists():
        raise NotFound(f"model file {path} is missing", path=str(path))
    return joblib.load(path)["model"]


def _rounded(value: float) -> float | None:
    """``value`` to 4 decimals, None when not finite: what :func:`_clean` keeps of it (the drivers are built
    JSON-ready, as cleaning tens of thousands of accounts' drivers after the fact cost over a second of CPU)."""
    return round(value, 4) if math.isfinite(value) else None


def _drivers(model: Any, population: pd.DataFrame, *, signals: int, context: int) -> list[list[dict[str, Any]]]:
    """Per row, the features that raise its risk most (positive TreeSHAP contributions): up to ``signals`` of the
    behaviour a CSM can change (a reassuring value, such as a promoter's NPS, is never a signal) and, apart, up to
    ``context`` of the contract's context (``kind`` says which), strongest first.

    Chosen for every row at once: each row's features in order of contribution, the eligible ones of each kind
    counted along the row and kept up to their limit (tens of thousands of accounts a day)."""
    from kizuna.analytics.risk.features import CONTEXT_FEATURES, reassuring_values

    if population.empty:
        return []
    features = list(model.features_)
    contrib = model.contributions(population).drop(columns="bias").to_numpy(dtype=float)
    values = population.reindex(columns=features).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    is_context = np.array([f in CONTEXT_FEATURES for f in features], dtype=bool)
    calm = np.column_stack([reassuring_values(f, values[:, j]) for j, f in enumerate(features)])
    order = np.argsort(-contrib, axis=1, kind="stable")
    ranked = np.take_along_axis(contrib, order, axis=1)
    # a row's features are read in order until the first contribution that is not positive
    positive = np.logical_and.accumulate(~(ranked <= 0), axis=1)
    context_o = is_context[order]
    calm_o = np.take_along_axis(calm, order, axis=1)
    chosen = np.zeros(order.shape, dtype=bool)
    for kind_mask, limit in ((context_o, context), (~context_o & ~calm_o, signals)):
        eligible = positive & kind_mask
        chosen |= eligible & (np.cumsum(eligible, axis=1) <= limit)
    rows, cols = np.nonzero(chosen)
    js = order[rows, cols]
    kinds = np.where(is_context[js], "context", "signal")
    picked_values = values[rows, js]
    picked_contrib = ranked[rows, cols]
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(contrib))]
    for i, j, kind, v, c in zip(
        rows.tolist(), js.tolist(), kinds.tolist(), picked_values.tolist(), picked_contrib.tolist(), strict=True
    ):
        out[i].append(
            {
                "feature": features[j],
                "kind": kind,
                "value": _rounded(v),
                "contribution": _rounded(c),
            }
        )
    return out


def _with_behaviour(
    model: Any,
    tables: dict[str, Any],
    population: pd.DataFrame,
    as_of: dt.date,
    event_rollups: Callable[[], Any] | None = None,
) -> pd.DataFrame:
    """``population`` with the behaviour columns as of ``as_of`` when the model reads any (the event types are the
    store's; a type the model knew that is gone reads as unknown). ``event_rollups`` gives the event-type rollups
    (``kizuna.usage.rollups.event_rollups``), asked for only then."""
    from kizuna.analytics.risk.behaviour import behaviour_features, is_behaviour_feature

    if population.empty or not any(is_behaviour_feature(f) for f in model.features_):
        return population
    rollups = None if event_rollups is None else event_rollups()
    out = behaviour_features(tables, population.assign(as_of=as_of), rollups=rollups)
    return out.drop(columns="as_of").reset_index(drop=True)


def _notices(tables: dict[str, Any], *, as_of: dt.date, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """When each account gave notice and when its cancelled contract ends (versions in force on ``as_of``)."""
    if not account_ids:
        return {}
    subs = tables["subscriptions"]
    frame = subs.select("account_id", "start_date", "end_date", "cancelled_at").to_pandas()
    frame = frame[frame["account_id"].isin(account_ids) & frame["cancelled_at"].notna()]
    day = pd.Timestamp(as_of)
    start, end = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
    frame = frame[(start <= day) & (end.isna() | (end > day))]
    out: dict[int, dict[str, Any]] = {}
    for account_id, grp in frame.groupby("account_id"):
        notice = pd.to_datetime(grp["cancelled_at"], utc=True).min()
        ends = pd.to_datetime(grp["end_date"]).max()
        out[int(account_id)] = {
            "notice_on": None if pd.isna(notice) else notice.date().isoformat(),
            "ends_on": None if pd.isna(ends) else ends.date().isoformat(),
        }
    return out


def score_accounts(
    session: Session,
    *,
    tables: dict[str, Any],
    as_of: dt.date,
    models_dir: Path,
    model_row: RiskModel | None = None,
    voc_scores: pd.DataFrame | None = None,
    top_drivers: int = 3,
    top_context: int = 2,
    usage_months: Any = None,
    measures: pd.DataFrame | None = None,
    event_rollups: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Score every account in force on ``as_of`` with the active model and store the scores.

    An account that has given notice (a cancelled contract still in force) is not scored by the model: it is at
    risk by definition and stored as ``high`` with probability 1 and the notice as its one driver
    (``feature = "notice_given"``, with the notice and end dates). ``event_rollups``: gives the closed months'
    event counts (:func:`kizuna.usage.rollups.event_rollups`), so that the behaviour columns read only the events
    of ``as_of``'s month; without it they are counted from every event.
    """
    from kizuna.analytics.risk.features import in_population
    from kizuna.analytics.scoring.measures import account_measures

    model_row = model_row or active_model(session)
    if model_row is None:
        raise NotFound("no trained churn model: run `kizuna risk train` first")
    model = load_model(model_row, models_dir)
    if measures is None:
        measures = account_measures(tables, as_of, voc_scores=voc_scores, usage_months=usage_months)
    population = measures[in_population(measures)].reset_index(drop=True)
    population = _with_behaviour(model, tables, population, as_of, event_rollups)
    gave_notice = measures[measures["active"].astype(bool) & measures["notice_given"].astype(bool)]
    probability = model.predict_proba(population) if len(population) else np.empty(0)
    bands = model.band(probability)
    drivers = _drivers(model, population, signals=top_drivers, context=top_context)
    notice_ids = [int(a) for a in gave_notice["account_id"]]
    notices = _notices(tables, as_of=as_of, account_ids=notice_ids)
    scored: list[tuple[int, float, str, list[dict[str, Any]]]] = [
        (int(a), float(p), str(b), d)
        for a, p, b, d in zip(population["account_id"], probability, bands, drivers, strict=True)
    ]
    for account_id in notice_ids:
        dates = notices.get(account_id, {"notice_on": None, "ends_on": None})
        driver = {"feature": "notice_given", "kind": "notice", "value": None, "contribution": None, **dates}
        scored.append((account_id, NOTICE_PROBABILITY, "high", [driver]))
    # one risk score per account and day: a day re-scored by a newer model replaces the older model's scores
    session.execute(delete(RiskScore).where(RiskScore.as_of == as_of, RiskScore.model_id != model_row.id))
    query = select(RiskScore.account_id, RiskScore.id).where(
        RiskScore.model_id == model_row.id, RiskScore.as_of == as_of
    )
    existing = {account_id: row_id for account_id, row_id in session.execute(query)}
    now = utcnow()
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for account_id, p, band, drv in scored:
        row = {"probability": round(p, 6), "band": band, "drivers": drv, "computed_at": now}
        row_id = existing.get(account_id)
        if row_id is None:
            new.append({"account_id": account_id, "model_id": model_row.id, "as_of": as_of, **row})
        else:
            changed.append({"id": row_id, **row})
    # as sets (one multi-row insert, one executemany update by id): tens of thousands of accounts a day
    session.flush()
    for start in range(0, len(new), 5000):
        session.execute(insert(RiskScore), new[start : start + 5000])
    for start in range(0, len(changed), 5000):
        session.execute(update(RiskScore), changed[start : start + 5000])
    _band_counts.clear()  # a page of this process counts the new scores at once
    counts = {b: int((bands == b).sum()) for b in ("low", "medium", "high")}
    counts["high"] += len(notice_ids)
    record_audit(
        session,
        actor="system:refresh",
        action="score",
        entity="risk_scores",
        entity_id=as_of.isoformat(),
        after={"model_id": model_row.id, **counts, "notice": len(notice_ids)},
    )
    return {
        "as_of": as_of.isoformat(),
        "model_id": model_row.id,
        "accounts": len(scored),
        **counts,
        "notice": len(notice_ids),
    }


def latest_risk(session: Session, *, account_id: int) -> RiskScore | None:
    return session.scalars(
        select(RiskScore)
        .where(RiskScore.account_id == account_id)
        .order_by(RiskScore.as_of.desc(), RiskScore.id.desc())
    ).first()


def risk_report(session: Session, *, top: int = 20) -> dict[str, Any]:
    """The active model (window, features, backtest) and its newest scores: band counts and the riskiest accounts."""
    from kizuna.accounts.models import Account

    row = active_model(session)
    if row is None:
        raise NotFound("no trained churn model: run `kizuna risk train` first")
    day = session.scalar(select(func.max(RiskScore.as_of)).where(RiskScore.model_id == row.id))
    out: dict[str, Any] = {
        "model": {
            "id": row.id,
            "file_name": row.file_name,
            "trained_at": row.trained_at,
            "data_as_of": row.data_as_of,
            "train_window": [row.train_start, row.train_end],
            "horizon_days": row.horizon_days,
            "n_samples": row.n_samples,
            "base_rate": row.base_rate,
            "features": row.features,
            "params": row.params,
        },
        "backtest": row.metrics,
        "as_of": day,
        "bands": {},
        "top": [],
    }
    if day is None:
        return out
    q = select(RiskScore.band, func.count()).where(RiskScore.model_id == row.id, RiskScore.as_of == day)
    out["bands"] = {b: int(n) for b, n in session.execute(q.group_by(RiskScore.band))}
    top_rows = session.execute(
        select(RiskScore, Account.name)
        .join(Account, Account.id == RiskScore.account_id)
        .where(RiskScore.model_id == row.id, RiskScore.as_of == day)
        .order_by(RiskScore.probability.desc())
        .limit(top)
    )
    out["top"] = [
        {"account_id": r.account_id, "name": name, "probability": r.probability, "band": r.band, "drivers": r.drivers}
        for r, name in top_rows
    ]
    return out


@dataclass(frozen=True)
class Reasons:
    """One account's churn risk in words: what the CSM can act on, apart from the context.

    ``notice`` is true when the account gave notice (at risk by definition: ``signals`` then says so and when its
    contract ends); ``signals`` are sentences about behaviour the CSM can change, strongest first; ``context``
    sentences describe the contract (tenure, size, renewal timing) and are never the reason to act.
    """

    account_id: int
    as_of: dt.date
    probability: float
    band: str
    notice: bool
    signals: list[str]
    context: list[str]


def reasons(session: Session, account_ids: Iterable[int], language: str = "ja") -> dict[int, Reasons]:
    """The newest stored risk of each account in ``account_ids`` as sentences in ``language`` (``ja`` or ``en``).

    Accounts with no stored risk score are left out. One query whatever the number of accounts, for the cockpit,
    the customer 360 and lists.
    """
    from kizuna.risk.sentences import sentence

    ids = sorted({int(a) for a in account_ids})
    if not ids:
        return {}
    newest = (
        select(RiskScore.account_id, func.max(RiskScore.as_of).label("as_of"))
        .where(RiskScore.account_id.in_(ids))
        .group_by(RiskScore.account_id)
        .subquery()
    )
    rows = session.scalars(
        select(RiskScore)
        .join(newest, (newest.c.account_id == RiskScore.account_id) & (newest.c.as_of == RiskScore.as_of))
        .order_by(RiskScore.id)
    )
    out: dict[int, Reasons] = {}
    for row in rows:
        signals: list[str] = []
        context: list[str] = []
        notice = False
        for driver in row.drivers or []:
            text = sentence(driver, language)
            if text is None:
                continue
            kind = driver.get("kind") or ("context" if driver.get("feature") in _context_features() else "signal")
            if kind == "notice":
                notice = True
                signals.insert(0, text)
            elif kind == "context":
                context.append(text)
            else:
                signals.append(text)
        out[row.account_id] = Reasons(
            account_id=row.account_id,
            as_of=row.as_of,
            probability=row.probability,
            band=row.band,
            notice=notice,
            signals=signals,
            context=context,
        )
    return out


def _context_features() -> frozenset[str]:
    from kizuna.analytics.risk.features import CONTEXT_FEATURES

    return CONTEXT_FEATURES


@dataclass(frozen=True)
class AtRiskAccount:
    account_id: int
    name: str
    probability: float
    band: str
    reasons: Reasons | None


def at_risk_accounts(
    session: Session, *, language: str = "ja", limit: int = 50, offset: int = 0, notice: bool = False
) -> list[AtRiskAccount]:
    """The newest scores of the active model, riskiest first (``limit`` of them after the first ``offset``), with
    their reasons in ``language``: the accounts that gave notice (``notice=True``, stored with probability 1) or
    those the model scored."""
    from kizuna.accounts.models import Account

    row = active_model(session)
    if row is None:
        return []
    day = session.scalar(select(func.max(RiskScore.as_of)).where(RiskScore.model_id == row.id))
    if day is None:
        return []
    q = (
        select(RiskScore.account_id, Account.name, RiskScore.probability, RiskScore.band)
        .join(Account, Account.id == RiskScore.account_id)
        .where(RiskScore.model_id == row.id, RiskScore.as_of == day)
        .where(RiskScore.probability >= NOTICE_PROBABILITY if notice else RiskScore.probability < NOTICE_PROBABILITY)
        .order_by(RiskScore.probability.desc(), RiskScore.account_id)
        .limit(limit)
        .offset(offset)
    )
    found = session.execute(q).all()
    words = reasons(session, [r.account_id for r in found], language)
    return [
        AtRiskAccount(
            account_id=r.account_id,
            name=r.name,
            probability=r.probability,
            band=r.band,
            reasons=words.get(r.account_id),
        )
        for r in found
    ]


#: the newest day's band counts and notices per model: a count over every scored account (45,000 on the
#: 50,000-account demo, half the page's time), which moves only when a refresh scores again
_band_counts: TtlCache[tuple[dict[str, int], int]] = TtlCache(ttl=60.0, size=16)


def _count_bands(session: Session, model_id: int, day: dt.date | None) -> tuple[dict[str, int], int]:
    """Accounts per band of ``model_id``'s scores of ``day``, and how many of them gave notice."""
    if day is None:
        return {}, 0
    scored = (RiskScore.model_id == model_id, RiskScore.as_of == day)
    bands = {
        str(b): int(n)
        for b, n in session.execute(select(RiskScore.band, func.count()).where(*scored).group_by(RiskScore.band))
    }
    noticed = session.scalar(select(func.count()).where(*scored, RiskScore.probability >= NOTICE_PROBABILITY))
    return bands, int(noticed or 0)


def risk_page(
    session: Session, *, language: str = "ja", limit: int = 50, notice_page: int = 1, notice_per_page: int = 25
) -> dict[str, Any]:
    """What the churn-risk page shows, all stored: the active model's card and backtest, the band counts of its
    newest scores, one page of the accounts that gave notice (hundreds on a large book) and the ``limit`` riskiest
    others, with reasons in ``language``."""
    row = active_model(session)
    if row is None:
        return {
            "model": None,
            "backtest": {},
            "windows": {},
            "as_of": None,
            "bands": {},
            "notice": [],
            "notice_total": 0,
            "notice_page": 1,
            "notice_pages": 1,
            "riskiest": [],
        }
    day = session.scalar(select(func.max(RiskScore.as_of)).where(RiskScore.model_id == row.id))
    bands, noticed = _band_counts.get(session, (row.id, day), lambda: _count_bands(session, row.id, day))
    pages = max(1, -(-noticed // notice_per_page))
    notice_page = min(max(1, notice_page), pages)
    return {
        "model": {
            "id": row.id,
            "trained_at": row.trained_at,
            "data_as_of": row.data_as_of,
            "train_start": row.train_start,
            "train_end": row.train_end,
            "horizon_days": row.horizon_days,
            "n_samples": row.n_samples,
            "base_rate": row.base_rate,
            "features": list(row.features),
        },
        "backtest": row.metrics or {},
        "windows": _windows(row.metrics or {}),
        "as_of": day,
        "bands": bands,
        "notice": at_risk_accounts(
            session,
            language=language,
            limit=notice_per_page,
            offset=(notice_page - 1) * notice_per_page,
            notice=True,
        ),
        "notice_total": noticed,
        "notice_page": notice_page,
        "notice_pages": pages,
        "riskiest": at_risk_accounts(session, language=language, limit=limit),
    }


def _windows(backtest: dict[str, Any]) -> dict[str, Any]:
    """The backtest's stored ISO dates as dates: ``test_from``, ``train`` and ``test`` (first, last)."""
    out: dict[str, Any] = {}
    if backtest.get("test_from"):
        out["test_from"] = dt.date.fromisoformat(backtest["test_from"])
    for key in ("train", "test"):
        window = backtest.get(f"{key}_window")
        if window:
            out[key] = tuple(dt.date.fromisoformat(d) for d in window)
    return out
