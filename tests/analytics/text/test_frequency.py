import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.frequency import (
    characteristic_words,
    collocations,
    correspondence_analysis,
    correspondence_analysis_table,
    emerging_terms,
    kwic,
    log_likelihood_2x2,
    term_frequency,
)
from kizuna.errors import InvalidInput


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    frame = pd.DataFrame(
        {
            "text_id": [1, 2, 3, 4, 5, 6],
            "text": [
                "サポートが遅い。サポートに不満",
                "サポートが遅い",
                "料金が高い",
                "料金が高い。サポートは丁寧",
                "画面が使いやすくない",
                "画面が使いやすい",
            ],
            "channel": ["call", "call", "web", "web", "survey", "survey"],
            "period": ["Q1", "Q2", "Q2", "Q2", "Q1", "Q2"],
        }
    )
    return Corpus.from_frame(frame)


def test_term_and_document_frequency_by_group(corpus: Corpus) -> None:
    tf = term_frequency(corpus, by="channel")
    call = tf[tf["group"] == "call"].set_index("term")
    assert call.loc["サポート", "tf"] == 3 and call.loc["サポート", "df"] == 2
    assert call.loc["不満", "df_share"] == 0.5
    overall = term_frequency(corpus).set_index("term")
    assert overall.loc["使いやすい", "df"] == 1 and overall.loc["使いやすい+NEG", "df"] == 1
    stripped = term_frequency(corpus, strip_neg=True).set_index("term")
    assert stripped.loc["使いやすい", "df"] == 2
    with pytest.raises(InvalidInput, match="segment"):
        term_frequency(corpus, by="segment")


def test_log_likelihood_matches_scipy() -> None:
    table = np.array([[10, 20], [30, 140]])
    expected = chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
    assert log_likelihood_2x2(10, 20, 30, 140) == pytest.approx(expected)


def test_emerging_terms(corpus: Corpus) -> None:
    out = emerging_terms(corpus, period="period", min_df=1).set_index("term")
    # 料金 is in 2 of 4 Q2 texts and 0 of 2 Q1 texts
    assert out.loc["料金", "df_current"] == 2 and out.loc["料金", "df_previous"] == 0
    assert out.loc["料金", "rising"] and out.loc["料金", "g2"] > 0
    assert out.loc["料金", "g2"] == pytest.approx(log_likelihood_2x2(2, 0, 2, 2))
    assert not out.loc["不満", "rising"] and out.loc["不満", "g2"] < 0


def test_kwic_shows_negated_forms(corpus: Corpus) -> None:
    out = kwic(corpus, "使いやすい", width=3)
    assert out["keyword"].tolist() == ["使いやすく", "使いやすい"]
    assert out["left"].tolist() == ["画面が", "画面が"]
    assert out["right"].tolist() == ["ない", ""]
    assert out["negated"].tolist() == [True, False]


def test_collocations(corpus: Corpus) -> None:
    out = collocations(corpus, "サポート", window=2, min_count=1).set_index("collocate")
    assert out.loc["遅い", "count"] == 2 and out.loc["遅い", "right"] == 2
    assert out.loc["遅い", "mi"] > 0


def test_characteristic_words(corpus: Corpus) -> None:
    out = characteristic_words(corpus, by="channel", min_df=1)
    web = out[out["group"] == "web"].set_index("term")
    assert web.loc["料金", "df_group"] == 2 and web.loc["料金", "df_other"] == 0
    assert web.loc["料金", "jaccard"] == pytest.approx(1.0)
    assert web.loc["料金", "chi2"] == pytest.approx(6.0)  # 6·(2·4−0)²/(2·4·2·4)
    assert out.groupby("group")["rank"].min().eq(1).all()


def test_correspondence_analysis_reference_values() -> None:
    # Greenacre's smoking data (staff group × smoking), principal inertias 0.07476, 0.01002, 0.00041
    smoke = pd.DataFrame(
        [[4, 2, 3, 2], [4, 3, 7, 4], [25, 10, 12, 4], [18, 24, 33, 13], [10, 6, 7, 2]],
        index=["SM", "JM", "SE", "JE", "SC"],
        columns=["none", "light", "medium", "heavy"],
    )
    ca = correspondence_analysis_table(smoke, n_components=2)
    assert ca.inertia["inertia"].head(3).to_numpy() == pytest.approx([0.07476, 0.01002, 0.00041], abs=5e-5)
    assert ca.total_inertia == pytest.approx(0.08519, abs=5e-5)
    assert abs(ca.columns.loc["none", "dim1"]) == pytest.approx(0.393, abs=1e-3)


def test_correspondence_analysis_of_corpus(corpus: Corpus) -> None:
    ca = correspondence_analysis(corpus, by="channel", min_df=1)
    assert list(ca.columns.index) == ["call", "survey", "web"]
    assert ca.rows["mass"].sum() == pytest.approx(1.0)
