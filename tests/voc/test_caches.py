"""What the VoC refresh keeps between runs (``kizuna.voc.caches``): the fitted classifier and the analysed texts.
Read back only under the key they were made with; a damaged file is never trusted."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from kizuna.analytics.text.classify import VocClassifier
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.tokenize import TextAnalyzer
from kizuna.voc import caches, service
from kizuna.voc.models import VocEntry
from kizuna.voc.service import fit_classifier, label_entry

TEXTS = [
    "サポートの返信が遅く、設定がまったく進みませんでした。",
    "Salesforce連携が欲しいです。",
    "とても使いやすく、チーム全員が毎日使っています。",
    "The price is too high for what we get.",
]


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the classifier's fits; the process's own cache is emptied so that only the file can spare one."""
    counted: list[int] = []
    real = VocClassifier.fit

    def fit(self: VocClassifier, *args: Any, **kwargs: Any) -> VocClassifier:
        counted.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(VocClassifier, "fit", fit)
    service._FITTED.clear()
    yield counted
    service._FITTED.clear()


def _predictions(classifier: VocClassifier) -> tuple[pd.DataFrame, pd.DataFrame]:
    corpus = Corpus.from_texts(TEXTS)
    return classifier.predict(corpus), classifier.predict_sentiment(corpus)


def test_the_fitted_classifier_is_kept_and_fitted_again_only_when_needed(
    session: Session, tmp_path: Path, fits: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / caches.CLASSIFIER_FILE
    fresh, version = fit_classifier(session)  # a caller without the data directory: kept in this process only
    assert len(fits) == 1 and not path.exists()
    assert fit_classifier(session, models_dir=tmp_path)[0] is fresh  # and written once one has it
    assert len(fits) == 1 and path.exists()
    expected = _predictions(fresh)

    service._FITTED.clear()  # a new process: read from the file, not fitted
    kept, again = fit_classifier(session, models_dir=tmp_path)
    assert len(fits) == 1 and again == version and kept is not fresh
    for got, want in zip(_predictions(kept), expected, strict=True):
        pd.testing.assert_frame_equal(got, want)

    # a damaged file is fitted again and replaced, never trusted
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF
    path.write_bytes(bytes(raw))
    service._FITTED.clear()
    with caplog.at_level(logging.WARNING, logger="kizuna.voc.caches"):
        refitted, _ = fit_classifier(session, models_dir=tmp_path)
    assert len(fits) == 2 and "damaged" in caplog.text
    for got, want in zip(_predictions(refitted), expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    service._FITTED.clear()
    fit_classifier(session, models_dir=tmp_path)
    assert len(fits) == 2  # the replaced file reads back

    # the team's label changes the training set: another key, fitted again, the file replaced
    entry = VocEntry(
        external_id="V-cache-1",
        account_id=None,
        channel="call_center",
        text=TEXTS[0],
        recorded_at=dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC),
    )
    session.add(entry)
    session.flush()
    label_entry(session, entry_id=entry.id, category="insufficient_support", actor="csm@example.jp")
    service._FITTED.clear()
    _, relabelled = fit_classifier(session, models_dir=tmp_path)
    assert len(fits) == 3 and relabelled != version
    service._FITTED.clear()
    fit_classifier(session, models_dir=tmp_path)
    assert len(fits) == 3


def test_a_kept_file_is_read_only_under_its_own_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "kept.pickle"
    caches.write_kept(path, {"a": 1}, magic=b"kizuna test 1", key="k1")
    assert caches.read_kept(path, magic=b"kizuna test 1", key="k1") == {"a": 1}
    assert caches.read_kept(path, magic=b"kizuna test 1", key="k2") is None  # made from other inputs
    assert caches.read_kept(tmp_path / "none.pickle", magic=b"kizuna test 1", key="k1") is None
    with caplog.at_level(logging.WARNING, logger="kizuna.voc.caches"):
        assert caches.read_kept(path, magic=b"kizuna other 1", key="k1") is None
        path.write_bytes(path.read_bytes()[:-3])  # cut short
        assert caches.read_kept(path, magic=b"kizuna test 1", key="k1") is None
        path.write_bytes(b"garbage")
        assert caches.read_kept(path, magic=b"kizuna test 1", key="k1") is None
    assert caplog.text.count("damaged") == 3
    assert [p.name for p in tmp_path.iterdir()] == ["kept.pickle"]  # no file left aside
    caches.write_kept(path, [1], magic=b"kizuna test 1", key="k3")
    assert caches.kept_key(path, magic=b"kizuna test 1") == "k3"
    assert caches.kept_key(path, magic=b"kizuna other 1") is None
    assert caches.kept_key(tmp_path / "none.pickle", magic=b"kizuna test 1") is None


def test_analysed_texts_are_kept_for_an_analyser_of_the_same_settings(tmp_path: Path) -> None:
    first = TextAnalyzer()
    fresh = first.analyze_many(TEXTS)
    assert caches.save_terms(tmp_path, first, TEXTS[:3]) == 3
    second = TextAnalyzer()
    assert caches.load_terms(tmp_path, second) == 3
    assert second.analyze_many(TEXTS) == fresh
    assert second.tokenised == 1  # only the text that was not kept
    other = TextAnalyzer(user_dictionary=["使いやすく"])  # other settings: other terms, nothing taken
    assert caches.load_terms(tmp_path, other) == 0
    written = (tmp_path / caches.TERMS_FILE).stat().st_mtime_ns
    third = TextAnalyzer()
    loaded = caches.load_terms(tmp_path, third)
    assert caches.save_terms(tmp_path, third, TEXTS[:3], loaded=loaded) == 3
    assert (tmp_path / caches.TERMS_FILE).stat().st_mtime_ns == written  # nothing new: left as it was
    (tmp_path / caches.TERMS_FILE).write_bytes(b"damaged")
    assert caches.load_terms(tmp_path, TextAnalyzer()) == 0
