import pytest

from kizuna.analytics.text.tokenize import MAX_CHUNK_BYTES, TextAnalyzer, UserDictionary, lemmatize_en


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer(user_dictionary=["ヘルススコア設定画面", "Kizuna Analytics"], ignore=["検討"])


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("使いやすくない", ["使いやすい+NEG"]),
        ("使いにくいです", ["使いにくい"]),
        ("使いやすかったです。", ["使いやすい"]),
        ("わかりづらい", ["分かりづらい"]),
        ("設定しにくい", ["設定", "設定しにくい"]),
        ("不満はない", ["不満+NEG"]),
        ("サポートが悪いわけではない", ["サポート", "悪い+NEG"]),
        ("成果が出ない", ["成果", "出る+NEG"]),
        ("問題なく使えています", ["問題+NEG", "使う"]),
        ("英語のドキュメントしかない", ["英語", "ドキュメント"]),  # しか〜ない is "only"
        ("説明しなければなりません", ["説明"]),  # obligation, not negation
        ("使いにくいと感じたことはありません", ["使いにくい+NEG", "感じる"]),
        ("Salesforce連携ができません", ["salesforce連携+NEG", "出来る+NEG"]),
    ],
)
def test_japanese_terms(analyzer: TextAnalyzer, text: str, terms: list[str]) -> None:
    assert analyzer.analyze(text).terms == terms


def test_negation_keeps_ease_and_difficulty_apart(analyzer: TextAnalyzer) -> None:
    easy, hard, not_easy = (analyzer.analyze(t).terms for t in ("使いやすい", "使いにくい", "使いやすくない"))
    assert easy == ["使いやすい"] and hard == ["使いにくい"] and not_easy == ["使いやすい+NEG"]
    assert analyzer.analyze("使いやすくないわけではない").terms == ["使いやすい"]  # double negation cancels


def test_user_dictionary_and_ignore(analyzer: TextAnalyzer) -> None:
    doc = analyzer.analyze("ヘルススコア設定画面が見づらいので解約を検討")
    assert doc.terms == ["ヘルススコア設定画面", "見づらい", "解約"]
    assert doc.text[doc.starts[0] : doc.ends[0]] == "ヘルススコア設定画面"
    assert analyzer.analyze("kizuna analytics dashboards don't work").terms == [
        "kizuna analytics",
        "dashboard",
        "work+NEG",
    ]


def test_user_dictionary_searches_ascii_text_only_for_names_that_can_occur_there() -> None:
    japanese_only = UserDictionary(["使い勝手", "ヘルススコア"])
    assert japanese_only.find("The usability of the health score is poor") == []
    assert japanese_only.find("ヘルススコアの使い勝手") == [(0, 6, "ヘルススコア"), (7, 11, "使い勝手")]
    mixed = UserDictionary(["使い勝手", "Slack連携", "SSO"])
    assert mixed.find("Please add SSO") == [(11, 14, "sso")]


def test_request_and_contrast_markers(analyzer: TextAnalyzer) -> None:
    assert analyzer.analyze("CSV出力機能が欲しい").is_request
    assert analyzer.analyze("Slack連携があれば助かります").is_request
    assert analyzer.analyze("エクスポートできるようにしてください").is_request
    assert not analyzer.analyze("欲しくないです").is_request
    assert not analyzer.analyze("どうすればよいですか").is_request
    doc = analyzer.analyze("画面は見づらいけど、サポートは丁寧です")
    assert doc.sentences[0].contrast_at == 2  # the clause after けど starts at the third term


def test_english(analyzer: TextAnalyzer) -> None:
    doc = analyzer.analyze("It isn't easy to use, but support is great. Please add SSO.")
    assert doc.language == "en"
    assert doc.terms == ["easy to use+NEG", "support", "great", "add", "sso"]
    assert doc.sentences[1].request and not doc.sentences[0].request
    assert analyzer.analyze("No complaints at all").terms == ["complaint+NEG"]
    assert [lemmatize_en(w) for w in ("integrations", "added", "stopped", "replies", "using")] == [
        "integration",
        "add",
        "stop",
        "reply",
        "use",
    ]


def test_batch_chunks_long_input_and_caches(analyzer: TextAnalyzer) -> None:
    sentence = "サポートの返信が遅くて困っています。"
    long_text = sentence * (MAX_CHUNK_BYTES // len(sentence.encode()) * 2)  # > 2 chunks worth of bytes
    docs = analyzer.analyze_many([long_text, "使いにくい", "使いにくい"])
    assert docs[0].terms.count("遅い") == long_text.count("遅く")
    assert docs[1] is docs[2]  # tokenised once
    assert analyzer.analyze("使いにくい") is docs[1]  # cached across calls


def test_a_name_matched_in_another_case_form_gives_its_term() -> None:
    # "ID" matches the name "ıd" (dotless i) case-insensitively, but lower-cases to "id", which is not a name
    assert UserDictionary({"ıd": "ID field"}).find("my ID here") == [(3, 5, "id field")]


def test_analyses_kept_and_taken_back_are_the_same_as_fresh_ones() -> None:
    """What the VoC refresh keeps between runs: ``cached`` then ``preload`` into a new analyser of the same
    fingerprint; those texts are not tokenised again and their terms, spans and sentences are the same."""
    import pickle

    texts = ["使いやすくないので解約を検討しています。", "Salesforce連携が欲しい。", "The export doesn't work."]
    first = TextAnalyzer()
    fresh = first.analyze_many(texts)
    assert first.tokenised == 3
    kept = pickle.loads(pickle.dumps(first.cached([*texts, "never analysed"])))
    assert list(kept) == texts
    second = TextAnalyzer()
    assert second.fingerprint() == first.fingerprint()
    assert second.preload(kept) == 3
    assert second.analyze_many(texts) == fresh
    assert second.tokenised == 0
    second.analyze_many(["新しい文です。"])
    assert second.tokenised == 1


def test_the_fingerprint_names_the_settings_that_change_terms() -> None:
    plain = TextAnalyzer().fingerprint()
    assert TextAnalyzer().fingerprint() == plain
    assert TextAnalyzer(user_dictionary=["kizunaアナリティクス"]).fingerprint() != plain
    assert TextAnalyzer(ignore=["思う"]).fingerprint() != plain
    assert TextAnalyzer(stopwords_en=["the"]).fingerprint() != plain
