"""What a scorecard can measure in this company, and weights and thresholds learned from its churn.

**Coverage.** A measure has *no data* in a company when its input is missing for every sample, or never varies
(every account shows the same value: a company without a ticket system has 0 tickets everywhere). Such a measure
cannot tell accounts apart, yet its weight pushes every score the same way (all green); :func:`drop_absent` blanks
it so that the scorecard re-weights over the measures that do have data, and the coverage says which ones.

**Calibration.** :func:`calibrate_scorecard` proposes new weights and thresholds from churn outcomes on a time split:
the sample dates whose churn horizon ended before the split train, the dates after it test. The weights come from a
logistic regression of churn on the measures' 0–100 points (chosen over isotonic thresholds because a weighted mean
of points *is* a linear model of the points: its coefficients are the scorecard's weights, so the proposal keeps the
scorecard's shape and stays reviewable). A measure whose points rank churn the wrong way is reversed (its points
mirrored), a measure without data or without signal is dropped. Thresholds: red flags about twice the churn base
rate of accounts (5–30 %), green is the safer half. Both scorecards are backtested on the test dates only.

**Behaviour measures.** When half or more of a scorecard's measures have no data (a company without logins,
tickets or surveys), the scorecard can only re-weight what is left, which may be nothing that ranks churn. The caller
may then pass ``candidates``: columns of the measure frame computed from the company's own product events
(:mod:`kizuna.analytics.risk.behaviour`, the same automatic per-event-type columns the churn model uses). Each
becomes a proposed measure scored linearly between its 10th and 90th percentile on the training dates; those that
rank churn on the training dates (ROC-AUC at least :data:`MIN_CANDIDATE_AUC` away from 0.5 either way; at most one
per event type and :data:`MAX_CANDIDATES` in all, the strongest first) enter the same logistic regression as the
scorecard's own measures, so their weights and directions are learned and backtested like the others'.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.churn.labels import churn_labels
from kizuna.analytics.scoring.scorecard import BandScoring, LinearScoring, Measure, Scorecard, StepBand
from kizuna.errors import NotEnoughData

COVERAGE_COLUMNS = ["measure", "source", "known_share", "distinct", "no_data"]
#: a candidate behaviour measure must rank churn on the training dates at least this far from random (ROC-AUC 0.5)
MIN_CANDIDATE_AUC = 0.03
#: at most this many behaviour measures are proposed (a scorecard a person can still read)
MAX_CANDIDATES = 6
#: the share of a scorecard's measures without data from which behaviour measures are proposed
MOSTLY_ABSENT = 0.5


def mostly_absent(coverage: pd.DataFrame) -> bool:
    """Half or more of the scorecard's measures have no data in this company (:func:`measure_coverage`)."""
    return bool(len(coverage)) and float(coverage["no_data"].astype(bool).mean()) >= MOSTLY_ABSENT


def _candidate_measures(train: pd.DataFrame, candidates: Sequence[str], family: Callable[[str], str]) -> list[Measure]:
    """Behaviour columns that rank churn on ``train``, as linear measures between their 10th and 90th percentile
    (100 points at the end where fewer accounts churned), strongest first, one per ``family``."""
    from sklearn.metrics import roc_auc_score

    y = train["churned"].to_numpy(dtype=int)
    scored: list[tuple[float, str, float, float, bool]] = []
    for column in candidates:
        if column not in train.columns:
            continue
        values = pd.to_numeric(train[column], errors="coerce").to_numpy(dtype=float)
        known = np.isfinite(values)
        if known.sum() < 50 or len(np.unique(y[known])) < 2:
            continue
        lo, hi = (float(q) for q in np.quantile(values[known], [0.1, 0.9]))
        if not hi > lo:
            continue
        auc = float(roc_auc_score(y[known], values[known]))
        if abs(auc - 0.5) >= MIN_CANDIDATE_AUC:
            scored.append((abs(auc - 0.5), column, lo, hi, auc > 0.5))
    scored.sort(key=lambda s: -s[0])
    out: list[Measure] = []
    taken: set[str] = set()
    for _, column, lo, hi, more_is_worse in scored:
        if family(column) in taken:
            continue
        taken.add(family(column))
        out.append(
            Measure(
                name=column,
                source=column,
                weight=0.0,
                # points say health: 100 at the end of the range where the training dates churned less
                scoring=LinearScoring(
                    (
                        (_round_knot(lo), 100.0 if more_is_worse else 0.0),
                        (_round_knot(hi), 0.0 if more_is_worse else 100.0),
                    )
                ),
                title=behaviour_title(column),
            )
        )
        if len(out) >= MAX_CANDIDATES:
            break
    return out


