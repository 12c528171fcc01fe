"""The ready mappings meet the exports teams really have: each file below is written with the exact headers and quirks
of the product's export (tests/imports/exports.py), imported through ``import_file`` with ``mapping=<name>``, then the
real KPI refresh step runs and its stored figures equal an independent pandas computation from the same rows.

Quirks covered: Stripe's "(UTC)" times, lower-case currencies, unit prices per interval (MRR = price x quantity /
months), yearly prices and converted trials; Salesforce's Japanese report in CP932 with its footer lines; HubSpot's
";"-separated association ids; Zendesk's statuses, "Via" channels, good/bad satisfaction and first-reply minutes;
Intercom's snake_case conversation export in UTC; Google Forms' "タイムスタンプ" with "午後 GMT+9" and questions
recognised by their words; SurveyMonkey's two header rows and US dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from kizuna.accounts.models import Account, Contact
from kizuna.billing.models import Invoice, Subscription
from kizuna.domains import REFRESH_STEPS
from kizuna.errors import ImportRejected
from kizuna.funnel.models import Opportunity
from kizuna.imports.mapping import NAMED_MAPPINGS, mappings_for
from kizuna.imports.service import import_file
from kizuna.kpis.service import load_account_metrics, load_kpi
from kizuna.migrations import upgrade
from kizuna.pipeline.refresh import refresh
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.support.models import Ticket
from kizuna.voc.models import SurveyResponse
from tests.imports.exports import (
    INTERCOM_CONVERSATIONS,
    STRIPE_CUSTOMERS,
    STRIPE_INVOICES,
    STRIPE_PRICES,
    STRIPE_PRODUCTS,
    STRIPE_SUBSCRIPTIONS,
    SURVEYMONKEY_RESPONDENT,
    ZENDESK_TICKETS,
    stripe_time,
    write_csv,
)

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path / "data", kpi_processes=1, scheduler_in_process=False)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime.open(settings)
    yield runtime
    runtime.close()


def load(runtime: Runtime, entity: str, path: Path, mapping: str, **options: Any) -> Any:
    with runtime.transaction() as session:
        summary = import_file(
            session, entity=entity, path=path, settings=runtime.settings, actor="test", mapping=mapping, **options
        )
    assert summary.rejected == 0, summary.sample_rejections
    return summary


def refresh_kpis(runtime: Runtime) -> None:
    summaries = refresh(runtime, REFRESH_STEPS, as_of=AS_OF, only=["kpis"])
    assert "skipped" not in summaries["kpis"], summaries


def series(runtime: Runtime, metric: str, *, by: str | None = None) -> pd.Series:
    """A stored KPI series by (currency, month), from the snapshot of ``AS_OF`` (``by="currency"``: each currency in
    its own amounts; the totals are in the base currency)."""
    with runtime.transaction() as session:
        frame = load_kpi(session, names=[metric], as_of=AS_OF, by=by)
    return frame.set_index(["currency", "month"])["value"]


def months_until(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def month_end(month: dt.date) -> dt.date:
    """The day a month's MRR is taken on: its last day, or ``AS_OF`` for the current month."""
    last = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return min(last, AS_OF)


def test_every_ready_mapping_is_offered_for_its_entities() -> None:
    assert mappings_for("subscriptions") == ["stripe"]
    assert mappings_for("tickets") == ["zendesk", "intercom"]
    assert mappings_for("survey_responses") == ["google_forms", "surveymonkey"]
    assert set(mappings_for("accounts")) == {"salesforce", "hubspot", "stripe"}
    assert set(NAMED_MAPPINGS) == {m for e in ("accounts", "tickets", "survey_responses") for m in mappings_for(e)}


def test_a_mapping_without_the_entity_is_refused_naming_what_it_maps(hub: Runtime, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ZENDESK_TICKETS, [])
    with hub.transaction() as session, pytest.raises(ImportRejected, match="stripe mapping has nothing for tickets"):
        import_file(session, entity="tickets", path=path, settings=hub.settings, actor="t", mapping="stripe")


# --- Stripe -------------------------------------------------------------------------------------------------------

PRICES = {  # price id: (amount as Stripe writes it, currency, interval, interval count)
    "price_team_m": ("49.00", "usd", "month", 1),
    "price_team_y": ("490.00", "usd", "year", 1),
    "price_team_q": ("135.00", "usd", "month", 3),
    "price_jp_m": ("9800", "jpy", "month", 1),
}


