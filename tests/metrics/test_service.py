"""Writing and reading KPI snapshots on SQLite and PostgreSQL (rolled back after each test)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.errors import NotFound
from kizuna.metrics import service
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
    assert counts == {"kpi_values": 3, "kpi_tables": 1, "account_metrics": 1}
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
