"""Point-in-time measures: counted in the right windows, and blind to anything recorded on or after the date."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kizuna.analytics.scoring.measures import MEASURE_COLUMNS, account_measures
from tests.analytics.risk.simulated import UTC, cut_rows, ibis_hub, shared_rows, shared_tables


def test_a_measure_at_t_does_not_change_when_data_after_t_is_added() -> None:
    as_of = dt.date(2025, 5, 17)
    full = account_measures(shared_tables(), as_of)
    known_then = account_measures(ibis_hub(cut_rows(shared_rows(), before=as_of)), as_of)
    pd.testing.assert_frame_equal(full, known_then)
    # and the check has teeth: a later date sees different data
    later = account_measures(shared_tables(), as_of + dt.timedelta(days=30))
    assert not later.drop(columns="account_id").head(len(full)).equals(full.drop(columns="account_id"))


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_windows_latest_responses_and_subscription_state() -> None:
    rows = {name: [] for name in shared_rows()}
    rows["products"] = [{"id": 1, "external_id": "P", "name": "p", "is_addon": False}]
    rows["plans"] = [
        {
            "id": 1,
            "external_id": "PL",
            "product_id": 1,
            "name": "Pro",
            "is_addon": False,
            "list_price_minor": 1000,
            "currency": "JPY",
            "billing_period_months": 1,
        }
    ]
    rows["accounts"] = [
        {"id": i, "external_id": f"A{i}", "name": f"a{i}", "created_at": _t("2025-01-01")} for i in (1, 2)
    ]
    rows["subscriptions"] = [
        {
            "id": 1,
            "external_id": "S1",
            "contract_id": "C1",
            "account_id": 1,
            "plan_id": 1,
            "quantity": 10,
            "mrr_minor": 10_000,
            "status": "active",
            "start_date": dt.date(2025, 1, 1),
            "end_date": dt.date(2025, 5, 1),
        },
        {
            "id": 2,
            "external_id": "S2",
            "contract_id": "C1",
            "account_id": 1,
            "plan_id": 1,
            "quantity": 5,
            "mrr_minor": 5_000,
            "status": "cancelled",
            "start_date": dt.date(2025, 5, 1),
            "end_date": dt.date(2025, 8, 1),
            "cancelled_at": dt.date(2025, 6, 10),
            "renewal_date": dt.date(2025, 8, 1),
        },
        {
            "id": 3,
            "external_id": "S3",
            "contract_id": "C2",
            "account_id": 2,
            "plan_id": 1,
            "quantity": 3,
            "mrr_minor": 3_000,
            "status": "trial",
            "start_date": dt.date(2025, 1, 1),
            "end_date": None,
        },
    ]
    rows["tickets"] = [
        {"id": i, "external_id": f"T{i}", "account_id": 1, "subject": "s", "priority": p, "opened_at": _t(at)}
        for i, (p, at) in enumerate(
            [
                ("urgent", "2025-03-01 10:00"),
                ("normal", "2025-04-02 10:00"),
                ("high", "2025-06-30 23:59"),
                ("urgent", "2025-07-01 00:00"),
            ],
            start=1,
        )
    ]
    rows["survey_responses"] = [
        {"id": 1, "external_id": "R1", "account_id": 1, "kind": "nps", "score": 9, "responded_at": _t("2025-02-01")},
        {"id": 2, "external_id": "R2", "account_id": 1, "kind": "nps", "score": 3, "responded_at": _t("2025-06-01")},
        {"id": 3, "external_id": "R3", "account_id": 1, "kind": "nps", "score": 10, "responded_at": _t("2025-07-02")},
    ]
    rows["payments"] = [
        {
            "id": 1,
            "external_id": "PY1",
            "invoice_id": 1,
            "account_id": 1,
            "attempted_at": _t("2025-06-15"),
            "amount_minor": 1,
            "status": "failed",
        },
    ]
    rows["invoices"] = [
        {
            "id": 1,
            "external_id": "I1",
            "account_id": 1,
            "issued_on": dt.date(2025, 6, 1),
            "amount_minor": 1,
            "status": "failed",
        }
    ]
    rows["activities"] = [
        {
            "id": 1,
            "external_id": "AC1",
            "account_id": 1,
            "kind": "call",
            "subject": "s",
            "occurred_at": _t("2025-06-21 12:00"),
        }
    ]
    m = account_measures(ibis_hub(rows), dt.date(2025, 7, 1)).set_index("account_id")
    assert list(m.columns) == list(MEASURE_COLUMNS)
    one, two = m.loc[1], m.loc[2]
    # tickets opened in [as_of - 90 days, as_of): 2025-04-02 and 2025-06-30; the one at 00:00 on as_of is not known
    assert (one.tickets_90d, one.severe_tickets_90d) == (2, 1)
    assert one.nps_latest == 3  # the newest response before as_of
    assert one.failed_payments_90d == 1
    assert one.days_since_csm_touch == pytest.approx(9.5)
    assert bool(one.active) and bool(one.notice_given)
    assert (one.mrr_minor, one.contract_seats, one.days_to_renewal) == (5000, 5, 0)  # monthly term: renews today
    assert one.mrr_change_90d == pytest.approx(-0.5)  # 5,000 now vs 10,000 on 2025-04-02
    assert one.tenure_days == 181
    assert not bool(two.active) and pd.isna(two.mrr_minor)  # a trial is not a paid subscription


def test_days_to_renewal_comes_from_the_contract_terms_not_the_current_renewal_date() -> None:
    rows = {name: [] for name in shared_rows()}
    rows["products"] = [{"id": 1, "external_id": "P", "name": "p", "is_addon": False}]
    rows["plans"] = [
        {
            "id": 1,
            "external_id": "PL",
            "product_id": 1,
            "name": "Pro",
            "is_addon": False,
            "list_price_minor": 1000,
            "currency": "JPY",
            "billing_period_months": 12,
        }
    ]
    rows["accounts"] = [
        {"id": i, "external_id": f"A{i}", "name": f"a{i}", "created_at": _t("2024-01-01")} for i in (1, 2, 3)
    ]
    # two annual contracts started 2024-04-01; one renewed since (renewal_date now 2026-04-01), one is ending
    # (renewal_date 2025-04-01); as of 2024-10-01 both were equally far from their renewal
    rows["subscriptions"] = [
        {
            "id": i,
            "external_id": f"S{i}",
            "contract_id": f"C{i}",
            "account_id": i,
            "plan_id": 1,
            "quantity": 1,
            "mrr_minor": 1000,
            "status": "active",
            "term_months": term,
            "start_date": dt.date(2024, 4, 1),
            "end_date": end,
            "renewal_date": renewal,
        }
        for i, term, end, renewal in [
            (1, 12, None, dt.date(2026, 4, 1)),
            (2, 12, dt.date(2025, 4, 1), dt.date(2025, 4, 1)),
            (3, 1, None, dt.date(2026, 1, 1)),
        ]
    ]
    m = account_measures(ibis_hub(rows), dt.date(2024, 10, 1), include_usage=False).set_index("account_id")
    assert m["days_to_renewal"].tolist() == [182, 182, 0]
    m = account_measures(ibis_hub(rows), dt.date(2024, 10, 2), include_usage=False).set_index("account_id")
    assert m["days_to_renewal"].tolist() == [181, 181, 30]


def test_voc_sentiment_is_the_text_layers_measure_known_at_the_start_of_the_day() -> None:
    from kizuna.analytics.text.outcomes import account_voc_sentiment

    as_of = dt.date(2025, 5, 17)
    tables = shared_tables()
    ids = account_measures(tables, as_of, include_usage=False)["account_id"].head(2).tolist()
    a, b = ids
    known = pd.DataFrame(
        {
            "account_id": [a, a, b],
            "date": [_t("2025-05-16T23:59:59"), _t("2025-03-01T09:00:00"), _t("2025-04-10T12:00:00")],
            "score": [-2.0, 1.0, 0.5],
        }
    )
    # recorded at 00:00 on the day and after it: not known yet
    later = pd.DataFrame(
        {"account_id": [a, b], "date": [_t("2025-05-17T00:00:00"), _t("2025-06-01T10:00:00")], "score": [9.0, -9.0]}
    )
    got = account_measures(tables, as_of, include_usage=False, voc_scores=pd.concat([known, later]))
    expected = account_voc_sentiment(known, as_of=_t("2025-05-17T00:00:00")).set_index("account_id")
    by_account = got.set_index("account_id")["voc_sentiment"]
    assert by_account[a] == pytest.approx(expected.loc[a, "voc_sentiment"]) and by_account[a] < 0
    assert by_account[b] == pytest.approx(0.5)
    assert by_account.drop([a, b]).isna().all()
    # a stored per-account measure is used as is
    stored = pd.DataFrame({"account_id": [b], "voc_sentiment": [-0.25]})
    got = account_measures(tables, as_of, include_usage=False, voc_scores=known, voc_sentiment=stored)
    by_account = got.set_index("account_id")["voc_sentiment"]
    assert by_account[b] == -0.25 and pd.isna(by_account[a])


def test_measures_over_time_equal_each_dates_own_measures() -> None:
    """Many dates in one pass (each part joined to the dates, usage windows by day number) give every date's
    measures exactly as that date alone; the months' last logins from rollups give the same as from the events."""
    from kizuna.analytics.kpi.usage import account_months
    from kizuna.analytics.scoring.measures import measures_over_time

    tables = shared_tables()
    dates = [dt.date(2025, 12, 31) - dt.timedelta(days=45 * k) for k in range(12)]  # out of order on purpose
    dates.insert(3, dt.date(2024, 2, 29))
    together = measures_over_time(tables, dates)
    assert together["as_of"].drop_duplicates().tolist() == dates
    one_by_one = pd.concat([measures_over_time(tables, [day]) for day in dates], ignore_index=True)
    pd.testing.assert_frame_equal(together, one_by_one)
    assert together["days_since_last_login"].notna().any() and together["features_used_30d"].gt(0).any()
    months = account_months(tables, max(dates)).to_pandas()
    with_rollups = measures_over_time(tables, dates, usage_months=months)
    pd.testing.assert_frame_equal(with_rollups, together)


