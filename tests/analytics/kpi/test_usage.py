"""account_usage against hand-computed values (as of 2026-03-01 00:00 UTC)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kizuna.analytics.engine import connect, register_tables
from kizuna.analytics.kpi import account_usage
from kizuna.analytics.kpi.usage import monthly_usage
from kizuna.errors import InvalidInput
from tests.analytics.kpi.hub import d, hub, ts

AS_OF = d("2026-03-01")


def usage_hub() -> dict[str, object]:
    return hub(
        accounts=[{}, {}, {"created_at": ts("2026-03-01 00:00")}, {"created_at": ts("2026-03-02 00:00")}],
        plans=[{}, {"is_addon": True}],
        subscriptions=[
            # account 1: 4 base seats + 3 more on a second base line; the add-on's 50 and the trial's 99 don't count
            {"account_id": 1, "contract_id": "c1", "mrr_minor": 1000, "start_date": d("2026-01-01"), "quantity": 4},
            {
                "account_id": 1,
                "contract_id": "c3",
                "mrr_minor": 500,
                "start_date": d("2026-02-01"),
                "quantity": 3,
                "end_date": d("2026-03-02"),
            },
            {
                "account_id": 1,
                "contract_id": "c2",
                "plan_id": 2,
                "mrr_minor": 1000,
                "start_date": d("2026-01-01"),
                "quantity": 50,
            },
            {
                "account_id": 2,
                "contract_id": "c4",
                "mrr_minor": 0,
                "start_date": d("2026-01-01"),
                "quantity": 99,
                "status": "trial",
            },
            # ended on the cut-off day: not counted
            {
                "account_id": 2,
                "contract_id": "c5",
                "mrr_minor": 100,
                "start_date": d("2025-01-01"),
                "quantity": 5,
                "end_date": d("2026-03-01"),
            },
        ],
        events=[
            {"account_id": 1, "user_id": "u1", "event_name": "login", "timestamp": ts("2026-02-28 10:00")},  # dau
            {"account_id": 1, "user_id": "u1", "feature": "report", "timestamp": ts("2026-02-28 11:00")},
            {"account_id": 1, "user_id": "u2", "feature": "report", "timestamp": ts("2026-02-25 10:00")},  # wau
            {"account_id": 1, "user_id": "u3", "feature": "export", "timestamp": ts("2026-02-01 00:00")},  # 28 d
            {"account_id": 1, "user_id": "u2", "event_name": "login", "timestamp": ts("2026-01-20 10:00")},  # prev
            {"account_id": 1, "user_id": None, "timestamp": ts("2026-02-27 10:00")},  # anonymous: ignored
            {"account_id": 2, "user_id": "u9", "event_name": "login", "timestamp": ts("2025-12-01 09:00")},
            {"account_id": 2, "user_id": "u9", "feature": "export", "timestamp": ts("2026-03-01 00:00")},  # after
            {"account_id": 4, "user_id": "u8", "feature": "admin", "timestamp": ts("2026-02-20 00:00")},
        ],
    )


def test_account_usage_hand_computed() -> None:
    con = connect()
    frame = account_usage(register_tables(con, usage_hub()), AS_OF).to_pandas().set_index("account_id")
    # account 4 was created after the cut-off: absent. Account 3 was created at the cut-off instant: present.
    assert sorted(frame.index) == [1, 2, 3]
    a1 = frame.loc[1]
    assert (a1.dau, a1.wau, a1.mau, a1.active_users_30d) == (1, 2, 3, 3)
    assert a1.seats == 7 and a1.seat_utilisation == pytest.approx(3 / 7)
    # user-days in the last 30 days: u1 on 02-28, u2 on 02-25, u3 on 02-01 -> 3; the 30 days before: u2 on 01-20
    assert (a1.active_user_days_30d, a1.active_user_days_prev_30d) == (3, 1)
    assert a1.avg_dau_30d == pytest.approx(3 / 30)
    assert a1.stickiness == pytest.approx((3 / 30) / 3)
    assert a1.usage_trend == pytest.approx(2.0)
    # features seen by anyone in the window: report, export, admin (account 4 is unknown at the cut-off but its
    # events still show the product's features)
    assert (a1.features_used_30d, a1.features_available) == (2, 3)
    assert a1.adoption_breadth == pytest.approx(2 / 3)
    assert (a1.events_30d, a1.logins_30d, a1.days_since_last_login) == (4, 1, 1)
    a2 = frame.loc[2]
    assert (a2.mau, a2.seats, a2.logins_30d, a2.days_since_last_login) == (0, 0, 0, 90)
    assert math.isnan(a2.seat_utilisation) and math.isnan(a2.stickiness) and math.isnan(a2.usage_trend)
    assert a2.adoption_breadth == 0.0


def test_account_usage_names_missing_column() -> None:
    con = connect()
    tables = register_tables(con, usage_hub())
    tables["events"] = tables["events"].drop("feature")
    with pytest.raises(InvalidInput, match="feature"):
        account_usage(tables, AS_OF)


def test_monthly_usage_hand_computed() -> None:
    frame = monthly_usage(register_tables(connect(), usage_hub()), AS_OF).to_pandas()
    by_month = {m.strftime("%Y-%m"): r for m, r in zip(frame.month, frame.itertuples(), strict=True)}
    # February: account 1 users u1, u2, u3 (the anonymous event counts as an event, not a user), account 4 user u8
    feb = by_month["2026-02"]
    assert (feb.active_users, feb.active_accounts, feb.events, feb.logins) == (4, 2, 6, 1)
    # the 2026-03-01 event is after the cut-off
    assert "2026-03" not in by_month and by_month["2025-12"].logins == 1


def window_hub() -> dict[str, object]:
    """One account, user ``a`` active on days at each window's edges, user ``b`` only in the earlier 30 days."""
    at = [
        ("a", "2026-02-28 23:59", None),  # the day before as_of (dau) ...
        ("a", "2026-02-28 00:00", "login"),  # ... twice: one user-day
        ("a", "2026-02-22 00:00", None),  # first day of the 7 (wau)
        ("a", "2026-02-21 23:59", None),  # the day before it: 30 days only
        ("a", "2026-01-30 00:00", None),  # first day of the last 30
        ("a", "2026-01-29 23:59", None),  # last day of the 30 before
        ("a", "2025-12-31 00:00", None),  # first day of the 30 before
        ("a", "2025-12-30 23:59", None),  # outside both windows
        ("b", "2026-01-15 12:00", None),
    ]
    return hub(
        accounts=[{}],
        events=[
            {"account_id": 1, "user_id": user, "event_name": name or "page_viewed", "timestamp": ts(when)}
            for user, when, name in at
        ],
    )