def _round_knot(x: float) -> float:
    return float(f"{x:.3g}")


#: how each behaviour statistic reads in a measure's title (``{e}``: the event type)
_STAT_TITLES = {
    "n30": ("{e} (30 days)", "{e}（30日間の回数）"),
    "days30": ("days with {e} (30 days)", "{e}のあった日数（30日間）"),
    "per_seat30": ("{e} per seat (30 days)", "{e}（30日間・1席あたり）"),
    "per_day30": ("{e} per active day (30 days)", "{e}（30日間・利用日あたり）"),
    "trend30": ("{e}: this month against the last", "{e}の前月比"),
    "trend90": ("{e}: this quarter against the last", "{e}の前四半期比"),
    "vs_base": ("{e} against the account's own 180 days", "{e}（自社の直近180日との比較）"),
    "vs_life": ("{e} against the account's own history", "{e}（自社のこれまでとの比較）"),
    "share30": ("share of {e} in all use (30 days)", "利用全体に占める{e}の割合（30日間）"),
    "since": ("days since the last {e}", "最後の{e}からの日数"),
    "recent7": ("{e}: last week against the month", "{e}の直近1週間（月平均比）"),
    "ever": ("{e} ever", "{e}（累計）"),
    "breadth30": ("event types used (30 days)", "利用したイベントの種類数（30日間）"),
    "breadth_change": ("event types used: change", "利用イベント種類数の変化"),
}


def behaviour_title(column: str) -> dict[str, str]:
    """The title of a behaviour column in both languages: the event type's own name and what is counted."""
    body = column.split("__", 1)[1] if "__" in column else column
    event, _, stat = body.rpartition("__")
    if not event:  # an all-types column (ev_all__days30)
        event, stat = "all events", body
    en, ja = _STAT_TITLES.get(stat, ("{e} " + stat, "{e} " + stat))
    ja_event = "全イベント" if event == "all events" else event
    return {"en": en.format(e=event), "ja": ja.format(e=ja_event)}


def measure_coverage(measures: pd.DataFrame, scorecard: Scorecard) -> pd.DataFrame:
    """Per measure of ``scorecard``: ``known_share`` (0–1 of the rows with a value), ``distinct`` values and
    ``no_data`` (never known, or the same value for every row)."""
    rows = []
    for m in scorecard.measures:
        if m.source in measures.columns and len(measures):
            values = pd.to_numeric(measures[m.source], errors="coerce")
            known = float(values.notna().mean())
            distinct = int(values.nunique(dropna=True))
        else:
            known, distinct = 0.0, 0
        rows.append(
            {"measure": m.name, "source": m.source, "known_share": known, "distinct": distinct, "no_data": distinct < 2}
        )
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def absent_measures(coverage: pd.DataFrame) -> list[str]:
    """The names of the measures without data in a :func:`measure_coverage` frame."""
    return [str(x) for x in coverage.loc[coverage["no_data"].astype(bool), "measure"]]


def drop_absent(measures: pd.DataFrame, scorecard: Scorecard, absent: list[str]) -> pd.DataFrame:
    """``measures`` with the inputs of the ``absent`` measures blanked (NaN): scoring redistributes their weight
    over the measures with data and lists them as missing."""
    sources = {m.source for m in scorecard.measures if m.name in absent}
    shared = {m.source for m in scorecard.measures if m.name not in absent}
    blank = [s for s in sources - shared if s in measures.columns]
    if not blank:
        return measures
    out = measures.copy()
    out[blank] = np.nan
    return out


