"""Knowledge base: Japanese-aware index (normalised forms, compounds), BM25 ranking, articles, playbooks, notes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.activities.service import log_activity
from kizuna.errors import InvalidInput
from kizuna.knowledge import service
from tests import factories


@pytest.fixture(scope="module")
def analyzer() -> Any:
    return service.default_analyzer()


def test_index_terms_drop_negation_and_honorifics() -> None:
    assert service.index_terms(["御問い合わせ", "ログイン+NEG", "Invoice"]) == [
        "御問い合わせ",
        "問い合わせ",
        "ログイン",
        "invoice",
    ]


def test_spelling_variants_and_english_lemmas_match(session: Session, analyzer: Any) -> None:
    faq = service.add_article(
        session,
        actor="t",
        title="請求書の再発行",
        analyzer=analyzer,
        body="請求書の再発行は管理画面の「お問合せ」からご依頼ください。",
    )
    howto = service.add_article(
        session,
        actor="t",
        title="Resetting passwords",
        analyzer=analyzer,
        body="Users who cannot log in reset their passwords from the login page.",
    )
    service.add_article(session, actor="t", title="CSVの取り込み", body="データ取込の手順です。", analyzer=analyzer)
    assert faq.language == "ja" and howto.language == "en"
    # 問い合わせ (query) vs お問合せ (text): the same Sudachi normalised form
    assert [h.source_id for h in service.search(session, query="問い合わせ", analyzer=analyzer)] == [faq.id]
    assert [h.source_id for h in service.search(session, query="問合せ", analyzer=analyzer)] == [faq.id]
    hits = service.search(session, query="password reset", analyzer=analyzer)
    assert [h.source_id for h in hits] == [howto.id] and set(hits[0].matched) == {"password", "reset"}
    assert service.search(session, query="請求書", analyzer=analyzer, sources=["note"]) == []
    with pytest.raises(InvalidInput):
        service.search(session, query="  ", analyzer=analyzer)
    with pytest.raises(InvalidInput):
        service.search(session, query="x", sources=["wiki"], analyzer=analyzer)


def test_bm25_ranks_by_term_rarity_and_length(session: Session, analyzer: Any) -> None:
    short = service.add_article(session, actor="t", title="解約について", body="解約の手続き。", analyzer=analyzer)
    long = service.add_article(
        session,
        actor="t",
        title="よくある質問",
        analyzer=analyzer,
        body="解約について。" + "ログイン、請求、設定、権限、連携、通知、" * 5,
    )
    hits = service.search(session, query="解約", analyzer=analyzer)
    assert [h.source_id for h in hits] == [short.id, long.id]  # shorter and in the title
    # the score is BM25: recompute the short one by hand
    n, total = session.execute(select(func.count(), func.sum(m.KbDocument.length))).one()
    doc = session.scalar(
        select(m.KbDocument).where(m.KbDocument.source_id == short.id, m.KbDocument.source == "article")
    )
    assert doc is not None
    tf = session.scalar(select(m.KbPosting.tf).where(m.KbPosting.document_id == doc.id, m.KbPosting.term == "解約"))
    df = session.scalar(select(func.count()).select_from(m.KbPosting).where(m.KbPosting.term == "解約"))
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    expected = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * doc.length / (total / n)))
    assert hits[0].score == pytest.approx(expected, abs=1e-3)
    assert tf == 3  # twice from the title (weight 2), once from the body


def test_compounds_notes_and_playbooks(session: Session, analyzer: Any, tmp_path: Path) -> None:
    account = factories.account(session)
    note = log_activity(
        session,
        actor="csm",
        account_id=account.id,
        kind="note",
        subject="社内メモ",
        body="問い合わせ窓口が変わった。次回の更新で価格交渉あり。",
    )
    log_activity(session, actor="csm", account_id=account.id, kind="call", subject="問い合わせ窓口の確認")  # not a note
    library = tmp_path / "library"
    library.mkdir()
    (library / "renewal.yaml").write_text(
        "key: renewal-due\nname: {ja: 更新前フォロー, en: Renewal coming up}\n"
        "description: {ja: 更新の120日前に価格交渉の準備をする, en: Prepare the renewal}\n",
        encoding="utf-8",
    )
    # a key whose CRC-32 is above 2**31: its id must still fit PostgreSQL's INTEGER
    (library / "expansion.yaml").write_text("key: expansion-signal\nname: 拡張の兆し\n", encoding="utf-8")
    counts = service.reindex(session, analyzer=analyzer, library_dir=library)
    assert counts["note"] >= 1 and counts["playbook"] >= 2
    hits = service.search(session, query="問い合わせ", analyzer=analyzer, sources=["note"])
    assert [h.source_id for h in hits] == [note.id]  # via the compound 問い合わせ窓口
    assert hits[0].account_id == account.id
    both = service.search(session, query="価格交渉", analyzer=analyzer)
    assert {h.source for h in both} >= {"note", "playbook"}
    assert service.reindex(session, analyzer=analyzer, library_dir=library)["note"] == 0  # notes once
