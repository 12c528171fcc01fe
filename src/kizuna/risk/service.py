"""Churn risk: train and save the model (with its backtest), score accounts, report.

The fitted model is a joblib file under ``settings.models_dir``; its metadata (training window, features, params,
backtest figures) is a ``risk_models`` row. Services flush and never commit; writes take ``actor=`` and audit.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import InvalidInput, NotFound
from kizuna.risk.models import RiskModel, RiskScore

log = logging.getLogger(__name__)


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
) -> RiskModel:
    """Build point-in-time samples up to ``as_of``, backtest on a time split, refit on all samples, save, activate.

    ``scorecard`` (default: the ``overall`` scorecard) is compared in the backtest.
    """
    import joblib

    from kizuna.analytics.risk.backtest import time_split_backtest
    from kizuna.analytics.risk.features import training_samples
    from kizuna.analytics.risk.model import ChurnRiskModel

    if scorecard is None:
        from kizuna.health.service import scorecards

        scorecard = scorecards().get("overall")
    samples, _ = training_samples(
        tables, observed_until=as_of, horizon_days=horizon_days, every_days=every_days, voc_scores=voc_scores
    )
    if samples.empty or samples["churned"].nunique() < 2:
        raise InvalidInput(
            "not enough history to train a churn model: need churned and retained accounts "
            f"with {horizon_days} days of outcome before {as_of}",
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
                "learning_rate": model.learning_rate,
                "num_leaves": model.num_leaves,
                "min_child_samples": model.min_child_samples,
                "random_state": model.random_state,
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


def score_accounts(
    session: Session,
    *,
    tables: dict[str, Any],
    as_of: dt.date,
    models_dir: Path,
    model_row: RiskModel | None = None,
    voc_scores: pd.DataFrame | None = None,
    top_drivers: int = 3,
) -> dict[str, Any]:
    """Score every account in force on ``as_of`` (notice not given) with the active model; store the scores."""
    from kizuna.analytics.risk.features import in_population
    from kizuna.analytics.scoring.measures import account_measures

    model_row = model_row or active_model(session)
    if model_row is None:
        raise NotFound("no trained churn model: run `kizuna risk train` first")
    model = load_model(model_row, models_dir)
    measures = account_measures(tables, as_of, voc_scores=voc_scores)
    population = measures[in_population(measures)].reset_index(drop=True)
    probability = model.predict_proba(population) if len(population) else np.empty(0)
    bands = model.band(probability)
    drivers = model.drivers(population, top=top_drivers) if len(population) else []
    # one risk score per account and day: a day re-scored by a newer model replaces the older model's scores
    session.execute(delete(RiskScore).where(RiskScore.as_of == as_of, RiskScore.model_id != model_row.id))
    existing = {
        r.account_id: r
        for r in session.scalars(select(RiskScore).where(RiskScore.model_id == model_row.id, RiskScore.as_of == as_of))
    }
    now = utcnow()
    for account_id, p, band, drv in zip(population["account_id"], probability, bands, drivers, strict=True):
        row = existing.get(int(account_id))
        if row is None:
            row = RiskScore(account_id=int(account_id), model_id=model_row.id, as_of=as_of)
            session.add(row)
        row.probability = round(float(p), 6)
        row.band = str(band)
        row.drivers = _clean(drv)
        row.computed_at = now
    session.flush()
    counts = {b: int((bands == b).sum()) for b in ("low", "medium", "high")}
    record_audit(
        session,
        actor="system:refresh",
        action="score",
        entity="risk_scores",
        entity_id=as_of.isoformat(),
        after={"model_id": model_row.id, **counts},
    )
    return {"as_of": as_of.isoformat(), "model_id": model_row.id, "accounts": len(population), **counts}


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
