"""Quality floor on the labelled evaluation set (tests/data/voc). Floors are the measured figures of
docs/voc.md minus a margin, so a change that breaks negation or the rules fails here."""

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kizuna.analytics.text.classify import VocClassifier, per_class_report
from kizuna.analytics.text.coding import apply_rules
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.evaluation import holdout_mask
from kizuna.analytics.text.sentiment import text_sentiment
from kizuna.errors import InvalidInput

DATA = Path(__file__).resolve().parents[3] / "src" / "kizuna" / "voc" / "training"


@pytest.fixture(scope="module")
def sets() -> dict[str, tuple[pd.DataFrame, Corpus]]:
    out = {}
    for lang in ("ja", "en"):
        df = pd.read_csv(DATA / f"eval_{lang}.csv")
        out[lang] = (df, Corpus.from_frame(df))
    return out


def test_eval_set_shape(sets: dict[str, tuple[pd.DataFrame, Corpus]]) -> None:
    ja, en = sets["ja"][0], sets["en"][0]
    assert len(ja) >= 300 and len(en) >= 100
    for df in (ja, en):
        assert df["category"].value_counts().min() >= 10
        assert set(df["sentiment"]) == {"positive", "negative", "neutral", "request"}


@pytest.mark.parametrize(("lang", "floor"), [("ja", 0.65), ("en", 0.65)])
def test_rules_macro_f1_floor(sets: dict[str, tuple[pd.DataFrame, Corpus]], lang: str, floor: float) -> None:
    df, corpus = sets[lang]
    report = per_class_report(df["category"], apply_rules(corpus)["rule_label"]).set_index("class")
    assert report.loc["macro", "f1"] >= floor


@pytest.mark.parametrize(("lang", "floor"), [("ja", 0.68), ("en", 0.65)])
def test_sentiment_accuracy_floor(sets: dict[str, tuple[pd.DataFrame, Corpus]], lang: str, floor: float) -> None:
    df, corpus = sets[lang]
    assert (text_sentiment(corpus)["label"] == df["sentiment"]).mean() >= floor


def test_combined_model_on_holdout(sets: dict[str, tuple[pd.DataFrame, Corpus]]) -> None:
    df, corpus = sets["ja"]
    hold = holdout_mask(df["text"])
    model = VocClassifier().fit(corpus.subset(~hold), df.loc[~hold, "category"])
    pred = model.predict(corpus.subset(hold))
    report = per_class_report(df.loc[hold, "category"], pred["category"]).set_index("class")
    assert report.loc["macro", "f1"] >= 0.62
    assert set(pred["source"]) <= {"model", "rule_override"}
    proba = model.predict_proba(corpus.subset(hold))
    assert proba[model.classes_].sum(axis=1).round(6).eq(1).all()


def test_synonym_groups_carry_a_word_the_model_never_saw() -> None:
    # 料金 appears in training, 値段 and 価格 never do: only their Sudachi synonym group (shared with 料金) places them
    price = ["料金が高い。", "料金が心配だ。", "毎月の料金が重い。"]
    screens = ["画面が分からない。", "画面が複雑だ。", "画面で迷う。"]
    train = pd.DataFrame({"text": price + screens, "category": ["price_not_worth_it"] * 3 + ["hard_to_use"] * 3})
    test = Corpus.from_frame(pd.DataFrame({"text": ["値段がつらい。", "価格が気になる。"]}))
    params: dict[str, Any] = {"use_rules": False, "char_ngrams": None, "synonym_weight": 1.0}
    with_groups = VocClassifier(**params).fit(Corpus.from_frame(train), train["category"])
    without = VocClassifier(synonyms=False, **params).fit(Corpus.from_frame(train), train["category"])
    assert with_groups.predict(test)["category"].tolist() == ["price_not_worth_it"] * 2
    gained = with_groups.predict_proba(test)["price_not_worth_it"] - without.predict_proba(test)["price_not_worth_it"]
    assert (gained > 0.08).all()  # measured 0.63 against 0.51 (nothing known about the words)


def test_sentiment_model_learns_from_labels(sets: dict[str, tuple[pd.DataFrame, Corpus]]) -> None:
    df, corpus = sets["ja"]
    hold = holdout_mask(df["text"])
    dev, held = corpus.subset(~hold), corpus.subset(hold)
    model = VocClassifier().fit(dev, df.loc[~hold, "category"], df.loc[~hold, "sentiment"])
    predicted = model.predict_sentiment(held)
    assert set(predicted["source"]) == {"model"} and predicted["confidence"].between(0, 1).all()
    truth = df.loc[hold, "sentiment"].to_numpy()
    accuracy = (predicted["label"].to_numpy() == truth).mean()
    lexicon = (text_sentiment(held)["label"].to_numpy() == truth).mean()
    assert accuracy >= 0.8 and accuracy > lexicon  # measured 0.86 against the lexicon's 0.78
    assert predicted["score"].tolist() == text_sentiment(held)["score"].tolist()  # the score stays the lexicon's
    refit = model.fit(dev, df.loc[~hold, "category"])  # no sentiment labels: the lexicon decides again
    assert set(refit.predict_sentiment(held)["source"]) == {"lexicon"}
    with pytest.raises(InvalidInput, match="grumpy"):
        VocClassifier().fit(dev, df.loc[~hold, "category"], ["grumpy"] * int((~hold).sum()))


def test_rules_only_without_labels_and_bad_labels(sets: dict[str, tuple[pd.DataFrame, Corpus]]) -> None:
    _, corpus = sets["en"]
    pred = VocClassifier().predict(corpus)
    assert set(pred["source"]) == {"rule"}
    with pytest.raises(InvalidInput):
        VocClassifier().fit(corpus, ["praise"] * len(corpus))


def test_a_classifier_rebuilt_from_its_fitted_state_predicts_the_same(
    sets: dict[str, tuple[pd.DataFrame, Corpus]],
) -> None:
    """What the VoC refresh keeps between runs (``fitted_state``, pickled) gives the very same predictions."""
    import pickle

    df, corpus = sets["ja"]
    fitted = VocClassifier().fit(corpus, df["category"], df["sentiment"])
    state = pickle.loads(pickle.dumps(fitted.fitted_state()))
    assert "rules" not in state and "scorer" not in state
    rebuilt = VocClassifier.from_fitted_state(state)
    pd.testing.assert_frame_equal(rebuilt.predict(corpus), fitted.predict(corpus))
    pd.testing.assert_frame_equal(rebuilt.predict_sentiment(corpus), fitted.predict_sentiment(corpus))
    pd.testing.assert_frame_equal(rebuilt.predict_proba(corpus), fitted.predict_proba(corpus))
    with pytest.raises(InvalidInput, match="missing"):
        VocClassifier.from_fitted_state({"policy": "model_first"})
    with pytest.raises(InvalidInput, match="fitted"):
        VocClassifier().fitted_state()