@dataclass
class Calibration:
    """Result of :func:`calibrate_scorecard`: the proposed scorecard, both backtested on the test dates."""

    current: Scorecard
    proposed: Scorecard
    split_date: dt.date
    train: dict[str, float]
    test_current: dict[str, float]
    test_proposed: dict[str, float]
    changes: list[dict[str, Any]] = field(default_factory=list)
    coverage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COVERAGE_COLUMNS))

    @property
    def better(self) -> bool:
        """The proposal ranks churn better than the current scorecard on the test dates."""
        new, old = self.test_proposed.get("roc_auc", np.nan), self.test_current.get("roc_auc", np.nan)
        return bool(np.isfinite(new) and (not np.isfinite(old) or new > old))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scorecard": self.current.name,
            "current_version": self.current.version,
            "proposed": self.proposed.to_dict(),
            "split_date": self.split_date.isoformat(),
            "train": self.train,
            "test_current": self.test_current,
            "test_proposed": self.test_proposed,
            "better": self.better,
            "changes": self.changes,
            "no_data": absent_measures(self.coverage),
        }


def _labelled(
    measures: pd.DataFrame, scorecard: Scorecard, churns: pd.DataFrame, observed_until: dt.date, horizon_days: int
) -> pd.DataFrame:
    population = measures[measures["active"].astype(bool) & ~measures["notice_given"].astype(bool)]
    population = population[scorecard.applies(population)].reset_index(drop=True)
    return churn_labels(population, churns, horizon_days=horizon_days, observed_until=observed_until)


def _points(frame: pd.DataFrame, scorecard: Scorecard) -> np.ndarray:
    n = len(frame)
    cols = []
    for m in scorecard.measures:
        values = (
            pd.to_numeric(frame[m.source], errors="coerce").to_numpy(dtype=float)
            if m.source in frame.columns
            else np.full(n, np.nan)
        )
        cols.append(m.points(values))
    return np.column_stack(cols) if cols else np.empty((n, 0))


def _mirror(measure: Measure) -> Measure:
    scoring = measure.scoring
    if isinstance(scoring, LinearScoring):
        mirrored: LinearScoring | BandScoring = LinearScoring(tuple((x, 100.0 - y) for x, y in scoring.knots))
    else:
        mirrored = BandScoring(tuple(StepBand(b.below, 100.0 - b.points) for b in scoring.bands))
    return dataclasses.replace(measure, scoring=mirrored)


def _metrics(card: Scorecard, frame: pd.DataFrame) -> dict[str, float]:
    from kizuna.analytics.churn.evaluation import ranking_metrics
    from kizuna.analytics.scoring.scoring import score_values

    scored = score_values(frame, card)
    keep = scored["score"].notna().to_numpy()
    y = frame["churned"].to_numpy(dtype=int)[keep]
    out = ranking_metrics(-scored["score"].to_numpy(dtype=float)[keep], y)
    red = (scored["band"] == "red").to_numpy()[keep]
    out["red_share"] = float(red.mean()) if len(red) else float("nan")
    out["red_recall"] = float(red[y == 1].mean()) if y.any() else float("nan")
    out["green_share"] = float((scored["band"] == "green").to_numpy()[keep].mean()) if keep.any() else float("nan")
    return out


