"""``kizuna demo``: deterministic, plausible, foreseeable-but-noisy churn, and safe to re-run.

One small company per seed is generated once per module (SQLite); the tests read it back as a user would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.engine import Engine

from kizuna.db import make_engine
from kizuna.demo.generator import DemoSummary, generate_demo
from kizuna.demo.simulate import DemoOptions
from kizuna.errors import Conflict
from kizuna.settings import Settings
from kizuna.usage.store import EventStore

END = dt.date(2026, 11, 22)  # pinned: the demo ends on the clock's today otherwise
OPTIONS = DemoOptions(accounts=200, years=2, seed=7, end_date=END)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class Built:
    def __init__(self, root: Path, options: DemoOptions) -> None:
        self.settings = Settings(data_dir=root)
        self.options = options
        self.summary: DemoSummary = generate_demo(self.settings, options=options)
        self.engine: Engine = make_engine(self.settings.sqlalchemy_url)
        self.store = EventStore(self.settings.events_dir)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    def checksum(self) -> dict[str, str]:
        meta = MetaData()
        meta.reflect(self.engine)
        sums = {}
        with self.engine.connect() as conn:
            for name in sorted(meta.tables):
                table = meta.tables[name]
                if name in ("alembic_version", "audit_log", "import_runs"):
                    continue
                order = [table.c.external_id] if "external_id" in table.c else list(table.primary_key.columns)
                digest = hashlib.sha256()
                for row in conn.execute(select(table).order_by(*order)):
                    digest.update(repr(tuple(row)).encode())
                sums[name] = digest.hexdigest()
        events = self.store.dataset().to_table(columns=["event_id", "account_id", "user_id", "timestamp"])
        events = events.sort_by("event_id")
        step = max(1, events.num_rows // 500)
        sample = events.take(list(range(0, events.num_rows, step)))
        sums["events"] = hashlib.sha256(
            repr((events.num_rows, pc.sum(pc.cast(events["timestamp"], "int64")).as_py(), sample.to_pylist())).encode()
        ).hexdigest()
        return sums


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(tmp_path_factory.mktemp("demo") / "data", OPTIONS)


def test_same_seed_same_company_other_seed_another(built: Built, tmp_path: Path) -> None:
    again = Built(tmp_path / "again", OPTIONS)
    assert again.summary.rows == built.summary.rows
    assert again.summary.events == built.summary.events
    assert again.checksum() == built.checksum()
    other = Built(tmp_path / "other", DemoOptions(accounts=200, years=2, seed=8, end_date=END))
    mine = built.checksum()
    differs = {k for k, v in other.checksum().items() if mine[k] != v}
    assert {"accounts", "subscriptions", "events", "voc_entries"} <= differs


def test_every_table_is_filled(built: Built) -> None:
    for table in (
        "team_members",
        "accounts",
        "contacts",
        "products",
        "plans",
        "subscriptions",
        "invoices",
        "payments",
        "tickets",
        "survey_responses",
        "voc_entries",
        "activities",
        "onboarding_milestones",
        "leads",
        "opportunities",
        "marketing_spend",
    ):
        assert built.summary.rows[table] > 0, table
        assert built.rows(f"select count(*) from {table}")[0][0] == built.summary.rows[table]
    assert built.summary.events == built.store.count() > 10_000


def test_refuses_a_non_empty_hub_unless_reset(built: Built, tmp_path: Path) -> None:
    with pytest.raises(Conflict, match="--reset"):
        generate_demo(built.settings, options=OPTIONS)
    small = Settings(data_dir=tmp_path / "small")
    first = generate_demo(small, options=DemoOptions(accounts=40, years=1, seed=3, end_date=END))
    second = generate_demo(small, options=DemoOptions(accounts=40, years=1, seed=3, end_date=END), reset=True)
    assert first.rows == second.rows and first.events == second.events
    engine = make_engine(small.sqlalchemy_url)
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from accounts")) == 40
    engine.dispose()
    assert EventStore(small.events_dir).count() == second.events


def test_subscription_versions_are_well_formed(built: Built) -> None:
    bad = built.rows("select external_id from subscriptions where end_date is not null and end_date <= start_date")
    assert bad == []
    assert built.rows("select count(*) from subscriptions where status != 'trial' and mrr_minor <= 0")[0][0] == 0
    # a contract's versions follow each other without overlap
    by_contract: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for cid, start, end in built.rows("select contract_id, start_date, end_date from subscriptions"):
        by_contract[str(cid)].append((str(start), None if end is None else str(end)))
    for versions in by_contract.values():
        versions.sort()
        for (_, end), (next_start, _) in pairwise(versions):
            assert end is not None and end <= next_start
    statuses = {s for (s,) in built.rows("select distinct status from subscriptions")}
    assert {"trial", "active", "churned"} <= statuses
    assert built.rows("select count(*) from subscriptions where cancellation_reason = 'payment_failed'")[0][0] > 0
    assert built.rows("select count(*) from subscriptions where billing_period_months = 12")[0][0] > 0


def _paid_accounts_at(built: Built) -> dict[str, set[int]]:
    months = [built.options.month_start(t) for t in range(built.options.months)]
    rows = built.rows("select account_id, start_date, end_date from subscriptions where status != 'trial'")
    live: dict[str, set[int]] = {}
    for m in months:
        key = m.isoformat()
        live[key] = {int(a) for a, s, e in rows if str(s) <= key and (e is None or key < str(e))}
    return live


def test_monthly_logo_churn_is_realistic_and_mrr_positive(built: Built) -> None:
    live = _paid_accounts_at(built)
    keys = sorted(live)
    rates = [len(live[a] - live[b]) / len(live[a]) for a, b in pairwise(keys) if len(live[a]) >= 50]
    assert len(rates) >= 6
    assert 0.003 <= float(np.mean(rates)) <= 0.04
    mrr = built.rows(
        "select sum(mrr_minor) from subscriptions where status != 'trial' and start_date <= '2026-11-01' "
        "and (end_date is null or end_date > '2026-11-01')"
    )[0][0]
    assert mrr is not None and mrr > 0


def test_trials_are_not_billed(built: Built) -> None:
    trial_contracts = {c for (c,) in built.rows("select contract_id from subscriptions where status = 'trial'")}
    assert trial_contracts
    billed = {c for (c,) in built.rows("select distinct contract_id from invoices")}
    assert not trial_contracts & billed


def test_people_and_companies_have_japanese_names_and_owners(built: Built) -> None:
    for table in ("accounts", "contacts", "team_members"):
        names = [n for (n,) in built.rows(f"select name from {table}")]
        assert all(JAPANESE.search(str(n)) for n in names), table
    assert built.rows("select count(*) from accounts where owner_id is null")[0][0] == 0
    assert all("株式会社" in str(n) or "会社" in str(n) for (n,) in built.rows("select name from accounts"))
    roles = {r for (r,) in built.rows("select distinct role from team_members")}
    assert {"csm", "marketing", "inside_sales", "field_sales"} <= roles
    champions = built.rows(
        "select count(*), sum(case when is_active then 0 else 1 end) from contacts where is_champion"
    )
    assert champions[0][0] == OPTIONS.accounts and 0 < champions[0][1] < OPTIONS.accounts
    stages = {s for (s,) in built.rows("select distinct lifecycle_stage from accounts")}
    assert {"onboarding", "adoption", "churned", "at_risk"} <= stages


def test_events_are_partitioned_by_month_and_never_after_today(built: Built) -> None:
    files = built.store.files()
    assert len({f.parent.name for f in files}) >= built.options.months
    for path in files[:: max(1, len(files) // 12)]:
        month = path.parent.name.removeprefix("month=")
        table = pq.read_table(path)
        months = set(pc.strftime(table["timestamp"], format="%Y-%m").to_pylist())
        assert months == {month}
    _, hi = built.store.time_range()
    assert hi < dt.datetime(END.year, END.month, END.day, tzinfo=dt.UTC)
    names = set(built.store.dataset().to_table(columns=["event_name"])["event_name"].to_pylist())
    assert {"login", "report_viewed", "dashboard_created", "export", "invite_user"} <= names


REASON_MARKERS = {
    "results_not_achieved": r"成果|効果|KPI|ROI|results|実感",
    "hard_to_use": r"分かりにく|使いこなせ|使いやすくあり|使いやすくない|難し|使いたがら|どこに何|マニュアル|confusing|"
    r"complicated|not easy",
    "insufficient_support": r"サポートが足り|伴走|トレーニング|連絡が減|相談できる|展開方法|help|Support replies",
    "price_not_worth_it": r"価格|料金|単価|安い|値上げ|金額|price|cost",
    "missing_features": r"機能が足り|致命的|乗り換え|業務に合|全社展開できな|missing|doesn't fit",
}


def test_voc_covers_every_channel_reason_and_some_english(built: Built) -> None:
    rows = built.rows("select channel, text, language, account_id from voc_entries")
    assert {r[0] for r in rows} == {
        "call_center",
        "web_inquiry",
        "sales_hearing",
        "seminar",
        "user_group",
        "survey",
        "cancellation_survey",
    }
    texts_all = [str(r[1]) for r in rows]
    for reason, pattern in REASON_MARKERS.items():
        assert any(re.search(pattern, t) for t in texts_all), reason
    english = sum(r[2] == "en" for r in rows) / len(rows)
    assert 0.04 < english < 0.2
    assert any(r[3] is None for r in rows)  # prospects at seminars
    assert any("Salesforce連携" in t or "SSO" in t for t in texts_all)


def test_cancellation_surveys_follow_the_hidden_reason(built: Built) -> None:
    truth = pq.read_table(Path(built.summary.truth_dir) / "truth.parquet").to_pandas()
    reasons = dict(zip(truth["external_id"], truth["true_churn_reason"], strict=True))
    rows = built.rows(
        "select a.external_id, v.text from voc_entries v join accounts a on a.id = v.account_id "
        "where v.channel = 'cancellation_survey'"
    )
    hits = total = 0
    for ext, body in rows:
        reason = reasons.get(str(ext))
        if reason in REASON_MARKERS:
            total += 1
            hits += bool(re.search(REASON_MARKERS[reason], str(body)))
    assert total >= 10
    assert hits / total > 0.5


def test_funnel_leads_to_the_accounts(built: Built) -> None:
    won = built.rows("select count(distinct account_id) from opportunities where kind = 'new' and stage = 'won'")
    assert won[0][0] == OPTIONS.accounts
    assert (
        built.rows("select count(distinct account_id) from leads where account_id is not null")[0][0]
        == OPTIONS.accounts
    )
    untouched = built.rows("select count(*) from leads where mql_at is not null and first_touch_at is null")[0][0]
    assert untouched > 0
    kinds = {k for (k,) in built.rows("select distinct kind from opportunities")}
    assert {"new", "upsell", "cross_sell"} <= kinds
    sources = {s for (s,) in built.rows("select distinct source from leads")}
    assert set(sources) >= {"web", "seminar", "exhibition", "referral", "ads", "partner"}
    bad_order = built.rows("select count(*) from leads where mql_at < created_at or sql_at < mql_at")
    assert bad_order[0][0] == 0


def test_billing_has_failures_and_write_offs(built: Built) -> None:
    statuses = {s for (s,) in built.rows("select distinct status from payments")}
    assert {"succeeded", "failed"} <= statuses
    assert built.rows("select count(*) from invoices where status = 'written_off'")[0][0] > 0
    assert built.rows("select count(*) from payments where attempt > 1")[0][0] > 0


def test_onboarding_late_more_often_for_accounts_that_churn(built: Built) -> None:
    truth = pq.read_table(Path(built.summary.truth_dir) / "truth.parquet").to_pandas().set_index("external_id")
    rows = built.rows(
        "select a.external_id, m.due_on, m.completed_at from onboarding_milestones m "
        "join accounts a on a.id = m.account_id where m.completed_at is not null"
    )
    late: dict[bool, list[bool]] = {True: [], False: []}
    for ext, due, done in rows:
        churned = bool(truth.loc[str(ext), "churned"])
        late[churned].append(str(done)[:10] > str(due))
    assert np.mean(late[True]) > np.mean(late[False])
    assert built.rows("select count(*) from onboarding_milestones where is_key")[0][0] > 0


def test_churn_is_foreseeable_from_usage(built: Built) -> None:
    """Churned accounts used the product less, per seat, in the 60 days before churn than retained ones."""
    truth = pq.read_table(Path(built.summary.truth_dir) / "truth.parquet").to_pandas()
    ids = dict(built.rows("select external_id, id from accounts"))
    seats = defaultdict(int)
    for a, q in built.rows(
        "select account_id, max(quantity) from subscriptions where contract_id like '%-01' group by account_id"
    ):
        seats[int(a)] = int(q)
    events = built.store.dataset().to_table(columns=["account_id", "timestamp"])
    acc = events["account_id"].to_numpy()
    ts = pc.cast(events["timestamp"], "int64").to_numpy() // 1_000_000
    churned = truth[truth["churned"] & (truth["churn_kind"] == "voluntary")]
    retained = truth[~truth["churned"] & truth["true_churn_date"].isna()]
    live = _paid_accounts_at(built)
    churn_rate, keep_rate = [], []
    for _, row in churned.iterrows():
        end = row["true_churn_date"]
        end_s = int(dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC).timestamp())
        window = (ts >= end_s - 60 * 86400) & (ts < end_s)
        month_before = (end.replace(day=1) - dt.timedelta(days=62)).replace(day=1).isoformat()
        if month_before not in live:
            continue
        cid = ids[row["external_id"]]
        churn_rate.append(np.sum(window & (acc == cid)) / max(seats[cid], 1))
        peers = [ids[e] for e in retained["external_id"] if ids[e] in live[month_before]]
        counts = np.bincount(acc[window], minlength=max(ids.values()) + 1)
        keep_rate.append(np.mean([counts[p] / max(seats[p], 1) for p in peers]))
    assert len(churn_rate) >= 10
    assert np.mean(churn_rate) < 0.7 * np.mean(keep_rate)
    # ... but noisy: some churned accounts were still using it at more than half the retained accounts' rate
    assert max(churn_rate) > 0.5 * np.mean(keep_rate)


def test_truth_is_written_apart_and_documented_columns(built: Built) -> None:
    folder = Path(built.summary.truth_dir)
    truth = pq.read_table(folder / "truth.parquet")
    assert truth.num_rows == OPTIONS.accounts
    assert {
        "external_id",
        "hidden_churn_reason",
        "true_churn_date",
        "true_churn_reason",
        "segment",
        "health_mean",
    } <= set(truth.column_names)
    monthly = pq.read_table(folder / "truth_monthly.parquet")
    assert {"external_id", "month", "health", "engagement", "churn_intent"} <= set(monthly.column_names)
    reasons = set(truth["true_churn_reason"].drop_null().to_pylist())
    assert {"payment_failed", "hard_to_use", "price_not_worth_it"} <= reasons
    with built.engine.connect() as conn:
        tables = set(MetaData().tables) | {
            r[0] for r in conn.execute(text("select name from sqlite_master where type = 'table'"))
        }
    assert not any("truth" in t for t in tables)


def test_surveys_nps_lower_for_accounts_that_churn(built: Built) -> None:
    truth = pq.read_table(Path(built.summary.truth_dir) / "truth.parquet").to_pandas().set_index("external_id")
    rows = built.rows(
        "select a.external_id, s.score from survey_responses s join accounts a on a.id = s.account_id "
        "where s.kind = 'nps'"
    )
    by = defaultdict(list)
    for ext, score in rows:
        by[bool(truth.loc[str(ext), "churned"])].append(int(score))
    assert np.mean(by[True]) < np.mean(by[False])
    csat = built.rows("select avg(score) from survey_responses where kind = 'csat'")[0][0]
    assert 3.2 < float(csat) < 4.6
    kinds = {k for (k,) in built.rows("select distinct kind from survey_responses")}
    assert kinds == {"nps", "csat", "ces"}
    with built.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(text("tickets")).where(text("priority = 'urgent'"))) > 0


@pytest.mark.postgres
def test_a_small_company_on_postgresql(tmp_path: Path, scratch_postgres_url: str) -> None:
    url = scratch_postgres_url
    settings = Settings(data_dir=tmp_path / "pg", database_url=url)
    summary = generate_demo(settings, options=DemoOptions(accounts=60, years=1, seed=5, end_date=END))
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from accounts")) == 60
        assert conn.scalar(text("select count(*) from subscriptions")) == summary.rows["subscriptions"]
        assert conn.scalar(text("select count(*) from voc_entries")) == summary.rows["voc_entries"]
    with pytest.raises(Conflict):
        generate_demo(settings, options=DemoOptions(accounts=60, years=1, seed=5, end_date=END))
    again = generate_demo(settings, options=DemoOptions(accounts=60, years=1, seed=5, end_date=END), reset=True)
    assert again.rows == summary.rows
    engine.dispose()