def stripe_subscriptions() -> list[dict[str, Any]]:
    """Customers' subscriptions as Stripe's export lists them (its state today)."""
    d = dt.date
    return [
        dict(id="sub_1", cus="cus_1", price="price_team_m", qty=3, status="active", start=d(2025, 1, 6)),
        dict(
            id="sub_2",
            cus="cus_2",
            price="price_team_y",
            qty=2,
            status="canceled",
            start=d(2025, 3, 3),
            canceled=d(2026, 2, 20),
            ended=d(2026, 3, 3),
        ),
        dict(id="sub_3", cus="cus_3", price="price_team_q", qty=1, status="past_due", start=d(2025, 6, 10)),
        dict(
            id="sub_4",
            cus="cus_4",
            price="price_jp_m",
            qty=5,
            status="active",
            start=d(2025, 8, 1),
            trial_end=d(2025, 8, 15),
        ),
        dict(
            id="sub_5",
            cus="cus_5",
            price="price_team_m",
            qty=1,
            status="trialing",
            start=d(2026, 11, 10),
            trial_end=d(2026, 11, 24),
        ),
        dict(
            id="sub_6",
            cus="cus_6",
            price="price_jp_m",
            qty=2,
            status="canceled",
            start=d(2025, 9, 1),
            canceled=d(2026, 6, 30),
            ended=d(2026, 7, 1),
        ),
        dict(id="sub_7", cus="cus_1", price="price_team_m", qty=2, status="active", start=d(2026, 4, 2)),
    ]


