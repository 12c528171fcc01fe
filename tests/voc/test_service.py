"""The VoC service on SQLite and PostgreSQL: account facts (ARR, churn, NPS), labels, incremental analysis."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kizuna.audit.models import AuditEntry
from kizuna.errors import InvalidInput, NotFound
from kizuna.voc.models import SurveyResponse, VocAccountSentiment, VocEntry, VocTextAnalysis
from kizuna.voc.service import (
    VocFilter,
    account_facts,
    analyse_entries,
    entry_sentiment,
    fit_classifier,
    label_entry,
    load_corpus,
    store_account_sentiment,
    team_labels,
    training_set,
)
from tests import factories as f

TODAY = dt.date(2026, 6, 1)


def _entry(session: Session, account_id: int | None, text: str, day: dt.date, channel: str = "call_center") -> VocEntry:
    row = VocEntry(
        external_id=f"V-{text[:8]}-{day}",
        account_id=account_id,
        channel=channel,
        text=text,
        recorded_at=dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC),
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def world(session: Session) -> dict[str, int]:
    pro = f.plan(session, name="Pro")
    staying = f.account(session, name="株式会社継続", touch_tier="high")
    leaving = f.account(session, name="株式会社解約", touch_tier="low")
    f.subscription(session, staying, pro, mrr_minor=50_000, start_date=dt.date(2025, 1, 1))
    f.subscription(
        session,
        leaving,
        pro,
        mrr_minor=20_000,
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2026, 3, 1),
        status="ended",
    )
    session.add(
        SurveyResponse(
            external_id="NPS-1",
            account_id=staying.id,
            kind="nps",
            score=10,
            responded_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        )
    )
    session.add(
        SurveyResponse(
            external_id="NPS-2",
            account_id=leaving.id,
            kind="nps",
            score=3,
            responded_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        )
    )
    e1 = _entry(session, staying.id, "サポートがとても丁寧で助かっています。", dt.date(2026, 5, 1))
    e2 = _entry(
        session,
        leaving.id,
        "料金が高いわりに効果が出ないので解約します。",
        dt.date(2026, 2, 10),
        channel="cancellation_survey",
    )
    e3 = _entry(session, None, "Please add a Salesforce integration.", dt.date(2026, 4, 2), channel="seminar")
    return {"staying": staying.id, "leaving": leaving.id, "e1": e1.id, "e2": e2.id, "e3": e3.id}


def test_account_facts(session: Session, world: dict[str, int]) -> None:
    facts = account_facts(session, today=TODAY).set_index("account_id")
    assert facts.loc[world["staying"], "arr_minor"] == 600_000
    assert facts.loc[world["leaving"], "arr_minor"] == 0
    assert not facts.loc[world["staying"], "churned"] and facts.loc[world["leaving"], "churned"]
    assert facts.loc[world["leaving"], "churned_at"] == dt.date(2026, 3, 1)
    assert facts.loc[world["staying"], "nps_group"] == "promoter"
    assert facts.loc[world["leaving"], "nps_group"] == "detractor"
    assert facts.loc[world["staying"], "plan"] == "Pro" and facts.loc[world["staying"], "segment"] == "high"


def test_account_facts_from_rows_read_once(session: Session, world: dict[str, int]) -> None:
    from kizuna.voc.service import account_rows

    rows = account_rows(session)
    kept = {name: frame.copy() for name, frame in vars(rows).items()}
    for day in (TODAY, dt.date(2026, 2, 15), None):  # (before the leaving account's churn, too)
        pd.testing.assert_frame_equal(account_facts(session, today=day, rows=rows), account_facts(session, today=day))
    for name, frame in vars(rows).items():  # the rows serve every date unchanged
        pd.testing.assert_frame_equal(frame, kept[name])


def test_the_analyses_read_the_stored_analysis_s_rows(session: Session, world: dict[str, int]) -> None:
    from kizuna.voc.insights import _stored_labels
    from kizuna.voc.service import stored_analysis

    analyse_entries(session)
    columns = ["entry_id", "channel", "recorded_at", "sentiment_label", "category"]
    pd.testing.assert_frame_equal(_stored_labels(session), stored_analysis(session)[columns])


def test_corpus_filters(session: Session, world: dict[str, int]) -> None:
    corpus = load_corpus(session)
    assert list(corpus.docs["doc_id"]) == [world["e2"], world["e3"], world["e1"]]
    assert list(load_corpus(session, where=VocFilter(language="en")).docs["doc_id"]) == [world["e3"]]
    since = load_corpus(session, where=VocFilter(since=dt.date(2026, 4, 1), channel="call_center"))
    assert list(since.docs["doc_id"]) == [world["e1"]]


def test_label_entry_replaces_and_audits(session: Session, world: dict[str, int]) -> None:
    label_entry(session, entry_id=world["e2"], category="results_not_achieved", actor="csm@example.jp")
    label_entry(session, entry_id=world["e2"], category="price_not_worth_it", actor="lead@example.jp")
    labels = team_labels(session)
    assert labels[["entry_id", "category", "author"]].values.tolist() == [
        [world["e2"], "price_not_worth_it", "lead@example.jp"]
    ]
    audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "voc.label").order_by(AuditEntry.id)).all()
    assert [a.after for a in audits] == [{"category": "results_not_achieved"}, {"category": "price_not_worth_it"}]
    with pytest.raises(InvalidInput):
        label_entry(session, entry_id=world["e2"], category="angry", actor="x")
    with pytest.raises(NotFound):
        label_entry(session, entry_id=10**9, category="praise", actor="x")


def test_analysis_is_incremental_and_feeds_account_sentiment(session: Session, world: dict[str, int]) -> None:
    assert analyse_entries(session) == {"entries": 3, "analysed": 3, "unchanged": 0}
    assert analyse_entries(session)["analysed"] == 0
    session.get(VocEntry, world["e1"]).text = "画面が分かりにくく、使いづらいです。"  # type: ignore[union-attr]
    session.flush()
    assert analyse_entries(session)["analysed"] == 1
    label_entry(session, entry_id=world["e3"], category="feature_request", actor="x")
    assert analyse_entries(session)["analysed"] == 3  # a new label retrains the model: every entry again
    assert store_account_sentiment(session, as_of=dt.date(2026, 5, 2)) == 2
    rows = {r.account_id: r for r in session.scalars(select(VocAccountSentiment))}
    assert rows[world["staying"]].sentiment < 0  # the edited text is a complaint
    assert rows[world["leaving"]].sentiment < 0 and rows[world["leaving"]].n_texts == 1
    assert store_account_sentiment(session, as_of=dt.date(2026, 5, 2)) == 2  # replaces, never duplicates
    assert len(session.scalars(select(VocAccountSentiment)).all()) == 2


def test_stored_account_sentiment_is_the_point_in_time_measure(session: Session, world: dict[str, int]) -> None:
    from kizuna.analytics.text.outcomes import account_voc_sentiment

    day = dt.date(2026, 5, 2)
    _entry(session, world["staying"], "とても使いやすくて満足しています。", day)  # 09:00 on the day: unknown
    analyse_entries(session)
    scores = entry_sentiment(session)
    assert set(scores["account_id"]) == {world["staying"], world["leaving"]} and len(scores) == 3
    assert store_account_sentiment(session, as_of=day) == 2
    stored = {r.account_id: r for r in session.scalars(select(VocAccountSentiment))}
    cut = dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
    expected = account_voc_sentiment(scores, as_of=cut, inclusive=False).set_index("account_id")
    for account_id, row in stored.items():
        assert row.sentiment == pytest.approx(expected.loc[account_id, "voc_sentiment"])
        assert row.n_texts == expected.loc[account_id, "n_texts"]
    assert stored[world["staying"]].n_texts == 1  # the text recorded on the day itself is not counted


def test_a_day_s_account_sentiment_stored_again_writes_only_what_changed(
    session: Session, world: dict[str, int]
) -> None:
    from kizuna.analytics.text.outcomes import account_voc_sentiment

    day = dt.date(2026, 5, 2)
    analyse_entries(session)
    assert store_account_sentiment(session, as_of=day) == 2
    before = {r.account_id: (r.id, r.sentiment) for r in session.scalars(select(VocAccountSentiment))}
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        assert store_account_sentiment(session, as_of=day) == 2
        assert not {"INSERT", "UPDATE", "DELETE"} & set(seen)  # nothing new: nothing written
        # the leaving account's only text goes, the staying one gets another, a third account its first
        third = f.account(session, name="株式会社新規")
        session.delete(session.get(VocEntry, world["e2"]))
        _entry(session, world["staying"], "使いにくい画面が多く、困っています。", dt.date(2026, 4, 20))
        _entry(session, third.id, "導入がスムーズで満足しています。", dt.date(2026, 4, 25))
        analyse_entries(session)
        seen.clear()
        assert store_account_sentiment(session, as_of=day) == 2
        assert {"INSERT", "UPDATE", "DELETE"} <= set(seen)
    finally:
        event.remove(connection, "before_cursor_execute", record)
    session.expire_all()
    rows = {r.account_id: r for r in session.scalars(select(VocAccountSentiment))}
    assert rows[world["staying"]].id == before[world["staying"]][0]  # updated in place
    expected = account_voc_sentiment(
        entry_sentiment(session), as_of=dt.datetime(2026, 5, 2, tzinfo=dt.UTC), inclusive=False
    )
    # exactly what a delete and insert of the day's rows (the old path) would store
    assert {a: (r.as_of, r.sentiment, r.n_texts, r.share_negative) for a, r in rows.items()} == {
        int(r.account_id): (day, float(r.voc_sentiment), int(r.n_texts), float(r.share_negative))
        for r in expected.itertuples(index=False)
    }


def test_arr_comes_from_the_metrics_snapshot_when_there_is_one(session: Session, world: dict[str, int]) -> None:
    from kizuna.kpis.models import AccountMetrics

    session.add(
        AccountMetrics(account_id=world["staying"], as_of=TODAY, currency="JPY", mrr_minor=70_000, arr_minor=840_000)
    )
    session.flush()
    facts = account_facts(session, today=TODAY).set_index("account_id")
    assert facts.loc[world["staying"], "arr_minor"] == 840_000
    assert facts.loc[world["leaving"], "arr_minor"] == 0  # no snapshot row: computed from subscriptions


def test_the_teams_corrections_are_training_labels(session: Session, world: dict[str, int]) -> None:
    _, before = fit_classifier(session)
    shipped = training_set(session)
    assert (shipped["source"] == "default").all() and shipped["sentiment"].notna().all()
    label_entry(session, entry_id=world["e2"], category="results_not_achieved", actor="csm@example.jp")
    training = training_set(session)
    team = training[training["source"] == "team"]
    assert team[["text", "category"]].values.tolist() == [
        ["料金が高いわりに効果が出ないので解約します。", "results_not_achieved"]
    ]
    assert team["sentiment"].isna().all()  # a correction names a category, not a sentiment
    assert len(training) == len(shipped) + 1
    classifier, after = fit_classifier(session)
    assert after != before  # the analyser version names the training set: every entry is analysed again
    assert classifier.is_fitted and hasattr(classifier, "sentiment_model_")


def test_stored_sentiment_is_the_sentiment_models(session: Session, world: dict[str, int]) -> None:
    analyse_entries(session)
    stored = {r.entry_id: r for r in session.scalars(select(VocTextAnalysis))}
    assert stored[world["e1"]].sentiment_label == "positive"
    assert stored[world["e2"]].sentiment_label == "negative"
    assert stored[world["e3"]].sentiment_label == "request"
    assert stored[world["e1"]].sentiment_score > 0 > stored[world["e2"]].sentiment_score  # the lexicon's score