def _email_rows() -> dict[str, list[dict[str, object]]]:
    """Three accounts; the first wrote twice (unhappy, then less so), the second only through another channel, the
    third joined later; one e-mail after the date and one on no account; a customer's e-mail read in as an
    activity beside a CSM's call."""
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in shared_rows()}
    rows["accounts"] = [
        {"id": 1, "external_id": "A1", "name": "さくら", "created_at": _t("2025-01-01")},
        {"id": 2, "external_id": "A2", "name": "もみじ", "created_at": _t("2025-01-01")},
        {"id": 3, "external_id": "A3", "name": "かえで", "created_at": _t("2025-04-20")},
    ]
    entries = [  # id, account, channel, recorded at, sentiment
        (1, 1, "email", "2025-03-01T10:00", -0.8),
        (2, 1, "email", "2025-05-10T12:00", -0.2),
        (3, 2, "web_inquiry", "2025-04-01T09:00", 0.9),
        (4, 1, "email", "2025-05-17T00:00", 0.9),  # at the cut-off: not known yet
        (5, None, "email", "2025-02-01T08:00", 0.5),  # on no account: not the company's first customer e-mail
        (6, 1, "email", "2025-01-20T08:00", 0.7),  # more than 90 days before: silence counts it, tone does not
    ]
    for entry_id, account_id, channel, at, score in entries:
        rows["voc_entries"].append(
            {"id": entry_id, "external_id": f"V{entry_id}", "account_id": account_id, "channel": channel,
             "text": "…", "language": "ja", "recorded_at": _t(at)}
        )  # fmt: skip
        rows["voc_text_analysis"].append(
            {"id": entry_id, "entry_id": entry_id, "sentiment_score": score, "sentiment_label": "x", "language": "ja"}
        )
    rows["activities"] = [
        {"id": 1, "external_id": "CALL-1", "account_id": 2, "kind": "call", "subject": "定例",
         "occurred_at": _t("2025-04-01T00:00")},
        {"id": 2, "external_id": "mail:<m@momiji>", "account_id": 2, "kind": "email", "subject": "質問",
         "occurred_at": _t("2025-05-01T00:00")},
    ]  # fmt: skip
    return rows