def write_stripe(folder: Path) -> dict[str, Path]:
    created = dt.date(2024, 12, 1)
    products = [["prod_team", "kizuna Team", "", "true", stripe_time(created)]]
    prices = [
        [
            pid,
            "prod_team",
            "kizuna Team",
            "",
            "",
            pid,
            stripe_time(created),
            amount,
            currency,
            interval,
            count,
            "licensed",
            "",
            "per_unit",
            "",
            "unspecified",
        ]
        for pid, (amount, currency, interval, count) in PRICES.items()
    ]
    customers = [
        [
            f"cus_{i}",
            "",
            f"billing@c{i}.example",
            f"Customer {i} Inc.",
            stripe_time(dt.date(2025, 1, i)),
            "",
            "",
            "false",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        for i in range(1, 7)
    ]
    subs = []
    for s in stripe_subscriptions():
        amount, currency, interval, _ = PRICES[s["price"]]
        trial_end = s.get("trial_end")
        subs.append(
            [
                s["id"],
                s["cus"],
                "",
                "",
                s["price"],
                "prod_team",
                s["qty"],
                currency,
                interval,
                amount,
                s["status"],
                stripe_time(s["start"]),
                stripe_time(s["start"]),
                "",
                "",
                stripe_time(s["start"]) if trial_end else "",
                stripe_time(trial_end),
                "",
                "",
                "",
                stripe_time(s.get("canceled")),
                "false",
                stripe_time(s.get("ended")),
            ]
        )
    invoices = [
        [
            "in_1",
            "147.00",
            "147.00",
            "0.00",
            1,
            "true",
            "true",
            "subscription_cycle",
            "ch_1",
            "usd",
            "cus_1",
            stripe_time(dt.date(2026, 10, 6)),
            "",
            "A-0001",
            "true",
            "",
            "",
            "paid",
            "sub_1",
            "147.00",
            "0.00",
            "147.00",
            "Customer 1 Inc.",
            "",
            stripe_time(dt.date(2026, 10, 6)),
        ],
        [
            "in_2",
            "135.00",
            "0.00",
            "135.00",
            3,
            "true",
            "true",
            "subscription_cycle",
            "ch_2",
            "usd",
            "cus_3",
            stripe_time(dt.date(2026, 9, 10)),
            "",
            "A-0002",
            "false",
            "",
            "",
            "open",
            "sub_3",
            "135.00",
            "0.00",
            "135.00",
            "Customer 3 Inc.",
            "",
            stripe_time(dt.date(2026, 10, 10)),
        ],
        [
            "in_3",
            "49000",
            "49000",
            "0",
            1,
            "true",
            "true",
            "subscription_cycle",
            "ch_3",
            "jpy",
            "cus_4",
            stripe_time(dt.date(2026, 10, 15)),
            "",
            "A-0003",
            "true",
            "",
            "",
            "paid",
            "sub_4",
            "49000",
            "0",
            "49000",
            "Customer 4 Inc.",
            "",
            "",
        ],
        [
            "in_4",
            "19600",
            "0",
            "19600",
            4,
            "true",
            "false",
            "subscription_cycle",
            "",
            "jpy",
            "cus_6",
            stripe_time(dt.date(2026, 6, 1)),
            "",
            "A-0004",
            "false",
            "",
            "",
            "uncollectible",
            "sub_6",
            "19600",
            "0",
            "19600",
            "Customer 6 Inc.",
            "",
            "",
        ],
    ]
    return {
        "products": write_csv(folder / "products.csv", STRIPE_PRODUCTS, products),
        "plans": write_csv(folder / "prices.csv", STRIPE_PRICES, prices),
        "accounts": write_csv(folder / "customers.csv", STRIPE_CUSTOMERS, customers),
        "subscriptions": write_csv(folder / "subscriptions.csv", STRIPE_SUBSCRIPTIONS, subs),
        "invoices": write_csv(folder / "invoices.csv", STRIPE_INVOICES, invoices),
    }


def expected_stripe_mrr() -> tuple[pd.Series, pd.Series, pd.Series]:
    """MRR, paying customers and logo churn rate by (currency, month), computed from the export's rows alone."""
    lines = pd.DataFrame(stripe_subscriptions())
    prices = pd.DataFrame(
        [(k, *v) for k, v in PRICES.items()], columns=["price", "amount", "currency", "interval", "count"]
    )
    lines = lines.merge(prices, on="price")
    lines = lines[lines.status != "trialing"].copy()
    digits = lines.currency.map({"usd": 100, "jpy": 1})
    months = lines.interval.map({"month": 1, "year": 12}) * lines["count"]
    lines["mrr"] = (lines.amount.astype(float) * digits * lines.qty / months).round().astype(int)
    # a converted trial pays from the trial's end
    lines["paying_from"] = [
        max(s, t) if isinstance(t, dt.date) else s for s, t in zip(lines.start, lines.trial_end, strict=True)
    ]
    lines["currency"] = lines.currency.str.upper()
    rows = []
    for month in months_until(dt.date(2025, 1, 1), AS_OF):
        day = month_end(month)
        ended = lines.ended.map(lambda e, day=day: not isinstance(e, dt.date) or e > day)
        live = lines[(lines.paying_from <= day) & ended]
        for currency, group in live.groupby("currency"):
            per_account = group.groupby("cus").mrr.sum()
            rows.append((currency, pd.Timestamp(month).date(), int(per_account.sum()), set(per_account.index)))
    frame = pd.DataFrame(rows, columns=["currency", "month", "mrr", "payers"]).set_index(["currency", "month"])
    mrr = frame.mrr.astype(float)
    customers = frame.payers.map(len).astype(float)
    churn = {}
    for (currency, month), payers in frame.payers.items():
        before = (pd.Timestamp(month) - pd.DateOffset(months=1)).date()
        if (currency, before) in frame.index:
            previous = frame.payers[(currency, before)]
            churn[(currency, month)] = len(previous - payers) / len(previous)
    return mrr, customers, pd.Series(churn, dtype=float)


def test_stripe_exports_give_the_mrr_and_churn_pandas_gives(hub: Runtime, tmp_path: Path) -> None:
    files = write_stripe(tmp_path)
    for entity in ("products", "plans", "accounts", "subscriptions", "invoices"):
        summary = load(hub, entity, files[entity], "stripe")
        assert summary.timezone == "UTC"  # Stripe's "(UTC)" headers
    with hub.transaction() as session:
        lines = {s.external_id: s for s in session.scalars(select(Subscription))}
        invoices = {i.external_id: i for i in session.scalars(select(Invoice))}
    assert lines["sub_2"].mrr_minor == round(49000 * 2 / 12) and lines["sub_2"].billing_period_months == 12
    assert lines["sub_3"].billing_period_months == 3 and lines["sub_3"].mrr_minor == 4500
    assert lines["sub_4"].start_date == dt.date(2025, 8, 15) and lines["sub_4"].currency == "JPY"
    assert lines["sub_5"].status == "trial" and lines["sub_2"].status == "churned"
    assert {k: (i.amount_minor, i.currency, i.status) for k, i in invoices.items()} == {
        "in_1": (14700, "USD", "paid"),
        "in_2": (13500, "USD", "open"),
        "in_3": (49000, "JPY", "paid"),
        "in_4": (19600, "JPY", "written_off"),
    }

    refresh_kpis(hub)
    mrr, customers, churn = expected_stripe_mrr()
    stored_mrr = series(hub, "mrr_minor", by="currency")
    pd.testing.assert_series_equal(stored_mrr.reindex(mrr.index), mrr, check_names=False, check_index_type=False)
    assert set(stored_mrr[stored_mrr > 0].index) == set(mrr.index)
    stored_customers = series(hub, "customers", by="currency")
    pd.testing.assert_series_equal(
        stored_customers.reindex(customers.index), customers, check_names=False, check_index_type=False
    )
    stored_churn = series(hub, "logo_churn_rate", by="currency").reindex(churn.index)
    pd.testing.assert_series_equal(stored_churn, churn, check_names=False, check_index_type=False)
    assert churn.max() > 0  # the test can fail: someone churned


# --- Salesforce (Japanese report, CP932) and HubSpot ---------------------------------------------------------------

SF_ACCOUNTS = ["取引先 ID", "取引先名", "業種", "従業員数", "都道府県(請求先)", "取引先 所有者", "作成日"]
SF_OPPORTUNITIES = [
    "商談 ID",
    "商談名",
    "取引先 ID",
    "取引先名",
    "フェーズ",
    "金額",
    "金額 通貨",
    "完了予定日",
    "種別",
    "確度 (%)",
    "作成日",
]
SF_CONTACTS = ["取引先責任者 ID", "取引先 ID", "取引先名", "姓", "名", "メール", "役職", "作成日"]
SF_FOOTER = [
    [""],
    ["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."],
    ["Confidential Information - Do Not Distribute"],
    ["作成者: 管理者 太郎"],
]


def test_salesforce_japanese_report_in_cp932_with_its_footer(hub: Runtime, tmp_path: Path) -> None:
    accounts = [
        ["0015g00000AbCdE", "株式会社髙橋製作所", "製造", "120", "東京都", "山田 花子", "2024/04/01"],
        ["0015g00000AbCdF", "㈱サンプル商事", "卸売", "35", "大阪府", "佐藤 次郎", "2024/05/10"],
    ]
    opportunities = [
        [
            "0065g00000X1",
            "髙橋製作所 新規",
            "0015g00000AbCdE",
            "株式会社髙橋製作所",
            "成立",
            "1200000",
            "JPY",
            "2024/06/30",
            "新規ビジネス",
            "100",
            "2024/04/15",
        ],
        [
            "0065g00000X2",
            "サンプル商事 追加",
            "0015g00000AbCdF",
            "㈱サンプル商事",
            "不成立",
            "300000",
            "JPY",
            "2024/08/31",
            "既存ビジネス",
            "0",
            "2024/06/01",
        ],
        [
            "0065g00000X3",
            "髙橋製作所 拡張",
            "0015g00000AbCdE",
            "株式会社髙橋製作所",
            "提案",
            "450000",
            "JPY",
            "2026/12/25",
            "既存ビジネス",
            "60",
            "2026/10/01",
        ],
    ]
    owners = write_csv(
        tmp_path / "team.csv",
        ["external_id", "name", "email"],
        [["u1", "山田 花子", "hanako@example.jp"], ["u2", "佐藤 次郎", "jiro@example.jp"]],
    )
    with hub.transaction() as session:
        import_file(session, entity="team_members", path=owners, settings=hub.settings, actor="test")
    a = write_csv(tmp_path / "取引先.csv", SF_ACCOUNTS, [*accounts, *SF_FOOTER], encoding="cp932")
    o = write_csv(tmp_path / "商談.csv", SF_OPPORTUNITIES, [*opportunities, *SF_FOOTER], encoding="cp932")
    summary = load(hub, "accounts", a, "salesforce")
    assert summary.encoding == "cp932" and summary.rows_read == 2
    assert any("3 lines of a Salesforce report's footer" in note for note in summary.notes)
    load(hub, "opportunities", o, "salesforce")
    with hub.transaction() as session:
        got = (
            pd.DataFrame(
                session.execute(
                    select(
                        Opportunity.external_id,
                        Opportunity.stage,
                        Opportunity.kind,
                        Opportunity.amount_minor,
                        Account.name,
                    ).join(Account, Account.id == Opportunity.account_id)
                ).all(),
                columns=["id", "stage", "kind", "amount", "account"],
            )
            .set_index("id")
            .sort_index()
        )
        regions = dict(session.execute(select(Account.name, Account.region)).all())
    source = pd.DataFrame(opportunities, columns=SF_OPPORTUNITIES).set_index("商談 ID").sort_index()
    expected_stage = source["フェーズ"].map({"成立": "won", "不成立": "lost"}).fillna("open")
    assert got.stage.tolist() == expected_stage.tolist()
    assert got.kind.tolist() == source["種別"].map({"新規ビジネス": "new", "既存ビジネス": "upsell"}).tolist()
    assert got.amount.tolist() == source["金額"].astype(int).tolist()
    assert got.account.tolist() == source["取引先名"].tolist()
    won = got[got.stage == "won"].amount.sum()
    assert won == source[expected_stage == "won"]["金額"].astype(int).sum() == 1_200_000
    assert regions == {"株式会社髙橋製作所": "東京都", "㈱サンプル商事": "大阪府"}

    # the contacts report (取引先責任者), also CP932 with its footer: the name is 姓 then 名, as Japanese writes it
    contacts = [
        ["0035g00000C1", "0015g00000AbCdE", "株式会社髙橋製作所", "髙橋", "一郎", "ichiro@takahashi.example", "部長"],
        ["0035g00000C2", "0015g00000AbCdF", "㈱サンプル商事", "鈴木", "美咲", "misaki@sample.example.jp", ""],
    ]
    contacts = [[*row, "2024/06/01"] for row in contacts]
    c = write_csv(tmp_path / "取引先責任者.csv", SF_CONTACTS, [*contacts, *SF_FOOTER], encoding="cp932")
    summary = load(hub, "contacts", c, "salesforce")
    assert summary.encoding == "cp932" and summary.rows_read == 2
    with hub.transaction() as session:
        people = pd.DataFrame(
            session.execute(
                select(Contact.name, Contact.email, Contact.title, Account.external_id).join(
                    Account, Account.id == Contact.account_id
                )
            ).all(),
            columns=["name", "email", "title", "account"],
        ).sort_values("email", ignore_index=True)
    frame = pd.DataFrame(contacts, columns=SF_CONTACTS)
    want = pd.DataFrame(
        {
            "name": frame["姓"] + " " + frame["名"],
            "email": frame["メール"],
            "title": frame["役職"].replace("", None),
            "account": frame["取引先 ID"],
        }
    ).sort_values("email", ignore_index=True)
    pd.testing.assert_frame_equal(people, want, check_dtype=False)


HUBSPOT_COMPANIES = [
    "Record ID",
    "Company name",
    "Company owner",
    "Create Date",
    "Phone Number",
    "Last Activity Date",
    "City",
    "Country/Region",
    "Industry",
    "Lifecycle Stage",
    "Number of Employees",
]
HUBSPOT_CONTACTS = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Contact owner",
    "Primary Associated Company ID",
    "Associated Company IDs",
    "Lifecycle Stage",
    "Create Date",
]
HUBSPOT_DEALS = [
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Close Date",
    "Deal owner",
    "Amount",
    "Currency",
    "Pipeline",
    "Create Date",
    "Deal Type",
    "Associated Company IDs",
]


