"""The KPI layer reading app data hosted on PostgreSQL through warehouse.hub_tables (the hand-computed fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from kizuna import models
from kizuna.analytics.engine import connect
from kizuna.analytics.kpi import revenue
from kizuna.db import make_engine
from kizuna.hub.warehouse import hub_tables
from kizuna.migrations import upgrade
from tests.analytics.kpi.fixtures import AS_OF, EXPECTED_JPY_MONTHS, revenue_hub


@pytest.mark.postgres
def test_revenue_kpis_from_postgres(scratch_postgres_url: str) -> None:
    url = scratch_postgres_url
    upgrade(url)
    engine = make_engine(url)
    try:
        data = revenue_hub()
        with engine.begin() as conn:
            for table in models.Base.metadata.sorted_tables:
                if table.name in data and data[table.name].num_rows:
                    rows = data[table.name].to_pylist()
                    unset = {k for k in rows[0] if all(r[k] is None for r in rows)}  # let column defaults apply
                    conn.execute(insert(table), [{k: v for k, v in r.items() if k not in unset} for r in rows])
        tables = hub_tables(connect(), engine)
        summary = revenue.mrr_summary(tables, AS_OF).to_pyarrow().to_pandas()
        jpy = summary[summary.currency == "JPY"]
        jpy = jpy.set_index(jpy.month.map(lambda d: d.strftime("%Y-%m")))
        for month, expected in EXPECTED_JPY_MONTHS.items():
            for column, value in expected.items():
                assert jpy.loc[month, column] == value, (month, column)
    finally:
        engine.dispose()
