"""The refresh step on the demo company (SQLite): incremental by text hash, per-account VoC sentiment stored;
and the analyses through the Python API."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import select, update

from kizuna.domains import REFRESH_STEPS, refresh
from kizuna.health.models import HealthScore
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.voc import analyses, caches
from kizuna.voc.insights import stored_insights
from kizuna.voc.models import VocEntry
from kizuna.voc.service import VocFilter, account_sentiment, stored_analysis

AS_OF = dt.date(2026, 11, 22)


def test_voc_runs_after_metrics_and_before_health() -> None:
    # VoC reads the hub and metrics' account ARR; health and risk read its stored sentiment
    names = [step.name for step in REFRESH_STEPS]
    i = names.index("voc")
    assert names.index("kpis") < i < names.index("health")
    assert i < names.index("risk")


def test_refresh_is_incremental_and_stores_account_sentiment(demo: Settings) -> None:
    rt = Runtime.open(demo)
    try:
        first = refresh(rt, as_of=AS_OF, only=["voc"])["voc"]
        assert first["entries"] > 50 and first["analysed"] + first["unchanged"] == first["entries"]
        with rt.transaction() as session:
            first_insights = stored_insights(session)["analyses"]
        again = refresh(rt, as_of=AS_OF, only=["voc"])["voc"]
        assert again["analysed"] == 0 and again["unchanged"] == first["entries"]
        # the texts' terms were kept (models_dir): none tokenised again, and the analyses are the same
        assert first["texts_tokenised"] > 0 and again["texts_tokenised"] == 0
        assert (demo.models_dir / caches.TERMS_FILE).exists() and (demo.models_dir / caches.CLASSIFIER_FILE).exists()
        with rt.transaction() as session:
            assert stored_insights(session)["analyses"] == first_insights
        with rt.transaction() as session:
            entry = session.scalars(select(VocEntry).order_by(VocEntry.id).limit(1)).one()
            session.execute(
                update(VocEntry)
                .where(VocEntry.id == entry.id)
                .values(text="サポートの返信が遅く、設定がまったく進みませんでした。")
            )
        changed = refresh(rt, as_of=AS_OF, only=["voc"])["voc"]
        assert changed["analysed"] == 1 and changed["texts_tokenised"] == 1
        with rt.transaction() as session:
            stored = stored_analysis(session)
            row = stored[stored["entry_id"] == entry.id].iloc[0]
            assert row["sentiment_label"] == "negative" and row["language"] == "ja"
            sentiment = account_sentiment(session)
        assert len(sentiment) == changed["accounts_with_sentiment"] > 10
        assert (sentiment["as_of"] == AS_OF).all() and (sentiment["n_texts"] > 0).all()
        assert all(math.isfinite(v) for v in sentiment["sentiment"])
        assert set(stored["category"]) >= {"feature_request", "praise"}
        # health reads the stored measure of the day (one computation serves both)
        refresh(rt, as_of=AS_OF, only=["health"])
        with rt.transaction() as session:
            rows = session.scalars(
                select(HealthScore).where(HealthScore.as_of == AS_OF, HealthScore.scorecard == "overall")
            ).all()
        stored_by_account = dict(zip(sentiment["account_id"], sentiment["sentiment"], strict=True))
        seen = [
            (row.account_id, c["value"])
            for row in rows
            for c in row.contributions
            if c["measure"] == "voc_sentiment" and c["value"] is not None
        ]
        assert seen and all(v == pytest.approx(stored_by_account[a], abs=1e-3) for a, v in seen)  # rounded
    finally:
        rt.close()


def test_python_api_on_the_demo(demo: Settings) -> None:
    rt = Runtime.open(demo)
    try:
        with rt.transaction() as session:
            lift = analyses.lift(session, terms=False, min_accounts=2)
            assert lift["feature"].str.startswith("category:").all()
            assert ((lift["churn_rate"] >= 0) & (lift["churn_rate"] <= 1)).all()
            chars = analyses.characteristic(session, by="churned")
            assert set(chars["group"]) <= {"churned", "retained"} and "churned" in set(chars["group"])
            freq = analyses.word_frequency(session, by="channel", where=VocFilter(language="ja"), top=5)
            assert freq.groupby("group").size().max() <= 5
            themes = analyses.requests(session)
            assert themes["n_accounts"].sum() > 0
    finally:
        rt.close()