def write_hubspot_companies(folder: Path) -> Path:
    rows = [
        ["9001", "Acme KK", "", "2024-02-01 10:00", "", "", "Tokyo", "Japan", "COMPUTER_SOFTWARE", "customer", "250"],
        ["9002", "Beta Labs", "", "2024-03-05 11:00", "", "", "Osaka", "Japan", "RETAIL", "customer", "40"],
        ["9003", "Gamma 合同会社", "", "2024-06-20 09:00", "", "", "Fukuoka", "Japan", "", "customer", ""],
    ]
    return write_csv(folder / "hubspot-companies.csv", HUBSPOT_COMPANIES, rows)


def test_hubspot_companies_contacts_and_deals(hub: Runtime, tmp_path: Path) -> None:
    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    contacts = [
        ["501", "Taro", "Yamada", "taro@acme.example", "", "", "9001", "9001;9002", "customer", "2024-02-02 10:00"],
        ["502", "Hanako", "Sato", "hanako@beta.example", "", "", "9002", "9002", "customer", "2024-03-06 10:00"],
    ]
    deals = [
        [
            "7001",
            "Acme new",
            "closedwon",
            "2024-03-31 00:00",
            "",
            "1500000",
            "JPY",
            "default",
            "2024-02-02 00:00",
            "newbusiness",
            "9001",
        ],
        [
            "7002",
            "Beta upsell",
            "Closed Lost",
            "2024-07-31 00:00",
            "",
            "200000",
            "JPY",
            "default",
            "2024-05-01 00:00",
            "existingbusiness",
            "9002;9001",
        ],
        [
            "7003",
            "Gamma",
            "appointmentscheduled",
            "2026-12-31 00:00",
            "",
            "800000",
            "JPY",
            "default",
            "2026-10-01 00:00",
            "newbusiness",
            "9003",
        ],
    ]
    load(hub, "contacts", write_csv(tmp_path / "contacts.csv", HUBSPOT_CONTACTS, contacts), "hubspot")
    load(hub, "opportunities", write_csv(tmp_path / "deals.csv", HUBSPOT_DEALS, deals), "hubspot")
    with hub.transaction() as session:
        contact_accounts = dict(
            session.execute(
                select(Contact.name, Account.external_id).join(Account, Account.id == Contact.account_id)
            ).all()
        )
        won = session.execute(
            select(Account.external_id, Opportunity.amount_minor, Opportunity.stage, Opportunity.kind).join(
                Account, Account.id == Opportunity.account_id
            )
        ).all()
    assert contact_accounts == {"Yamada Taro": "9001", "Sato Hanako": "9002"}
    frame = pd.DataFrame(deals, columns=HUBSPOT_DEALS)
    frame["account"] = frame["Associated Company IDs"].str.split(";").str[0]  # the primary association
    expected = sorted(
        zip(
            frame.account,
            frame.Amount.astype(int),
            frame["Deal Stage"].map({"closedwon": "won", "Closed Lost": "lost"}).fillna("open"),
            frame["Deal Type"].map({"newbusiness": "new", "existingbusiness": "upsell"}),
            strict=True,
        )
    )
    assert sorted(tuple(r) for r in won) == expected


