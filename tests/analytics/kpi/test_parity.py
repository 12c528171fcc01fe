"""Every KPI on the same fixtures on DuckDB and on Spark: the results must be identical (exact, not approximate).

Spark runs in local mode, once per worker (``xdist_group("spark")``); for tiny fixtures, code generation is turned off
while these tests run (it only costs compile time here) and restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from kizuna.analytics.engine import connect
from tests.analytics.kpi.fixtures import voice_funnel_hub
from tests.analytics.kpi.parity import KPIS, run_all
from tests.analytics.kpi.test_usage import usage_hub

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

FAST_SMALL_DATA = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def _hub() -> dict[str, Any]:
    tables = voice_funnel_hub()
    tables["events"] = usage_hub()["events"]
    return tables


@pytest.fixture(scope="module")
def results() -> Iterator[tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]]:
    spark = connect("spark")
    session = spark._session
    saved = {key: session.conf.get(key, None) for key in FAST_SMALL_DATA}
    for key, value in FAST_SMALL_DATA.items():
        session.conf.set(key, value)
    try:
        yield run_all(connect("duckdb"), _hub()), run_all(spark, _hub())
    finally:
        for key, value in saved.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


@pytest.mark.parametrize("kpi", sorted(KPIS))
def test_duckdb_and_spark_agree(results: tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]], kpi: str) -> None:
    duck, spark = results
    assert len(duck[kpi]) > 0, f"{kpi}: the fixture must exercise this KPI"
    pd.testing.assert_frame_equal(duck[kpi], spark[kpi], check_dtype=False, check_exact=True)
