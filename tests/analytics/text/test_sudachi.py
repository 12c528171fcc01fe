"""Sudachi's synonym groups, as the classifier folds terms with them."""

from kizuna.analytics.text.sudachi import synonym_groups


def test_synonyms_share_a_group_and_other_words_do_not() -> None:
    price = set(synonym_groups("料金"))
    assert price & set(synonym_groups("値段")) and price & set(synonym_groups("価格"))
    assert set(synonym_groups("サポート")) & set(synonym_groups("support"))  # mixed ja/en texts
    assert not price & set(synonym_groups("サポート"))
    assert synonym_groups("料金") == synonym_groups("料金")  # cached, same answer
    assert synonym_groups("") == ()
