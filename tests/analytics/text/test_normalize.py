from kizuna.analytics.text.normalize import detect_language, normalize_text, split_sentences


def test_nfkc_width_and_variants() -> None:
    assert normalize_text("ｻﾎﾟｰﾄ　ＡＢＣ１２３") == "サポート ABC123"
    assert normalize_text("問合せ対応") == "問い合わせ対応"
    assert normalize_text("出来ない") == "できない"
    assert normalize_text("サーバとユーザ") == "サーバーとユーザー"
    assert normalize_text("サーバー") == "サーバー"  # no double long vowel


def test_split_sentences() -> None:
    text = "使いやすい。でも高い！本当？\n改行後 It works. Great!"
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["使いやすい。", "でも高い！", "本当？", "改行後 It works.", "Great!"]


def test_spaces_collapse_and_sentences_drop_surrounding_whitespace() -> None:
    assert normalize_text("a \t b\u3000\u3000c  d\te f") == "a b c d e f"
    text = "  使いやすい。 \n\t 高い。  "
    assert [text[a:b] for a, b in split_sentences(text)] == ["使いやすい。", "高い。"]


def test_detect_language() -> None:
    assert detect_language("Salesforce連携ができません") == "ja"
    assert detect_language("The UI is confusing.") == "en"
    assert detect_language("1234 !!") == "und"
