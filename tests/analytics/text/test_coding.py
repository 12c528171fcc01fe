import pytest

from kizuna.analytics.text.coding import CodingRules, RuleContext, apply_rules, default_rules, parse_rule
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.sentiment import SentimentScorer
from kizuna.errors import InvalidInput


def ctx(text: str) -> RuleContext:
    return RuleContext.of(Corpus.from_texts([text]).texts[0], SentimentScorer())


def test_term_negation_glob_regex_and_flags() -> None:
    c = ctx("管理画面が使いやすくない。CSV出力が欲しい")
    assert parse_rule("使いやすい+NEG")(c)
    assert not parse_rule("使いやすい")(c)
    assert parse_rule("使いやすい+ANY")(c)
    assert parse_rule("*画面 & NEG")(c)
    assert parse_rule("/出力$/ and @request")(c)
    assert parse_rule("(使いにくい | 使いやすい+NEG) & !料金")(c)
    assert not parse_rule("not @request")(c)


def test_near_and_seq() -> None:
    c = ctx("サポートの返信が遅い。料金は普通")
    assert parse_rule("near(サポート, 遅い, 2)")(c)
    assert not parse_rule("near(サポート, 料金)")(c)  # different sentences
    assert parse_rule("seq(返信, 遅い, 1)")(c)
    assert not parse_rule("seq(遅い, 返信)")(c)


@pytest.mark.parametrize("bad", ["", "(a | b", "a &", "near(a)", "@nosuchflag", "a b"])
def test_bad_rules_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_rule(bad)


def test_yaml_priority_and_defaults() -> None:
    rules = CodingRules.from_yaml(
        "language: ja\ncodes:\n  - name: price\n    rule: 高い\n  - name: ux\n    rule: [使いにくい, 分かりにくい]\n"
    )
    table = apply_rules(Corpus.from_texts(["高いし使いにくい", "分かりにくい", "普通"]), rules)
    assert table["rule_label"].tolist() == ["price", "ux", "other"]
    assert table["codes"].tolist() == [("price", "ux"), ("ux",), ()]
    assert set(default_rules("ja").names) == set(default_rules("en").names)


def test_yaml_without_codes_is_refused() -> None:
    with pytest.raises(InvalidInput, match="codes"):
        CodingRules.from_yaml("language: ja\nfoo: 1\n")