def test_account_usage_windows_are_half_open_days() -> None:
    row = account_usage(register_tables(connect(), window_hub()), AS_OF).to_pandas().iloc[0]
    assert (row.dau, row.wau, row.mau) == (1, 1, 1)
    # user-days: last 30 = a on 02-28, 02-22, 02-21, 01-30; the 30 before = a on 01-29, 12-31 and b on 01-15
    assert (row.active_user_days_30d, row.active_user_days_prev_30d) == (4, 3)
    assert (row.events_30d, row.logins_30d, row.days_since_last_login) == (5, 1, 1)
    assert row.usage_trend == pytest.approx(4 / 3 - 1)


@pytest.mark.parametrize("make_hub", [usage_hub, window_hub])
def test_prepared_usage_equals_the_direct_computation(make_hub: object) -> None:
    """prepare() materialises the account-months; account_usage and monthly_usage read them and agree."""
    from kizuna.analytics.kpi.intermediates import prepare

    tables = register_tables(connect(), make_hub())  # type: ignore[operator]
    prepared = prepare(tables, AS_OF)
    direct = account_usage(tables, AS_OF).to_pandas().sort_values("account_id", ignore_index=True)
    again = account_usage(prepared, AS_OF).to_pandas().sort_values("account_id", ignore_index=True)
    pd.testing.assert_frame_equal(direct, again)
    pd.testing.assert_frame_equal(monthly_usage(tables, AS_OF).to_pandas(), monthly_usage(prepared, AS_OF).to_pandas())


@pytest.mark.parametrize(
    "engine", ["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")])]
)
def test_month_to_date_equals_the_months_own_grouping(engine: str) -> None:
    """The month holding the cut-off counts its users from the 60-day user activity (bits shifted past 32 on Spark
    too); it equals ``account_month`` of the events before the cut-off, on the month's first day and on later ones."""
    from kizuna.analytics.kpi._common import cutoff
    from kizuna.analytics.kpi.usage import account_month, month_to_date

    hubs = (usage_hub(), window_hub())
    con = connect(engine)  # type: ignore[arg-type]
    for as_of in (d("2026-02-01"), d("2026-02-02"), d("2026-02-25"), d("2026-03-01"), d("2026-03-02")):
        checked = 0
        for data in hubs:
            tables = register_tables(con, data)  # type: ignore[arg-type]
            events = tables["events"]
            own = account_month(events.filter(events.timestamp < cutoff(as_of)), as_of.replace(day=1))
            got, want = (
                frame.to_pandas().sort_values("account_id", ignore_index=True)
                for frame in (month_to_date(tables, as_of), own)
            )
            pd.testing.assert_frame_equal(got, want, check_dtype=False)
            checked += len(want)
        assert checked or as_of.day == 1  # (a month's first day has no events before the cut-off)