# --- Zendesk and Intercom: tickets ---------------------------------------------------------------------------------


def expected_tickets(frame: pd.DataFrame, opened: str, closed: str, account: str) -> tuple[pd.Series, pd.Series]:
    """Tickets opened per month (all accounts) and open tickets per account at AS_OF, from the export's rows."""
    opened_at = pd.to_datetime(frame[opened])
    per_month = opened_at.dt.to_period("M").dt.start_time.dt.date.value_counts().sort_index().astype(float)
    open_now = frame[frame[closed].eq("")].groupby(account).size()
    return per_month, open_now


def zendesk_rows() -> list[list[object]]:
    rows = []
    spec = [  # id, org, status, priority, via, created, solved, satisfaction, first reply minutes
        (101, "Acme KK", "solved", "high", "Mail", "2026-08-03 10:15", "2026-08-04 09:00", "Good", "35"),
        (102, "Acme KK", "closed", "-", "Web form", "2026-09-12 16:40", "2026-09-13 10:00", "Bad", "120"),
        (103, "Beta Labs", "open", "urgent", "Phone call (incoming)", "2026-10-01 09:05", "", "Offered", ""),
        (104, "Beta Labs", "pending", "normal", "Chat", "2026-10-20 14:00", "", "Unoffered", "12"),
        (105, "Gamma 合同会社", "hold", "low", "API", "2026-11-02 11:11", "", "Not Offered", ""),
        (106, "Acme KK", "new", "normal", "Mail", "2026-11-20 08:00", "", "Unoffered", ""),
    ]
    for tid, org, status, priority, via, created, solved, score, first in spec:
        rows.append(
            [
                "1",
                tid,
                "Requester",
                "",
                "",
                f"user{tid}@example.com",
                "example.com",
                "Agent",
                "Agent",
                "Support",
                f"Ticket {tid}",
                "billing",
                status,
                priority,
                via,
                "question",
                created,
                created,
                created,
                org,
                "",
                created,
                solved,
                "",
                score,
                "1",
                "1",
                "0",
                "2",
                first,
                first,
                "",
                "",
            ]
        )
    return rows


