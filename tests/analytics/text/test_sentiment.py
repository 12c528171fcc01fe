import pytest

from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.sentiment import SentimentScorer, sentence_sentiment, term_polarity, text_sentiment


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("とても便利で助かっています。", "positive"),
        ("使いにくいです。", "negative"),
        ("使いやすくないです。", "negative"),
        ("特に不満はありません。", "positive"),
        ("料金が高すぎます。", "negative"),
        ("満足度が高いです。", "positive"),
        ("サポートは丁寧だけど、画面が分かりにくい。", "negative"),
        ("画面は分かりにくいが、サポートが丁寧で助かる。", "positive"),
        ("CSVで出力できる機能が欲しいです。", "request"),
        ("Slack連携があれば嬉しいです。", "request"),
        ("請求書の送付先を変更したいです。", "neutral"),
        ("The support team is fantastic.", "positive"),
        ("It's not easy to use.", "negative"),
        ("No complaints at all.", "positive"),
        ("It would be great if you added SSO.", "request"),
        ("Can you send me the invoice?", "neutral"),
    ],
)
def test_text_labels(text: str, label: str) -> None:
    assert text_sentiment(Corpus.from_texts([text]))["label"].iloc[0] == label


def test_negation_flips_with_asymmetric_weight() -> None:
    assert term_polarity("使いやすい+NEG") == pytest.approx(-0.9)
    assert term_polarity("不満+NEG") == pytest.approx(0.5)  # explicit lexicon entry
    assert term_polarity("悪い+NEG") == pytest.approx(0.6)  # flipped negative word, weight 0.6
    assert term_polarity("高い", previous="料金") < 0 < term_polarity("高い", previous="満足度")


def test_sentence_frame() -> None:
    out = sentence_sentiment(Corpus.from_texts(["使いやすい。でも高い。機能追加してほしい。"]))
    assert out["label"].tolist() == ["positive", "negative", "request"]
    assert out["sentence"].tolist() == ["使いやすい。", "でも高い。", "機能追加してほしい。"]


def test_cached_polarities_follow_context_and_a_new_lexicon() -> None:
    praise, prices = Corpus.from_texts(["神対応でした。", "料金が高い。満足度が高い。"]).texts
    scorer = SentimentScorer()
    assert scorer.sentence_scores(prices) == pytest.approx([-0.8, 0.7])  # 高い after a price word, after 満足度
    assert scorer.sentence_scores(prices) == pytest.approx([-0.8, 0.7])  # and again, from the cache
    assert praise.terms == ["神対応"] and scorer.sentence_scores(praise) == [0.0]
    scorer.lexicon = {**scorer.lexicon, "神対応": 1.0}
    assert scorer.sentence_scores(praise) == [1.0]