def test_email_silence_and_tone_are_read_from_the_customers_mail_before_the_date() -> None:
    rows = _email_rows()
    as_of = dt.date(2025, 5, 17)
    frame = account_measures(ibis_hub(rows), as_of, include_usage=False).set_index("account_id")
    assert sorted(frame.index) == [1, 2, 3]
    days = frame["days_since_customer_email"]
    assert days[1] == pytest.approx(6.5)  # 10 May 12:00 to 17 May 00:00
    assert days[2] == pytest.approx(116 + 16 / 24)  # never wrote: silent since the company's first e-mail (20 Jan)
    assert days[3] == pytest.approx(27)  # never wrote, created after that: silent since it joined (20 April)
    tone = frame["email_sentiment"]
    assert tone[1] == pytest.approx(-0.5)  # the two e-mails of the 90 days before; not the one of 17 May
    assert pd.isna(tone[2]) and pd.isna(tone[3])  # no e-mail: no tone (the web inquiry is not an e-mail)
    assert frame.loc[2, "days_since_csm_touch"] == pytest.approx(46)  # the call; the customer's e-mail is no touch
    # leak-free: the same from the rows cut at the date
    cut = account_measures(ibis_hub(cut_rows(rows, before=as_of)), as_of, include_usage=False)
    pd.testing.assert_frame_equal(frame.reset_index(), cut)


def test_without_customer_email_before_the_date_the_email_measures_are_no_data() -> None:
    rows = _email_rows()
    early = account_measures(ibis_hub(rows), dt.date(2025, 1, 15), include_usage=False)
    assert early["days_since_customer_email"].isna().all() and early["email_sentiment"].isna().all()
    rows["voc_entries"] = [r for r in rows["voc_entries"] if r["channel"] != "email"]
    none = account_measures(ibis_hub(rows), dt.date(2025, 5, 17), include_usage=False)
    assert none["days_since_customer_email"].isna().all() and none["email_sentiment"].isna().all()