def test_zendesk_ticket_export_gives_the_support_load_pandas_gives(hub: Runtime, tmp_path: Path) -> None:
    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    rows = zendesk_rows()
    path = write_csv(tmp_path / "export-2026-11-22.csv", ZENDESK_TICKETS, rows)
    load(hub, "tickets", path, "zendesk", timezone="UTC")
    with hub.transaction() as session:
        tickets = {t.external_id: t for t in session.scalars(select(Ticket))}
    assert {k: (t.status, t.priority, t.channel, t.csat) for k, t in tickets.items()} == {
        "101": ("closed", "high", "email", 5),
        "102": ("closed", "normal", "web", 1),
        "103": ("open", "urgent", "phone", None),
        "104": ("pending", "normal", "chat", None),
        "105": ("pending", "low", "web", None),
        "106": ("open", "normal", "email", None),
    }
    assert tickets["101"].first_response_at == dt.datetime(2026, 8, 3, 10, 50, tzinfo=dt.UTC)

    refresh_kpis(hub)
    frame = pd.DataFrame(rows, columns=ZENDESK_TICKETS)
    per_month, open_now = expected_tickets(frame, "Created at", "Solved at", "Organization")
    stored = series(hub, "support_tickets").droplevel("currency")
    pd.testing.assert_series_equal(stored.sort_index(), per_month, check_names=False, check_index_type=False)
    assert_open_tickets(hub, open_now)


def assert_open_tickets(hub: Runtime, expected: pd.Series) -> None:
    with hub.transaction() as session:
        names = dict(session.execute(select(Account.id, Account.name)).all())
        metrics = load_account_metrics(session)
    got = metrics.assign(name=metrics.account_id.map(names)).set_index("name").open_tickets
    got = got[got > 0].sort_index()
    assert got.to_dict() == expected.sort_index().to_dict()
    assert sum(expected) > 0


def test_intercom_conversation_export_gives_the_support_load_pandas_gives(hub: Runtime, tmp_path: Path) -> None:
    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    spec = [  # id, company, state, created, first response, closed
        ("2150000001", "Acme KK", "closed", "2026-09-01 01:00:00", "2026-09-01 01:20:00", "2026-09-01 03:00:00"),
        ("2150000002", "Beta Labs", "open", "2026-10-05 23:30:00", "", ""),
        ("2150000003", "Beta Labs", "snoozed", "2026-10-31 22:00:00", "2026-11-01 00:10:00", ""),
        ("2150000004", "Gamma 合同会社", "closed", "2026-11-03 04:00:00", "2026-11-03 04:05:00", "2026-11-04 04:00:00"),
    ]
    rows = [
        [
            f"m{cid}",
            "<p>Hello</p>",
            "conversation_message",
            created,
            "user",
            "u1",
            "ext-1",
            "User",
            f"user{cid}@example.com",
            company,
            "",
            cid,
            state,
            created,
            first,
            closed,
            "abcd1234",
            "kizuna",
        ]
        for cid, company, state, created, first, closed in spec
    ]
    path = write_csv(tmp_path / "intercom-conversations.csv", INTERCOM_CONVERSATIONS, rows)
    summary = load(hub, "tickets", path, "intercom")
    assert summary.timezone == "UTC"
    with hub.transaction() as session:
        tickets = {t.external_id: t for t in session.scalars(select(Ticket))}
    assert tickets["2150000003"].status == "pending" and tickets["2150000001"].channel == "chat"
    assert tickets["2150000002"].opened_at == dt.datetime(2026, 10, 5, 23, 30, tzinfo=dt.UTC)

    refresh_kpis(hub)
    frame = pd.DataFrame(rows, columns=INTERCOM_CONVERSATIONS)
    per_month, open_now = expected_tickets(
        frame, "conversation_created_at", "conversation_closed_at", "message_author_companies"
    )
    stored = series(hub, "support_tickets").droplevel("currency")
    pd.testing.assert_series_equal(stored.sort_index(), per_month, check_names=False, check_index_type=False)
    assert_open_tickets(hub, open_now)


