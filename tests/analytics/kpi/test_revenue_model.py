"""Trials, pauses, currencies with dated exchange rates and cancellation notices: the snapshot's series equal an
independent pandas computation of the definitions in docs/metrics.md, on a small hand-made hub.

The hub (as of 2026-06-15; base currency JPY; USD 150 from 01-01 and 140 from 03-01, EUR 160 from 01-01, no GBP
rate):

A1 JPY  trial 01-05..02-01, paid 10,000 from 02-01, paused 04-01..05-01, paid again from 05-01
A2 USD  $100 from 01-01 (150 -> ¥15,000); $120 from 03-10 (140 -> ¥16,800), notice 05-20, service to 07-01
A3 JPY  trial 02-10..03-10, never paid (expired)
A4 EUR  €50 from 02-01 (160 -> ¥8,000), notice 03-01, ends 04-01 (churn)
A5 JPY  trial from 05-25, open
A6 USD  trial 03-01..03-31, paid $20 on a new contract from 04-15 (within the 30 days' grace; 140 -> ¥2,800)
A7 GBP  £10 from 01-01: no rate, so only in its own currency
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi import fx
from kizuna.analytics.kpi.snapshot import compute_snapshot
from tests.analytics.kpi.hub import d, hub, ts

AS_OF = dt.date(2026, 6, 15)
MONTHS = [dt.date(2026, m, 1) for m in range(1, 7)]
EXPONENT = {"JPY": 0, "USD": 2, "EUR": 2, "GBP": 2}
RATES = [("2026-01-01", "USD", 150.0), ("2026-03-01", "USD", 140.0), ("2026-01-01", "EUR", 160.0)]
PRO, ADDON = 1, 2


def _line(account: int, contract: str, mrr: int, start: str, end: str | None, currency: str = "JPY", **kw: Any) -> dict:
    return {
        "account_id": account,
        "contract_id": contract,
        "mrr_minor": mrr,
        "currency": currency,
        "start_date": d(start),
        "end_date": d(end) if end else None,
        **kw,
    }


LINES = [
    _line(1, "t1", 0, "2026-01-05", "2026-02-01", status="trial"),
    _line(1, "c1", 10_000, "2026-02-01", "2026-04-01"),
    _line(1, "c1", 10_000, "2026-04-01", "2026-05-01", status="paused"),
    _line(1, "c1", 10_000, "2026-05-01", None),
    _line(2, "c2", 10_000, "2026-01-01", "2026-03-10", "USD"),
    _line(2, "c2", 12_000, "2026-03-10", "2026-07-01", "USD", status="cancelled", cancelled_at=d("2026-05-20")),
    _line(3, "t3", 0, "2026-02-10", "2026-03-10", status="trial"),
    _line(4, "c4", 5_000, "2026-02-01", "2026-04-01", "EUR", status="churned", cancelled_at=d("2026-03-01")),
    _line(5, "t5", 0, "2026-05-25", None, status="trial", plan_id=ADDON),
    _line(6, "t6", 0, "2026-03-01", "2026-03-31", "USD", status="trial"),
    _line(6, "c6", 2_000, "2026-04-15", None, "USD"),
    _line(7, "c7", 1_000, "2026-01-01", None, "GBP"),
]


def revenue_model_hub() -> dict[str, Any]:
    return hub(
        accounts=[{} for _ in range(7)],
        plans=[{"name": "Pro"}, {"name": "Analytics"}],
        subscriptions=LINES,
        fx_rates=[{"date": d(day), "currency": cur, "rate": rate} for day, cur, rate in RATES],
    )


# ---- the independent computation (pandas, straight from the definitions) ----


def _status(line: dict) -> str:
    return str(line.get("status", "active"))


def _rate(currency: str, day: dt.date) -> float | None:
    known = sorted((dt.date.fromisoformat(x), r) for x, c, r in RATES if c == currency)
    if not known:
        return None
    before = [r for x, r in known if x <= day]
    return before[-1] if before else known[0][1]


def _to_base(minor: int, currency: str, day: dt.date) -> int | None:
    if currency == "JPY":
        return minor
    rate = _rate(currency, day)
    if rate is None:
        return None
    value = minor * rate * 10.0 ** (EXPONENT["JPY"] - EXPONENT[currency])
    return math.floor(value + 0.5)  # half away from zero (amounts are positive)


def _snapshot_day(month: dt.date) -> dt.date:
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return min(nxt - dt.timedelta(days=1), AS_OF)


def _valid(line: dict, day: dt.date) -> bool:
    return line["start_date"] <= day and (line["end_date"] is None or line["end_date"] > day)


def expected_movements(currency: str | None) -> pd.DataFrame:
    """Month-end MRR and movements per month; ``currency=None``: every convertible line in JPY."""
    rows = []
    for account in sorted({x["account_id"] for x in LINES}):
        lines = [x for x in LINES if x["account_id"] == account and (currency is None or x["currency"] == currency)]
        mrr, paused = {}, {}
        for m in MONTHS:
            day = _snapshot_day(m)
            total = 0
            for x in lines:
                if not _valid(x, day) or _status(x) in ("trial", "paused"):
                    continue
                amount = x["mrr_minor"] if currency else _to_base(x["mrr_minor"], x["currency"], x["start_date"])
                total += amount or 0
            mrr[m] = total
            paused[m] = any(_valid(x, day) and _status(x) == "paused" for x in lines)
        paying = [m for m in MONTHS if mrr[m] > 0]
        for i, m in enumerate(MONTHS):
            start = mrr[MONTHS[i - 1]] if i else 0
            then = paused[MONTHS[i - 1]] if i else False
            end, now = mrr[m], paused[m]
            if start == 0 and end == 0:
                continue
            if start == 0 and m == paying[0]:
                kind = "new"
            elif start == 0:
                kind = "resume" if then else "reactivation"
            elif end < start and now and not then:
                kind = "pause"
            elif end == 0:
                kind = "churn"
            elif end > start:
                kind = "resume" if then and not now else "expansion"
            elif end < start:
                kind = "contraction"
            else:
                kind = "flat"
            rows.append({"account_id": account, "month": m, "start": start, "end": end, "kind": kind})
    return pd.DataFrame(rows)


def expected_summary(currency: str | None) -> pd.DataFrame:
    mv = expected_movements(currency)
    out = []
    for m in MONTHS:
        f = mv[mv.month == m]
        delta = f.end - f.start
        row = {
            "month": m,
            "mrr_minor": f.end.sum(),
            "mrr_start_minor": f.start.sum(),
            "customers": (f.end > 0).sum(),
            "customers_start": (f.start > 0).sum(),
        }
        for kind in ("new", "expansion", "contraction", "churn", "reactivation", "pause", "resume"):
            row[f"{kind}_minor"] = delta[f.kind == kind].sum()
        row["paused_customers"] = (f.kind == "pause").sum()
        row["resumed_customers"] = (f.kind == "resume").sum()
        row["churned_customers"] = (f.kind == "churn").sum()
        out.append(row)
    return pd.DataFrame(out).set_index("month").astype("float64")


def expected_scheduled(currency: str | None) -> pd.DataFrame:
    out = []
    for m in MONTHS:
        day = _snapshot_day(m)
        mine = [x for x in LINES if currency is None or x["currency"] == currency]

        def base(x: dict) -> int:
            return x["mrr_minor"] if currency else (_to_base(x["mrr_minor"], x["currency"], x["start_date"]) or 0)

        convertible = [x for x in mine if currency or _rate(x["currency"], x["start_date"]) or x["currency"] == "JPY"]
        paused = [x for x in convertible if _status(x) == "paused" and _valid(x, day)]
        noticed = [
            x
            for x in convertible
            if _status(x) not in ("trial", "paused") and x.get("cancelled_at") and _valid(x, day)
            if x["cancelled_at"] <= day
        ]
        given = [x for x in convertible if x.get("cancelled_at") and x["cancelled_at"].replace(day=1) == m]
        ended = [
            x
            for x in convertible
            if x.get("cancelled_at") and x["end_date"] and x["end_date"].replace(day=1) == m and x["end_date"] <= AS_OF
        ]
        out.append(
            {
                "month": m,
                "customers_on_pause": len({x["account_id"] for x in paused}),
                "mrr_on_pause_minor": sum(base(x) for x in paused),
                "churn_scheduled_customers": len({x["account_id"] for x in noticed}),
                "churn_scheduled_mrr_minor": sum(base(x) for x in noticed),
                "notices_given": len(given),
                "avg_notice_days": (
                    sum((x["end_date"] - x["cancelled_at"]).days for x in ended) / len(ended) if ended else math.nan
                ),
            }
        )
    return pd.DataFrame(out).set_index("month").astype("float64")


def expected_trials(lines: list[dict] | None = None) -> pd.DataFrame:
    lines = LINES if lines is None else lines
    rows = []
    for t in (x for x in lines if _status(x) == "trial"):
        firsts: dict[str, dt.date] = {}
        for x in lines:
            if _status(x) not in ("trial", "paused"):
                firsts[x["contract_id"]] = min(firsts.get(x["contract_id"], x["start_date"]), x["start_date"])
        limit = t["end_date"] + dt.timedelta(days=30) if t["end_date"] else dt.date.max
        paid = [
            x["start_date"]
            for x in lines
            if x["account_id"] == t["account_id"]
            and _status(x) not in ("trial", "paused")
            and t["start_date"] <= x["start_date"] <= min(limit, AS_OF)
            and (x["contract_id"] == t["contract_id"] or x["start_date"] == firsts[x["contract_id"]])
        ]
        converted = min(paid) if paid else None
        outcome = "converted" if converted else ("expired" if t["end_date"] and t["end_date"] <= AS_OF else "open")
        days = (converted - t["start_date"]).days if converted else None
        rows.append({"month": t["start_date"].replace(day=1), "outcome": outcome, "days": days})
    f = pd.DataFrame(rows)
    g = f.groupby("month")
    out = pd.DataFrame(
        {
            "trials_started": g.size(),
            "trials_converted": g.outcome.apply(lambda s: (s == "converted").sum()),
            "trials_expired": g.outcome.apply(lambda s: (s == "expired").sum()),
            "trials_open": g.outcome.apply(lambda s: (s == "open").sum()),
        }
    )
    decided = out.trials_converted + out.trials_expired
    out["trial_conversion_rate"] = (out.trials_converted / decided).where(decided > 0)
    for name, q in (("p25", 0.25), ("median", 0.5), ("p75", 0.75)):
        out[f"{name}_days_to_convert"] = g.days.quantile(q)  # pandas' linear interpolation, over converted trials
    return out.astype("float64")


# ---- the comparison ----


def _wide(series: pd.DataFrame, *, currency: str, dimension: str = "", value: str = "") -> pd.DataFrame:
    rows = series[(series.currency == currency) & (series.dimension == dimension) & (series.dimension_value == value)]
    return rows.pivot_table(index="month", columns="metric", values="value", aggfunc="first", dropna=False)


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    tables = register_tables(connect("duckdb"), revenue_model_hub())
    return compute_snapshot(tables, AS_OF, gross_margin=0.8, base_currency="JPY")


def _check(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.reindex(index=want.index, columns=want.columns).fillna(0)
    pd.testing.assert_frame_equal(got, want.fillna(0), check_names=False, check_freq=False)


def test_totals_are_in_the_base_currency_at_each_version_s_rate(snapshot: dict[str, Any]) -> None:
    got = _wide(snapshot["series"], currency="JPY")
    _check(got, expected_summary(None))
    assert got.loc[dt.date(2026, 1, 1), "mrr_minor"] == 15_000  # A2's $100 at 150; A7's pounds have no rate
    # A1, A2's new version at 140, A4 still paid
    assert got.loc[dt.date(2026, 3, 1), "mrr_minor"] == 10_000 + 16_800 + 8_000


def test_each_currency_keeps_its_own_amounts(snapshot: dict[str, Any]) -> None:
    series = snapshot["series"]
    for currency in ("JPY", "USD", "EUR", "GBP"):
        _check(_wide(series, currency=currency, dimension="currency", value=currency), expected_summary(currency))
    assert _wide(series, currency="GBP", dimension="currency", value="GBP").mrr_minor.tolist() == [1000.0] * 6


def test_a_pause_is_neither_churn_nor_mrr_and_its_end_is_no_reactivation(snapshot: dict[str, Any]) -> None:
    got = _wide(snapshot["series"], currency="JPY")
    april, may = dt.date(2026, 4, 1), dt.date(2026, 5, 1)
    assert got.loc[april, "pause_minor"] == -10_000 and got.loc[april, "paused_customers"] == 1
    assert got.loc[may, "resume_minor"] == 10_000 and got.loc[may, "reactivation_minor"] == 0
    # A4's EUR churn in April is churn; A1's pause is not
    assert got.loc[april, "churned_customers"] == 1 and got.loc[april, "churn_minor"] == -8_000


def test_notices_and_churn_scheduled(snapshot: dict[str, Any]) -> None:
    series = snapshot["series"]
    want = expected_scheduled(None)
    _check(_wide(series, currency="JPY")[list(want.columns)], want)
    usd = _wide(series, currency="USD", dimension="currency", value="USD")
    _check(usd[list(want.columns)], expected_scheduled("USD"))
    may = _wide(series, currency="JPY").loc[dt.date(2026, 5, 1)]
    assert may.churn_scheduled_mrr_minor == 16_800 and may.notices_given == 1


def test_trials_started_converted_expired_and_time_to_convert(snapshot: dict[str, Any]) -> None:
    got = _wide(snapshot["series"], currency="")
    want = expected_trials()
    _check(got[list(want.columns)].dropna(how="all"), want)
    by_plan = _wide(snapshot["series"], currency="", dimension="plan", value="Analytics")
    assert by_plan.loc[dt.date(2026, 5, 1), "trials_open"] == 1


# many trials in two months: 3, 10, 11, 30 and 40 days to convert in January (one expired, one slow at 58 days
# within the grace), 4 and 9 in February
TRIAL_DAYS = {dt.date(2026, 1, 5): [3, 10, 11, 30, 40, 58], dt.date(2026, 2, 3): [4, 9]}


def _many_trials() -> list[dict]:
    lines, account = [], 0
    for start, waits in TRIAL_DAYS.items():
        for wait in waits:
            account += 1
            begin = dt.date.isoformat(start)
            end = dt.date.isoformat(start + dt.timedelta(days=30))
            lines.append(_line(account, f"t{account}", 0, begin, end, status="trial"))
            paid = dt.date.isoformat(start + dt.timedelta(days=wait))
            lines.append(_line(account, f"c{account}", 1_000, paid, None))
        account += 1
        lines.append(_line(account, f"t{account}", 0, begin, end, status="trial"))  # expired
    return lines


def test_time_to_convert_is_the_median_and_quartiles_of_the_converted_trials() -> None:
    from kizuna.analytics.kpi import trials

    lines = _many_trials()
    tables = register_tables(connect("duckdb"), hub(accounts=[{} for _ in range(10)], subscriptions=lines))
    got = trials.trial_summary(tables, AS_OF).to_pandas()
    got = got.assign(month=pd.to_datetime(got.month).dt.date).set_index("month").astype("float64")
    want = expected_trials(lines)
    _check(got[list(want.columns)], want)
    january = got.loc[dt.date(2026, 1, 1)]
    # six converted: 3 10 11 30 40 58 -> median (11 + 30) / 2, p25 at 1.25 (10 + 0.25), p75 at 3.75 (30 + 7.5)
    assert (january.median_days_to_convert, january.p25_days_to_convert, january.p75_days_to_convert) == (
        20.5,
        10.25,
        37.5,
    )
    assert january.trials_expired == 1 and got.loc[dt.date(2026, 2, 1)].median_days_to_convert == 6.5


def test_conversion_reports_what_it_could_not_convert() -> None:
    tables = register_tables(connect("duckdb"), revenue_model_hub())
    conversion = fx.in_base_currency(tables, AS_OF, base="JPY")
    assert (conversion.currency, conversion.currencies, conversion.unconverted) == (
        "JPY",
        ("EUR", "GBP", "JPY", "USD"),
        ("GBP",),
    )
    # a company billing in one currency with no rate reports in it; one in the base currency converts nothing
    only_usd = hub(accounts=[{}], subscriptions=[_line(1, "c", 100, "2026-01-01", None, "USD")])
    one = fx.in_base_currency(register_tables(connect("duckdb"), only_usd), AS_OF, base="JPY")
    assert (one.currency, one.converted) == ("USD", False)


def test_each_currency_s_own_movements_reuse_the_converted_pass_where_nothing_was_converted() -> None:
    from kizuna.analytics.kpi import revenue
    from tests.analytics.kpi.parity import normalise

    tables = register_tables(connect("duckdb"), revenue_model_hub())
    converted = revenue.prepare_revenue(fx.in_base_currency(tables, AS_OF, base="JPY").tables, AS_OF)
    reused = fx.own_currency_movements(tables, converted, AS_OF, base="JPY")
    want = normalise(revenue.mrr_movements(revenue.prepare_movements(tables, AS_OF), AS_OF))
    got = normalise(revenue.mrr_movements(reused, AS_OF))
    assert set(got.account_id) == {1, 2, 4, 6, 7}  # A1 (yen only) from the converted pass, the others again
    pd.testing.assert_frame_equal(got, want, check_exact=True)


# a longer history (so that the trailing 12 months have pairs), involuntary churn and a pause, in yen only
# (taken from the converted pass) and beside dollars (computed again); GBP has no rate
LONG = [
    _line(1, "c1", 10_000, "2025-01-01", "2025-09-01"),
    _line(1, "c1", 12_000, "2025-09-01", None),
    _line(2, "c2", 5_000, "2025-02-01", "2026-03-01", cancellation_reason="payment_failed"),
    _line(2, "c2u", 10_000, "2025-03-01", None, "USD"),
    _line(3, "c3", 5_000, "2025-01-01", "2025-10-01", "USD", cancellation_reason="payment_failed"),
    _line(4, "c4", 8_000, "2025-01-15", "2026-02-01"),
    _line(4, "c4", 8_000, "2026-02-01", "2026-03-01", status="paused"),
    _line(4, "c4", 9_000, "2026-03-01", None, cancelled_at=d("2026-05-01")),
    _line(5, "c5", 1_000, "2025-01-01", None, "GBP"),
    _line(6, "c6", 7_000, "2025-06-01", "2026-01-01"),
    _line(7, "c7", 3_000, "2025-04-01", "2025-12-01", "USD"),
    _line(7, "c7j", 2_000, "2025-04-01", None, status="paused"),
]
LONG_PAYMENTS = [
    {"account_id": 6, "attempted_at": ts("2025-12-20 09:00"), "status": "failed"},
    {"account_id": 7, "attempted_at": ts("2025-11-20 09:00"), "status": "failed"},
    {"account_id": 1, "attempted_at": ts("2025-12-20 09:00"), "status": "succeeded"},
]


def _long_hub() -> dict[str, Any]:
    return hub(
        accounts=[{} for _ in range(7)],
        plans=[{"name": "Pro"}, {"name": "Analytics"}],
        subscriptions=LONG,
        payments=LONG_PAYMENTS,
        fx_rates=[
            {"date": d("2025-01-01"), "currency": "USD", "rate": 150.0},
            {"date": d("2025-07-01"), "currency": "USD", "rate": 145.0},
        ],
    )


def test_each_currency_s_summary_and_retention_reuse_the_converted_pass_where_nothing_was_converted() -> None:
    from kizuna.analytics.kpi import revenue
    from tests.analytics.kpi.parity import normalise

    tables = register_tables(connect("duckdb"), _long_hub())
    converted = revenue.prepare_revenue(fx.in_base_currency(tables, AS_OF, base="JPY").tables, AS_OF)
    reused = fx.own_currency_movements(tables, converted, AS_OF, base="JPY")
    full = revenue.prepare_movements(tables, AS_OF)
    got = normalise(revenue.mrr_movements(reused, AS_OF))
    assert set(got.account_id) == {1, 2, 3, 4, 5, 6, 7}
    assert got.involuntary.sum() >= 2 and set(got.movement) >= {"pause", "resume", "churn", "expansion"}
    pd.testing.assert_frame_equal(got, normalise(revenue.mrr_movements(full, AS_OF)), check_exact=True)
    pairs = normalise(revenue.retention_pairs(reused, AS_OF))
    assert {1, 2, 4} <= set(pairs.account_id) and set(pairs.currency) == {"JPY", "USD", "GBP"}
    pd.testing.assert_frame_equal(pairs, normalise(revenue.retention_pairs(full, AS_OF)), check_exact=True)
    summary = normalise(revenue.mrr_summary(reused, AS_OF))
    assert summary.grr_12m.notna().any()
    pd.testing.assert_frame_equal(summary, normalise(revenue.mrr_summary(full, AS_OF)), check_exact=True)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_agree_on_trials_pauses_currencies_and_notices() -> None:
    from kizuna.analytics.kpi import revenue, scheduled, trials
    from tests.analytics.kpi.parity import normalise

    def run(con: Any) -> dict[str, pd.DataFrame]:
        tables = register_tables(con, revenue_model_hub())
        base = fx.in_base_currency(tables, AS_OF, base="JPY").tables
        # each currency's own movements: the converted pass's for accounts billed only in yen, the others' again
        reused = fx.own_currency_movements(tables, revenue.prepare_revenue(base, AS_OF), AS_OF, base="JPY")
        return {
            "summary_own_reused": normalise(revenue.mrr_summary(reused, AS_OF)),
            "movements_base": normalise(revenue.mrr_movements(base, AS_OF)),
            "summary_base": normalise(revenue.mrr_summary(base, AS_OF, by_each=["plan"])),
            "summary_own": normalise(revenue.mrr_summary(tables, AS_OF)),
            "scheduled": normalise(scheduled.scheduled_changes(base, AS_OF)),
            "trials": normalise(trials.trial_summary(tables, AS_OF, by_each=["plan"])),
            "trial_quantiles": normalise(
                trials.trial_summary(
                    register_tables(con, hub(accounts=[{} for _ in range(10)], subscriptions=_many_trials())), AS_OF
                )
            ),
            "trial_outcomes": normalise(trials.trial_outcomes(tables, AS_OF)),
        }

    duck, spark = run(connect("duckdb")), run(connect("spark"))
    pd.testing.assert_frame_equal(duck["summary_own_reused"], duck["summary_own"], check_exact=True)
    for name, frame in duck.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(frame, spark[name], check_dtype=False, check_exact=True, obj=name)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_agree_on_each_currency_s_summary_from_the_converted_pass() -> None:
    from kizuna.analytics.kpi import revenue
    from tests.analytics.kpi.parity import normalise

    def run(con: Any) -> pd.DataFrame:
        tables = register_tables(con, _long_hub())
        base = revenue.prepare_revenue(fx.in_base_currency(tables, AS_OF, base="JPY").tables, AS_OF)
        return normalise(revenue.mrr_summary(fx.own_currency_movements(tables, base, AS_OF, base="JPY"), AS_OF))

    duck, spark = run(connect("duckdb")), run(connect("spark"))
    assert duck.grr_12m.notna().any()
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, check_exact=True)