def calibrate_scorecard(
    measures: pd.DataFrame,
    scorecard: Scorecard,
    churns: pd.DataFrame,
    *,
    observed_until: dt.date,
    horizon_days: int = 90,
    test_share: float = 0.34,
    candidates: Sequence[str] = (),
    family: Callable[[str], str] = lambda column: column,
) -> Calibration:
    """Propose weights and thresholds for ``scorecard`` learned from churn on a time split.

    Parameters
    ----------
    measures
        Point-in-time measures at many dates (``account_id``, ``as_of``, ``active``, ``notice_given`` and the
        measure columns; :func:`kizuna.analytics.scoring.measures.measures_over_time`).
    scorecard
        The scorecard in force.
    churns
        Churn events (``account_id``, ``churned_on``).
    observed_until
        The last day of data.
    horizon_days
        The churn window after each sample date.
    test_share
        The share of the labelled sample dates (the latest) held out to test.
    candidates
        Behaviour columns of ``measures`` to propose as new measures when half or more of the scorecard's measures
        have no data (see the module docstring); ignored otherwise.
    family
        The group a candidate column belongs to (its event type): one measure per family is proposed.

    Returns
    -------
    Calibration
        The proposal (version + 1), the split date, both scorecards' metrics on the test dates, the proposal's on
        the training dates, one ``changes`` row per measure and the coverage.

    Raises
    ------
    NotEnoughData
        Too few labelled dates or churns on either side of the split.
    """
    from sklearn.linear_model import LogisticRegression

    coverage = measure_coverage(measures[measures["active"].astype(bool)], scorecard)
    absent = absent_measures(coverage)
    labelled = _labelled(measures, scorecard, churns, observed_until, horizon_days)
    dates = sorted(set(labelled["as_of"]))
    if len(dates) < 3:
        raise NotEnoughData(f"calibrating {scorecard.name} needs at least 3 labelled sample dates, have {len(dates)}")
    split = dates[max(1, min(len(dates) - 1, round(len(dates) * (1 - test_share))))]
    # training outcomes must be known before the split: their horizon ends on or before it
    train = labelled[pd.to_datetime(labelled["as_of"]) + pd.Timedelta(days=horizon_days) <= pd.Timestamp(split)]
    test = labelled[pd.to_datetime(labelled["as_of"]) >= pd.Timestamp(split)]
    if train["churned"].nunique() < 2 or test["churned"].nunique() < 2:
        raise NotEnoughData(
            f"calibrating {scorecard.name} needs churned and retained accounts before and after {split}: "
            f"train {int(train['churned'].sum())} of {len(train)}, test {int(test['churned'].sum())} of {len(test)}"
        )
    proposed_new = _candidate_measures(train, candidates, family) if mostly_absent(coverage) else []
    own = [m.name for m in scorecard.measures]
    proposed_new = [m for m in proposed_new if m.name not in own]
    widened = dataclasses.replace(scorecard, measures=(*scorecard.measures, *proposed_new))
    usable = [i for i, m in enumerate(widened.measures) if m.name not in absent]
    points = _points(train, widened)[:, usable] / 100.0
    means = np.nanmean(points, axis=0) if len(points) else np.zeros(len(usable))
    means = np.where(np.isfinite(means), means, 0.5)
    x = np.where(np.isnan(points), means, points)
    y = train["churned"].to_numpy(dtype=int)
    model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(x, y)
    coef = model.coef_[0]
    total = float(np.abs(coef).sum()) or 1.0
    changes: list[dict[str, Any]] = []
    new_measures: list[Measure] = []
    by_index = dict(zip(usable, coef, strict=True))
    added = {m.name for m in proposed_new}
    for i, m in enumerate(widened.measures):
        c = by_index.get(i)
        share = 0.0 if c is None else abs(float(c)) / total
        if c is None:
            action = "dropped_no_data"
        elif share < 0.02:
            action = "dropped_no_signal"
        elif c > 0:
            action = "reversed"  # more points, more churn: the points are mirrored
        else:
            action = "kept"
        weight = round(100 * share, 1)
        if m.name in added:
            if action != "kept":
                # adds nothing, or only against its own direction beside the others (a suppressor no person could
                # read as health): simply not proposed
                continue
            action = "added"
        changes.append({"measure": m.name, "old_weight": m.weight, "new_weight": weight, "action": action})
        if action in ("kept", "added"):
            new_measures.append(dataclasses.replace(m, weight=weight))
        elif action == "reversed":
            new_measures.append(dataclasses.replace(_mirror(m), weight=weight))
    if not new_measures:
        raise NotEnoughData(f"no measure of {scorecard.name} predicts churn in this company's history")
    draft = dataclasses.replace(scorecard, version=scorecard.version + 1, measures=tuple(new_measures))
    from kizuna.analytics.scoring.scoring import score_values

    train_scores = score_values(train, draft)["score"].dropna().to_numpy(dtype=float)
    base = float(y.mean())
    red_share = float(np.clip(2 * base, 0.05, 0.30))
    red = float(np.round(np.quantile(train_scores, red_share), 1))
    green = float(np.round(max(red, np.quantile(train_scores, 0.5)), 1))
    proposed = dataclasses.replace(
        draft,
        red_below=red,
        green_from=green,
        description=(scorecard.description + " " if scorecard.description else "")
        + f"(calibrated on churn up to {split}; v{scorecard.version} weights re-learned)",
    )
    return Calibration(
        current=scorecard,
        proposed=proposed,
        split_date=split,
        train=_metrics(proposed, train),
        test_current=_metrics(scorecard, test),
        test_proposed=_metrics(proposed, test),
        changes=changes,
        coverage=coverage,
    )