def test_intercom_report_csv_with_the_conversation_dataset_s_labels(hub: Runtime, tmp_path: Path) -> None:
    """Intercom's own report export names its columns by the conversation dataset's attributes ("Conversation
    started at", "Conversation first replied at"; docs/imports.md says where these were checked)."""
    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    header = [
        "Conversation ID",
        "Conversation started at",
        "Conversation first replied at",
        "Last closed at",
        "State",
        "Company name",
        "Teammate assigned",
    ]
    rows = [
        ["215001", "2026-09-01 01:00:00", "2026-09-01 01:20:00", "2026-09-01 03:00:00", "closed", "Acme KK", "Aiko"],
        ["215002", "2026-10-05 23:30:00", "", "", "open", "Beta Labs", ""],
        ["215003", "2026-11-03 04:00:00", "2026-11-03 04:05:00", "", "snoozed", "Beta Labs", "Ken"],
    ]
    summary = load(hub, "tickets", write_csv(tmp_path / "conversations-report.csv", header, rows), "intercom")
    assert "Teammate assigned" in summary.ignored_columns
    with hub.transaction() as session:
        tickets = {t.external_id: t for t in session.scalars(select(Ticket))}
    assert tickets["215001"].first_response_at == dt.datetime(2026, 9, 1, 1, 20, tzinfo=dt.UTC)
    assert tickets["215003"].status == "pending" and tickets["215002"].first_response_at is None
    assert tickets["215001"].subject == "Intercom conversation"  # (no title column in this report)

    refresh_kpis(hub)
    frame = pd.DataFrame(rows, columns=header)
    per_month, open_now = expected_tickets(frame, "Conversation started at", "Last closed at", "Company name")
    stored = series(hub, "support_tickets").droplevel("currency")
    pd.testing.assert_series_equal(stored.sort_index(), per_month, check_names=False, check_index_type=False)
    assert_open_tickets(hub, open_now)


# --- Google Forms and SurveyMonkey: NPS ----------------------------------------------------------------------------


def expected_nps(frame: pd.DataFrame, when: pd.Series, score: str) -> pd.Series:
    """NPS (-100..100) by month of response, from the rows."""
    scores = frame[score].astype(int)
    month = when.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date
    grouped = pd.DataFrame({"month": month, "s": scores}).groupby("month").s
    return (grouped.apply(lambda s: ((s >= 9).sum() - (s <= 6).sum()) * 100 / len(s))).astype(float)


def test_google_forms_japanese_responses_give_the_nps_pandas_gives(hub: Runtime, tmp_path: Path) -> None:
    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    with hub.transaction() as session:
        acme = session.scalar(select(Account.id).where(Account.external_id == "9001"))
        session.add(Contact(external_id="c-1", account_id=acme, name="山田 太郎", email="taro@acme.example"))
    header = [
        "タイムスタンプ",
        "メールアドレス",
        "貴社名を教えてください",
        "kizuna を友人や同僚に勧める可能性はどのくらいありますか？",
        "その理由を教えてください",
    ]
    rows = [
        ["2026/09/30 11:59:59 午後 GMT+9", "taro@acme.example", "", "10", "サポートが早い"],  # Sept 30 in Tokyo
        ["2026/10/01 9:15:02 午前 GMT+9", "someone@beta.example", "Beta Labs", "6", "動作が重い"],
        ["2026/10/02 2:31:45 午後 GMT+9", "", "Gamma 合同会社", "8", ""],
        ["2026/10/15 12:05:00 午前 GMT+9", "x@acme.example", "Acme KK", "9", "便利"],
        ["2026/11/03 12:30:00 午後 GMT+9", "y@beta.example", "Beta Labs", "3", "高い"],
    ]
    path = write_csv(tmp_path / "NPS調査（回答）.csv", header, rows)
    summary = load(hub, "survey_responses", path, "google_forms")
    assert summary.imported == 5
    assert any("not in kizuna" in note for note in summary.notes)  # respondents who are not contacts
    again = load(hub, "survey_responses", path, "google_forms")  # ids made from the cells: no duplicates
    assert again.imported == 0 and again.unchanged == 5
    with hub.transaction() as session:
        responses = session.execute(select(SurveyResponse.responded_at, SurveyResponse.account_id)).all()
    assert min(r.responded_at for r in responses) == dt.datetime(2026, 9, 30, 14, 59, 59, tzinfo=dt.UTC)
    assert {r.account_id for r in responses} >= {acme}  # the first row's account comes from its contact

    refresh_kpis(hub)
    frame = pd.DataFrame(rows, columns=header)
    stamps = frame["タイムスタンプ"].str.replace("午前", "AM").str.replace("午後", "PM").str.replace(" GMT+9", "")
    when = pd.to_datetime(stamps, format="%Y/%m/%d %I:%M:%S %p").dt.tz_localize("Asia/Tokyo")
    expected = expected_nps(frame, when, header[3])
    stored = series(hub, "nps").droplevel("currency").sort_index()
    pd.testing.assert_series_equal(stored, expected, check_names=False, check_index_type=False)


