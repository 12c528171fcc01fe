"""How well the shipped VoC classifier and sentiment model do on Japanese texts they were not fitted on.

    python bench/voc_accuracy.py [--file labelled.csv] [--ablations]

* **held-out split** (``tests/data/voc/holdout_ja.csv``, 160 texts): written and committed before any result was
  looked at, in other styles than the training corpus (no template), and in no training file. The shipped model
  (``kizuna.voc.service.default_training_set``: every file of ``kizuna/voc/training``) is fitted once and scored.
* **another author's texts** (``eval_ja.csv``, 320 texts written for kizuna by an earlier session): the same model
  fitted on every shipped file *except* the evaluation sets, so these texts are unseen.
* ``--file``: any labelled CSV (``text, category`` and optionally ``sentiment``), scored by the shipped model.
* ``--ablations``: the same two tests without character n-grams, without synonym groups, with the rules first, and
  the previous shipped model (the 40 + 24 texts of ``default_{ja,en}.csv``, rules first, lexicon sentiment).

Prints precision / recall / F1 per class (rules alone and the model) and sentiment accuracy (the sentiment model and
the lexicon alone). Not a test: prints its figures (docs/voc.md keeps them).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from kizuna.analytics.text.classify import SENTIMENT_LABELS, VocClassifier, per_class_report
from kizuna.analytics.text.coding import apply_rules
from kizuna.analytics.text.corpus import Corpus
from kizuna.voc.service import default_training_set

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT = ROOT / "tests" / "data" / "voc" / "holdout_ja.csv"
TRAINING = ROOT / "src" / "kizuna" / "voc" / "training"


def fitted(training: pd.DataFrame, **params: Any) -> VocClassifier:
    corpus = Corpus.from_frame(training[["text"]].reset_index(drop=True))
    sentiment = training["sentiment"] if "sentiment" in training.columns else None
    return VocClassifier(**params).fit(corpus, training["category"].tolist(), sentiment)


def score(model: VocClassifier, frame: pd.DataFrame) -> dict[str, Any]:
    corpus = Corpus.from_frame(frame[["text"]].reset_index(drop=True))
    out: dict[str, Any] = {
        "rules": per_class_report(frame["category"], apply_rules(corpus)["rule_label"]),
        "model": per_class_report(frame["category"], model.predict(corpus)["category"]),
    }
    if "sentiment" in frame.columns:
        truth = frame["sentiment"].astype(str).to_numpy()
        out["sentiment"] = float((model.predict_sentiment(corpus)["label"].to_numpy() == truth).mean())
        lexicon = [model.scorer.score_text(doc)[0] for doc in corpus.texts]
        out["sentiment_lexicon"] = float((pd.Series(lexicon).to_numpy() == truth).mean())
        out["sentiment_report"] = per_class_report(
            truth, model.predict_sentiment(corpus)["label"], classes=SENTIMENT_LABELS
        )
    return out


def macro(report: pd.DataFrame) -> float:
    return float(report.set_index("class").loc["macro", "f1"])


def show(title: str, result: dict[str, Any], *, per_class: bool = True) -> None:
    print(f"\n## {title}")
    line = f"macro-F1: rules {macro(result['rules']):.3f}, model {macro(result['model']):.3f}"
    if "sentiment" in result:
        line += f"; sentiment accuracy: model {result['sentiment']:.3f}, lexicon {result['sentiment_lexicon']:.3f}"
    print(line)
    if per_class:
        table = result["rules"].merge(result["model"], on=["class", "support"], suffixes=("_rules", "_model"))
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        if "sentiment_report" in result:
            print(result["sentiment_report"].to_string(index=False, float_format=lambda v: f"{v:.2f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", help="a labelled CSV (text, category[, sentiment]) to score the shipped model on")
    parser.add_argument("--ablations", action="store_true")
    args = parser.parse_args()

    shipped = default_training_set()
    without_eval = shipped[~shipped["file"].isin(["eval_ja.csv", "eval_en.csv"])]
    holdout = pd.read_csv(HOLDOUT)
    other_author = pd.read_csv(TRAINING / "eval_ja.csv")
    print(f"shipped training texts: {len(shipped)} ({shipped['file'].value_counts().to_dict()})")

    t0 = time.process_time()
    model = fitted(shipped)
    print(f"fitted in {time.process_time() - t0:.1f} s CPU")
    show(f"held-out split ({len(holdout)} texts), shipped model", score(model, holdout))
    if args.file:
        frame = pd.read_csv(args.file)
        show(f"{args.file} ({len(frame)} texts), shipped model", score(model, frame))
    show(
        f"another author's texts (eval_ja.csv, {len(other_author)}), model fitted without the evaluation sets",
        score(fitted(without_eval), other_author),
    )
    if args.ablations:
        previous = shipped[shipped["file"].isin(["default_ja.csv", "default_en.csv"])].drop(columns="sentiment")
        variants: list[tuple[str, pd.DataFrame, pd.DataFrame, dict[str, Any]]] = [
            ("no character n-grams", shipped, without_eval, {"char_ngrams": None}),
            ("no synonym groups", shipped, without_eval, {"synonyms": False}),
            ("rules first", shipped, without_eval, {"policy": "rules_first"}),
            (
                "previous shipped model (64 texts, rules first, lexicon sentiment)",
                previous,
                previous,
                {"policy": "rules_first", "char_ngrams": None, "synonyms": False},
            ),
        ]
        for name, train_all, train_other, params in variants:
            held = score(fitted(train_all, **params), holdout)
            other = score(fitted(train_other, **params), other_author)
            print(
                f"\n{name}: held-out macro-F1 {macro(held['model']):.3f}, sentiment {held['sentiment']:.3f}; "
                f"eval_ja macro-F1 {macro(other['model']):.3f}, sentiment {other['sentiment']:.3f}"
            )


if __name__ == "__main__":
    main()
