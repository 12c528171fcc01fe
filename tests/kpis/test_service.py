"""Writing and reading KPI snapshots on SQLite and PostgreSQL (rolled back after each test)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Date, bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.errors import NotFound
from kizuna.kpis import service
from kizuna.kpis.models import AccountMetrics
from tests import factories

D1, D2 = dt.date(2026, 5, 31), dt.date(2026, 6, 30)


def _series(value: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("mrr_minor", dt.date(2026, 5, 1), "JPY", "", "", value),
            ("mrr_minor", dt.date(2026, 5, 1), "JPY", "plan", "Pro", value),
            ("nps", dt.date(2026, 5, 1), "", "", "", float("nan")),
        ],
        columns=list(service.SERIES_COLUMNS),
    )


def test_replace_and_load_snapshot(session: Session) -> None:
    account = factories.account(session)
    tables = {"cohort_retention": pd.DataFrame({"cohort_month": [dt.date(2026, 1, 1)], "period": [0], "x": [0.5]})}
    accounts = pd.DataFrame(
        {
            "account_id": [account.id],
            "mrr_minor": [1200],
            "arr_minor": [14400],
            "seats": [3],
            "stickiness": [float("nan")],
            "not_a_column": ["ignored"],
        }
    )
    counts = service.replace_snapshot(
        session, actor="test", as_of=D1, series=_series(1000.0), tables=tables, accounts=accounts
    )
    assert counts == {"kpi_series": 3, "kpi_tables": 1, "account_metrics": 1}
    # replacing the same as-of date replaces, never duplicates
    service.replace_snapshot(session, actor="test", as_of=D1, series=_series(2000.0), tables=tables, accounts=accounts)
    total = service.load_kpi(session, names=["mrr_minor"])
    assert list(total.value) == [2000.0] and total.month.iloc[0] == dt.date(2026, 5, 1)
    by_plan = service.load_kpi(session, names=["mrr_minor"], by="plan")
    assert list(by_plan.dimension_value) == ["Pro"]
    assert service.load_kpi(session, names=["nps"]).value.isna().all()
    cohort = service.load_table(session, name="cohort_retention")
    assert cohort.to_dict("records") == [{"cohort_month": "2026-01-01", "period": 0, "x": 0.5}]
    acc = service.load_account_metrics(session)
    assert acc.loc[0, "mrr_minor"] == 1200 and acc.loc[0, "as_of"] == D1 and pd.isna(acc.loc[0, "stickiness"])
    assert service.metric_names(session) == ["cohort_retention", "mrr_minor", "nps"]
    audits = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "kpi_snapshot")).all()
    assert len(audits) == 2 and audits[0].entity_id == "2026-05-31"


def test_older_snapshot_keeps_newer_account_metrics(session: Session) -> None:
    account = factories.account(session)
    newer = pd.DataFrame({"account_id": [account.id], "mrr_minor": [5]})
    older = pd.DataFrame({"account_id": [account.id], "mrr_minor": [1]})
    service.replace_snapshot(session, actor="t", as_of=D2, series=_series(1.0), tables={}, accounts=newer)
    counts = service.replace_snapshot(session, actor="t", as_of=D1, series=_series(1.0), tables={}, accounts=older)
    assert counts["account_metrics"] == 0
    assert service.load_account_metrics(session).mrr_minor.tolist() == [5]
    # as_of picks the snapshot taken on or before the date
    assert service.load_kpi(session, as_of=dt.date(2026, 6, 1)).as_of.iloc[0] == D1
    with pytest.raises(NotFound, match="refresh"):
        service.load_kpi(session, as_of=dt.date(2020, 1, 1))
    with pytest.raises(NotFound, match="nothing"):
        service.load_table(session, name="nothing")


def test_snapshot_stores_edge_values_as_a_core_insert_of_plain_values_does(session: Session) -> None:
    """The bulk paths (sqlite3 executemany, psycopg COPY) store what SQLAlchemy stored from plain Python values."""
    first, second = factories.account(session), factories.account(session)
    series = pd.DataFrame(
        {
            "metric": ["mrr_minor", "mrr_minor", "nps", "nps", "customers", "customers"],
            "month": pd.Series(
                [
                    dt.date(2026, 5, 1),
                    dt.datetime(2026, 4, 1),  # naive
                    pd.Timestamp("2026-03-01", tz="Asia/Tokyo"),  # its own calendar date, not UTC's
                    dt.date(2026, 5, 1),
                    pd.Timestamp("2026-05-01"),
                    dt.date(2026, 5, 1),
                ],
                dtype=object,
            ),
            "currency": ["JPY", "JPY", None, None, "", ""],
            "dimension": ["", "plan", "", "owner_id", "owner_id", "owner_id"],
            "dimension_value": pd.Series([None, "Pro", None, 7, np.int64(8), 2.5], dtype=object),
            "value": [9.2e18, 12345.678, float("nan"), 1e-300, -0.5, np.float32(0.25)],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": np.array([first.id, second.id], dtype=np.int64),
            "currency": ["JPY", None],
            "mrr_minor": np.array([123_456_789_012_345, 0], dtype=np.int64),
            "arr_minor": np.array([2**63 - 1, -(2**62)], dtype=np.int64),
            "mrr_change_minor": pd.Series([np.int64(-5), np.int32(7)], dtype=object),
            "plan_id": [2.0, float("nan")],
            "cohort_month": pd.to_datetime(["2025-11-01", None]),
            "tenure_months": [7.0, float("nan")],
            "seats": np.array([3, 0], dtype=np.int32),
            "stickiness": [float("nan"), 0.25],
            "onboarding_complete": pd.Series([np.True_, None], dtype=object),
            "nps_score": [9.0, float("nan")],
            "nps_category": ["promoter", None],
            "not_a_column": ["ignored", "ignored"],
        }
    )
    service.replace_snapshot(session, actor="test", as_of=D1, series=series, tables={}, accounts=accounts)
    by_dimension = {by: service.load_kpi(session, as_of=D1, by=by) for by in ("", "plan", "owner_id")}
    stored_accounts = service.load_account_metrics(session)
    stored_first, stored_second = (
        service.account_metrics_of(session, first.id),
        service.account_metrics_of(session, second.id),
    )
    assert stored_first is not None and stored_second is not None
    computed_at = stored_first["computed_at"]
    assert computed_at.tzinfo == dt.UTC and stored_first["as_of"] == D1
    assert stored_first["arr_minor"] == 2**63 - 1 and stored_second["arr_minor"] == -(2**62)
    assert stored_first["cohort_month"] == dt.date(2025, 11, 1) and stored_second["cohort_month"] is None
    assert stored_first["onboarding_complete"] is True and stored_first["plan_id"] == 2 and stored_first["dau"] == 0
    assert list(by_dimension["owner_id"].dimension_value) == ["2.5", "8", "7"]  # ordered by metric first
    assert by_dimension[""].month.tolist() == [dt.date(2026, 5, 1), dt.date(2026, 3, 1)]
    raw_accounts = _stored(session, "account_metrics", D1)
    # series: one row per series, each value back exactly (JSON numbers), NaN as undefined, months as dates
    total = by_dimension[""].iloc[0]
    assert (total.metric, total.currency, total.month, total.value) == ("mrr_minor", "JPY", dt.date(2026, 5, 1), 9.2e18)
    assert math.isnan(by_dimension[""].value.iloc[1])
    assert by_dimension["plan"].to_dict("records")[0] | {"as_of": None} == {
        "as_of": None,
        "metric": "mrr_minor",
        "month": dt.date(2026, 4, 1),
        "currency": "JPY",
        "dimension": "plan",
        "dimension_value": "Pro",
        "value": 12345.678,
    }
    assert by_dimension["owner_id"].value.tolist() == [0.25, -0.5, 1e-300]

    # the same accounts as the plain Python values a Core executemany was given before
    plain_accounts = [
        {
            "account_id": first.id,
            "currency": "JPY",
            "mrr_minor": 123_456_789_012_345,
            "arr_minor": 2**63 - 1,
            "mrr_change_minor": -5,
            "plan_id": 2.0,
            "cohort_month": dt.date(2025, 11, 1),
            "tenure_months": 7.0,
            "seats": 3,
            "stickiness": None,
            "onboarding_complete": True,
            "nps_score": 9.0,
            "nps_category": "promoter",
        },
        {
            "account_id": second.id,
            "currency": None,
            "mrr_minor": 0,
            "arr_minor": -(2**62),
            "mrr_change_minor": 7,
            "plan_id": None,
            "cohort_month": None,
            "tenure_months": None,
            "seats": 0,
            "stickiness": 0.25,
            "onboarding_complete": None,
            "nps_score": None,
            "nps_category": None,
        },
    ]
    session.execute(delete(AccountMetrics))
    session.execute(
        insert(AccountMetrics.__table__), [{**row, "as_of": D1, "computed_at": computed_at} for row in plain_accounts]
    )
    assert _stored(session, "account_metrics", D1) == raw_accounts
    pd.testing.assert_frame_equal(
        stored_accounts.drop(columns="id"), service.load_account_metrics(session).drop(columns="id")
    )
    for account, stored_one in ((first, stored_first), (second, stored_second)):
        expected_one = service.account_metrics_of(session, account.id)
        assert expected_one is not None
        assert {k: v for k, v in stored_one.items() if k != "id"} == {
            k: v for k, v in expected_one.items() if k != "id"
        }


def _stored(session: Session, table: str, as_of: dt.date) -> list[tuple[str, ...]]:
    """The rows of ``as_of`` as the database holds them: each value as text (SQLite: and its storage class)."""
    columns = [c.name for c in m.Base.metadata.tables[table].columns if c.name not in ("id", "as_of")]
    shown = [f"CAST({c} AS TEXT)" for c in columns]
    if session.get_bind().dialect.name == "sqlite":
        shown += [f"typeof({c})" for c in columns]
    query = text(f"SELECT {', '.join(shown)} FROM {table} WHERE as_of = :as_of ORDER BY id")
    return [tuple(row) for row in session.execute(query.bindparams(bindparam("as_of", as_of, type_=Date)))]


def test_old_daily_snapshots_go_and_each_months_last_one_stays(session: Session) -> None:
    days = [dt.date(2026, 1, 15), dt.date(2026, 1, 31), dt.date(2026, 2, 10), dt.date(2026, 2, 20)]
    days += [dt.date(2026, 5, 1), dt.date(2026, 5, 20), dt.date(2026, 5, 30)]
    for day in days:
        tables = {"funnel": pd.DataFrame({"stage": ["lead"], "count": [1]})}
        service.replace_snapshot(session, actor="t", as_of=day, series=_series(1.0), tables=tables, accounts=_none())
    deleted = service.prune_snapshots(session, actor="t", as_of=dt.date(2026, 5, 31), keep_days=30)
    # 05-01 is the 30th day back: kept; January and February keep their last snapshot only
    assert deleted == [dt.date(2026, 1, 15), dt.date(2026, 2, 10)]
    kept = [dt.date(2026, 5, 30), dt.date(2026, 5, 20), dt.date(2026, 5, 1), dt.date(2026, 2, 20), dt.date(2026, 1, 31)]
    assert service.snapshot_dates(session) == kept
    with pytest.raises(NotFound):
        service.load_kpi(session, as_of=dt.date(2026, 1, 30))  # nothing on or before it is left
    assert service.load_kpi(session, as_of=dt.date(2026, 2, 15)).as_of.iloc[0] == dt.date(2026, 1, 31)
    assert service.prune_snapshots(session, actor="t", as_of=dt.date(2026, 5, 31), keep_days=30) == []


def _none() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series([], dtype="int64")})
