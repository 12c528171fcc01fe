"""The drivers stored with each risk score, chosen for all accounts at once, are the rows the one-account-at-a-time
reading gave: same features, kinds, values, contributions and order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from kizuna.analytics.risk.features import CONTEXT_FEATURES, reassuring, reassuring_values
from kizuna.risk.service import _clean, _drivers

FEATURES = [
    "tenure_days",
    "contract_seats",
    "days_to_renewal",
    "mrr_minor",
    "usage_trend",
    "nps_latest",
    "tickets_90d",
    "onboarding_progress",
    "voc_sentiment",
    "logins_30d",
    "ev__login__trend30",
    "ev__export__vs_life",
    "ev__export__n30",
    "ev_all__breadth_change",
    "ev_all__since",
]


class _Model:
    def __init__(self, contrib: np.ndarray[Any, Any]) -> None:
        self.features_ = FEATURES
        self._contrib = contrib

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        data = np.column_stack([self._contrib, np.zeros(len(frame))])
        return pd.DataFrame(data, columns=[*FEATURES, "bias"], index=frame.index)


def _drivers_one_by_one(
    model: Any, population: pd.DataFrame, *, signals: int, context: int
) -> list[list[dict[str, Any]]]:
    """The reading before: each row's features in order of contribution, one at a time."""
    features = list(model.features_)
    contrib = model.contributions(population).drop(columns="bias").to_numpy(dtype=float)
    values = population.reindex(columns=features).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    is_context = np.array([f in CONTEXT_FEATURES for f in features])
    order = np.argsort(-contrib, axis=1, kind="stable")
    out: list[list[dict[str, Any]]] = []
    for i in range(len(contrib)):
        taken = {"signal": 0, "context": 0}
        limit = {"signal": signals, "context": context}
        drivers = []
        for j in order[i]:
            c = contrib[i, j]
            if c <= 0:
                break
            kind = "context" if is_context[j] else "signal"
            v = values[i, j]
            if taken[kind] >= limit[kind] or (kind == "signal" and reassuring(features[j], v)):
                continue
            taken[kind] += 1
            drivers.append(
                {
                    "feature": features[j],
                    "kind": kind,
                    "value": None if np.isnan(v) else round(float(v), 4),
                    "contribution": round(float(c), 4),
                }
            )
        out.append(drivers)
    return out


@pytest.mark.parametrize(("signals", "context"), [(3, 2), (0, 1), (1, 0), (20, 20)])
def test_drivers_of_all_accounts_at_once_are_those_read_one_by_one(signals: int, context: int) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    # contributions with ties (rounded), zeros and negatives; values around each reassuring threshold, some missing
    contrib = np.round(rng.normal(0.0, 0.3, size=(n, len(FEATURES))), 2)
    values = np.round(rng.normal(0.0, 5.0, size=(n, len(FEATURES))), 1)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[rng.random(values.shape) < 0.01] = np.inf
    population = pd.DataFrame(values, columns=FEATURES).assign(account_id=np.arange(n))
    model = _Model(contrib)

    got = _drivers(model, population, signals=signals, context=context)

    # JSON-ready as they are stored (an infinite value none): what the cleaning of the reading before stored
    assert got == _clean(_drivers_one_by_one(model, population, signals=signals, context=context))
    assert any(d["value"] is None for row in got for d in row)
    assert sum(map(len, got)) > 0


def test_reassuring_values_agree_with_reassuring_value_by_value() -> None:
    values = np.array([np.nan, -np.inf, -1.0, 0.0, 0.1, 0.2, 1.0, 4.0, 9.0, np.inf])
    for feature in FEATURES:
        assert reassuring_values(feature, values).tolist() == [reassuring(feature, v) for v in values], feature