def test_surveymonkey_two_header_rows_give_the_nps_pandas_gives(hub: Runtime, tmp_path: Path) -> None:
    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    question = "How likely is it that you would recommend kizuna to a friend or colleague?"
    top = [
        *SURVEYMONKEY_RESPONDENT,
        "What is your company name?",
        question,
        "Why did you give that score?",
        "Which features do you use?",
        "",
    ]
    second = ["" for _ in SURVEYMONKEY_RESPONDENT] + [
        "Open-Ended Response",
        "Response",
        "Open-Ended Response",
        "Dashboards",
        "Playbooks",
    ]
    answers = [  # respondent, end date, company, score, reason
        ("114000000001", "09/28/2026 10:02:11 AM", "Acme KK", "9", "Great"),
        ("114000000002", "10/02/2026 03:45:00 PM", "Beta Labs", "2", "Too slow"),
        ("114000000003", "10/19/2026 08:00:59 AM", "Gamma 合同会社", "7", ""),
        ("114000000004", "10/30/2026 11:59:00 PM", "Acme KK", "10", "Love it"),
    ]
    rows = [
        [rid, "400000001", end, end, "203.0.113.7", "", "", "", "", company, score, why, "Dashboards", ""]
        for rid, end, company, score, why in answers
    ]
    path = tmp_path / "Data_All_261122.csv"
    write_csv(path, top, [second, *rows])
    summary = load(hub, "survey_responses", path, "surveymonkey", timezone="UTC")
    assert summary.recognised_columns[question] == "score"

    refresh_kpis(hub)
    frame = pd.DataFrame(rows, columns=[*SURVEYMONKEY_RESPONDENT, "company", "score", "why", "f1", "f2"])
    when = pd.to_datetime(frame["End Date"], format="%m/%d/%Y %I:%M:%S %p").dt.tz_localize("UTC")
    expected = expected_nps(frame, when, "score")
    stored = series(hub, "nps").droplevel("currency").sort_index()
    pd.testing.assert_series_equal(stored, expected, check_names=False, check_index_type=False)


def test_surveymonkey_xlsx_and_google_forms_english_export(hub: Runtime, tmp_path: Path) -> None:
    """The XLSX of SurveyMonkey has the same two header rows; Google Forms in English writes 'Timestamp' and 'PM'."""
    import openpyxl

    load(hub, "accounts", write_hubspot_companies(tmp_path), "hubspot")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    question = "How likely are you to recommend kizuna to a colleague?"
    sheet.append([*SURVEYMONKEY_RESPONDENT, "Company name", question])
    sheet.append(["" for _ in SURVEYMONKEY_RESPONDENT] + ["Open-Ended Response", "Response"])
    sheet.append(["114000000009", "400000001", "", "11/02/2026 09:00:00 AM", "", "", "", "", "", "Beta Labs", 4])
    path = tmp_path / "Data_All.xlsx"
    book.save(path)
    summary = load(hub, "survey_responses", path, "surveymonkey", timezone="UTC")
    assert summary.imported == 1 and summary.recognised_columns[question] == "score"

    header = ["Timestamp", "Email Address", "Company name", "How likely is it that you would recommend us?"]
    rows = [["2026/11/03 1:05:00 PM GMT+9", "", "Acme KK", "10"]]
    load(hub, "survey_responses", write_csv(tmp_path / "responses.csv", header, rows), "google_forms")
    with hub.transaction() as session:
        answers = dict(session.execute(select(SurveyResponse.score, SurveyResponse.responded_at)).all())
    assert answers == {
        4: dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
        10: dt.datetime(2026, 11, 3, 4, 5, tzinfo=dt.UTC),
    }
