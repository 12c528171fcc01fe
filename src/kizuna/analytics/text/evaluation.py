"""Evaluation of the classifier and sentiment on a labelled set (``text, category, sentiment``).

The held-out split is fixed by a hash of each text (md5 mod 5 == 0, about a fifth), so it never moves when the
set grows and nobody has to remember which rows were kept back. Rules were written against the other
four-fifths only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kizuna.analytics.text.classify import VocClassifier, cross_validate_classifier, per_class_report
from kizuna.analytics.text.coding import apply_rules
from kizuna.analytics.text.corpus import Corpus, require_columns
from kizuna.analytics.text.sentiment import text_sentiment

__all__ = ["evaluate_labelled_set", "holdout_mask"]


def holdout_mask(texts: pd.Series) -> np.ndarray:
    """True for the texts of the fixed held-out split (md5 of the text, mod 5 == 0)."""
    return np.array([int(hashlib.md5(str(t).encode("utf-8")).hexdigest(), 16) % 5 == 0 for t in texts])


def evaluate_labelled_set(
    frame: pd.DataFrame | str | Path, *, n_splits: int = 5, random_state: int = 0
) -> dict[str, Any]:
    """Cross-validated rules / model / combined reports on the development split, the held-out split scored
    by a combined model fitted on the whole development split, and sentiment accuracy.

    Returns a dict with ``cv`` (the :func:`cross_validate_classifier` result), ``holdout`` (per-class reports
    for ``rules`` and ``combined``) and ``sentiment`` (the lexicon's accuracy on development and held-out texts,
    and ``model_holdout_accuracy``: the sentiment model's, fitted on the development texts' sentiment labels).
    """
    df = pd.read_csv(frame) if isinstance(frame, (str, Path)) else frame
    require_columns(df, ["text", "category", "sentiment"], what="labelled set")
    df = df.dropna(subset=["text"]).reset_index(drop=True)
    hold = holdout_mask(df["text"])
    dev, held = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    c_dev, c_held = Corpus.from_frame(dev), Corpus.from_frame(held)
    cv = cross_validate_classifier(c_dev, dev["category"], n_splits=n_splits, random_state=random_state)
    model = VocClassifier(random_state=random_state).fit(c_dev, dev["category"], dev["sentiment"])
    held_pred = model.predict(c_held)["category"]
    held_sentiment = model.predict_sentiment(c_held)["label"]
    held_rules = apply_rules(c_held)["rule_label"]
    s_dev, s_held = text_sentiment(c_dev)["label"], text_sentiment(c_held)["label"]
    return {
        "cv": cv,
        "holdout": {
            "rules": per_class_report(held["category"], held_rules),
            "combined": per_class_report(held["category"], held_pred),
        },
        "sentiment": {
            "dev_accuracy": float((s_dev == dev["sentiment"]).mean()),
            "holdout_accuracy": float((s_held == held["sentiment"]).mean()),
            "model_holdout_accuracy": float((held_sentiment == held["sentiment"]).mean()),
            "dev_n": len(dev),
            "holdout_n": len(held),
        },
    }
