"""Scorecard definitions: versioned, reviewable YAML turned into typed objects.

A scorecard is a weighted set of measures. Each measure reads one column of the point-in-time measure frame
(:func:`kizuna.analytics.scoring.measures.account_measures`), turns its value into 0–100 points with a scoring
function, and carries a weight. The score is the weighted mean of the points of the measures whose input is known;
the weights of missing inputs are redistributed over the known ones (and reported). Red / yellow / green come from two
thresholds on the 0–100 score.

YAML shape::

    name: overall
    version: 3
    title: {ja: 総合ヘルス, en: Overall health}
    thresholds: {red: 40, green: 70}     # score < red -> red; score >= green -> green; yellow between
    applies_to: {max_tenure_days: 180}   # optional: only accounts this young are scored (e.g. onboarding)
    measures:
      - name: usage_trend
        source: usage_trend               # a column of the measure frame
        weight: 20
        linear: [[-0.5, 0], [0.0, 60], [0.3, 100]]   # piecewise linear through (value, points); flat outside
      - name: severe_tickets
        source: severe_tickets_90d
        weight: 10
        bands:                            # step bands: the first band whose `below` the value is under wins
          - {below: 1, points: 100}
          - {below: 3, points: 50}
          - {points: 0}                   # the last band has no bound
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kizuna.errors import ConfigurationError

BANDS = ("red", "yellow", "green")


@dataclass(frozen=True)
class LinearScoring:
    """Piecewise-linear points through ``(value, points)`` knots (values increasing); constant beyond the ends."""

    knots: tuple[tuple[float, float], ...]

    def points(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        xs = np.array([k[0] for k in self.knots], dtype=float)
        ys = np.array([k[1] for k in self.knots], dtype=float)
        out: npt.NDArray[np.float64] = np.interp(values, xs, ys)
        out[np.isnan(values)] = np.nan
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"linear": [list(k) for k in self.knots]}


@dataclass(frozen=True)
class StepBand:
    below: float | None  # None: no upper bound (the last band)
    points: float


@dataclass(frozen=True)
class BandScoring:
    """Step bands: a value gets the points of the first band whose ``below`` bound it is under."""

    bands: tuple[StepBand, ...]

    def points(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.full(values.shape, np.nan)
        unset = ~np.isnan(values)
        for band in self.bands:
            hit = unset if band.below is None else unset & (values < band.below)
            out[hit] = band.points
            unset = unset & ~hit
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "bands": [
                {"points": b.points} if b.below is None else {"below": b.below, "points": b.points} for b in self.bands
            ]
        }


Scoring = LinearScoring | BandScoring


@dataclass(frozen=True)
class Measure:
    """One weighted input of a scorecard."""

    name: str
    source: str
    weight: float
    scoring: Scoring
    title: Mapping[str, str] = field(default_factory=dict)

    def points(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """0–100 points for each value (NaN where the value is missing)."""
        arr = np.asarray(values, dtype=float)
        return np.clip(self.scoring.points(arr), 0.0, 100.0)


@dataclass(frozen=True)
class Scorecard:
    """A named, versioned set of weighted measures with red/yellow/green thresholds on the 0–100 score."""

    name: str
    version: int
    measures: tuple[Measure, ...]
    red_below: float = 40.0
    green_from: float = 70.0
    title: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    max_tenure_days: int | None = None

    @property
    def sources(self) -> list[str]:
        return [m.source for m in self.measures]

    def applies(self, measures: Any) -> Any:
        """Boolean mask of the rows of a measure frame this scorecard scores (all, or young enough accounts)."""
        import pandas as pd

        mask = pd.Series(True, index=measures.index)
        if self.max_tenure_days is not None and "tenure_days" in measures.columns:
            mask &= measures["tenure_days"].le(self.max_tenure_days).fillna(False).astype(bool)
        return mask

    def band(self, scores: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """``red`` / ``yellow`` / ``green`` for each 0–100 score (None where the score is missing)."""
        arr = np.asarray(scores, dtype=float)
        out = np.where(arr < self.red_below, "red", np.where(arr >= self.green_from, "green", "yellow")).astype(object)
        out[np.isnan(arr)] = None
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "title": dict(self.title),
            "description": self.description,
            "thresholds": {"red": self.red_below, "green": self.green_from},
            **({"applies_to": {"max_tenure_days": self.max_tenure_days}} if self.max_tenure_days is not None else {}),
            "measures": [
                {"name": m.name, "source": m.source, "weight": m.weight, "title": dict(m.title), **m.scoring.to_dict()}
                for m in self.measures
            ],
        }


def _fail(where: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"{where}: {message}", where=where)


def _scoring(raw: Mapping[str, Any], where: str) -> Scoring:
    if ("linear" in raw) == ("bands" in raw):
        raise _fail(where, "give exactly one of 'linear' (knots) or 'bands' (step bands)")
    if "linear" in raw:
        try:
            knots = tuple((float(x), float(y)) for x, y in raw["linear"])
        except (TypeError, ValueError) as exc:
            raise _fail(where, f"'linear' must be a list of [value, points] pairs, got {raw['linear']!r}") from exc
        if len(knots) < 2:
            raise _fail(where, "'linear' needs at least two knots")
        if any(b[0] <= a[0] for a, b in pairwise(knots)):
            raise _fail(where, f"'linear' knot values must increase, got {[k[0] for k in knots]}")
        if any(not 0 <= k[1] <= 100 for k in knots):
            raise _fail(where, "'linear' points must lie in 0..100")
        return LinearScoring(knots)
    bands_raw = raw["bands"]
    if not isinstance(bands_raw, list) or not bands_raw:
        raise _fail(where, "'bands' must be a non-empty list")
    bands: list[StepBand] = []
    for i, b in enumerate(bands_raw):
        if not isinstance(b, Mapping) or "points" not in b:
            raise _fail(where, f"band {i} needs 'points'")
        below = b.get("below")
        last = i == len(bands_raw) - 1
        if below is None and not last:
            raise _fail(where, f"only the last band may omit 'below' (band {i})")
        if below is not None and bands and bands[-1].below is not None and float(below) <= float(bands[-1].below):
            raise _fail(where, "band bounds ('below') must increase")
        points = float(b["points"])
        if not 0 <= points <= 100:
            raise _fail(where, f"band {i} points must lie in 0..100, got {points}")
        bands.append(StepBand(None if below is None else float(below), points))
    return BandScoring(tuple(bands))


def scorecard_from_dict(raw: Mapping[str, Any], *, where: str = "scorecard") -> Scorecard:
    """Validate a scorecard mapping (parsed YAML); errors name the file and the measure."""
    if not isinstance(raw, Mapping):
        raise _fail(where, "a scorecard must be a mapping")
    for key in ("name", "version", "measures"):
        if key not in raw:
            raise _fail(where, f"missing key {key!r}")
    measures: list[Measure] = []
    seen: set[str] = set()
    for i, m in enumerate(raw["measures"] or []):
        mwhere = f"{where}: measure {i} ({m.get('name', '?') if isinstance(m, Mapping) else '?'})"
        if not isinstance(m, Mapping):
            raise _fail(mwhere, "a measure must be a mapping")
        for key in ("name", "source", "weight"):
            if key not in m:
                raise _fail(mwhere, f"missing key {key!r}")
        if m["name"] in seen:
            raise _fail(mwhere, "duplicate measure name")
        seen.add(m["name"])
        weight = float(m["weight"])
        if weight <= 0:
            raise _fail(mwhere, f"weight must be positive, got {weight}")
        measures.append(
            Measure(
                name=str(m["name"]),
                source=str(m["source"]),
                weight=weight,
                scoring=_scoring(m, mwhere),
                title=dict(m.get("title") or {}),
            )
        )
    if not measures:
        raise _fail(where, "a scorecard needs at least one measure")
    thresholds = raw.get("thresholds") or {}
    red, green = float(thresholds.get("red", 40)), float(thresholds.get("green", 70))
    if not 0 <= red <= green <= 100:
        raise _fail(where, f"thresholds need 0 <= red <= green <= 100, got red={red}, green={green}")
    applies_to = raw.get("applies_to") or {}
    max_tenure = applies_to.get("max_tenure_days") if isinstance(applies_to, Mapping) else None
    if max_tenure is not None and int(max_tenure) <= 0:
        raise _fail(where, f"applies_to.max_tenure_days must be positive, got {max_tenure}")
    return Scorecard(
        name=str(raw["name"]),
        version=int(raw["version"]),
        measures=tuple(measures),
        red_below=red,
        green_from=green,
        title=dict(raw.get("title") or {}),
        description=str(raw.get("description") or ""),
        max_tenure_days=None if max_tenure is None else int(max_tenure),
    )


def load_scorecard(path: Path) -> Scorecard:
    """Read one scorecard YAML file."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML ({exc})", file=str(path)) from exc
    return scorecard_from_dict(raw, where=str(path))


def load_scorecards(paths: Sequence[Path]) -> dict[str, Scorecard]:
    """Read scorecard files in order; a later file with the same ``name`` replaces an earlier one."""
    out: dict[str, Scorecard] = {}
    for path in paths:
        card = load_scorecard(path)
        out[card.name] = card
    return out
