"""``risk train`` and ``health backtest`` on too little history say the cause in one line (not n=0 and NaN).

``history_cause`` reads the hub as a refresh does; the CLI tests run the real commands on an accounts-only data
directory (the README's first steps).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.analytics.engine import connect
from kizuna.analytics.risk.features import training_samples
from kizuna.cli import build_app
from kizuna.errors import NotEnoughData
from kizuna.hub.history import history_cause
from kizuna.hub.warehouse import hub_tables
from kizuna.runtime import Runtime
from tests import factories

AS_OF = dt.date(2026, 11, 22)


def cause(runtime: Runtime) -> str:
    tables = hub_tables(connect("duckdb"), runtime.engine)
    samples, _ = training_samples(tables, observed_until=AS_OF, horizon_days=90, every_days=30)
    return history_cause(tables, as_of=AS_OF, horizon_days=90, samples=samples)


def test_each_cause_is_named(runtime: Runtime) -> None:
    assert cause(runtime).startswith("the hub has no account yet")
    with runtime.transaction() as session:
        young = factories.account(session, created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert cause(runtime) == "none of the 1 accounts has a subscription line: import subscriptions"
    with runtime.transaction() as session:
        plan = factories.plan(session)
        factories.subscription(session, young, plan, start_date=dt.date(2026, 10, 1))
    assert cause(runtime).startswith("the history starts on 2026-10-01 (the first subscription line)")
    assert "the data must run to 2027-03-30" in cause(runtime)
    with runtime.transaction() as session:
        old = factories.account(session, created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        factories.subscription(session, old, plan, start_date=dt.date(2024, 1, 1))
    # one account in force all along, none churned
    assert cause(runtime).startswith("none of the 1 accounts in force between 2024-01-01 and 2026-08-24 churned")


def test_accounts_dated_after_the_history_are_named(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        plan = factories.plan(session)
        for _ in range(2):
            account = factories.account(session, created_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
            factories.subscription(session, account, plan, start_date=dt.date(2024, 1, 1))
    assert cause(runtime).startswith("every account is dated after 2026-08-24")


@pytest.mark.parametrize("command", [["risk", "train"], ["health", "backtest"]])
def test_the_cli_says_the_cause_and_exits_2(tmp_path: Path, command: list[str]) -> None:
    app, data = build_app(), str(tmp_path / "data")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name\nA1,株式会社いち\n", encoding="utf-8")
    for args in (["init"], ["import", "accounts", str(accounts)]):
        assert CliRunner().invoke(app, ["--data-dir", data, *args]).exit_code == 0
    result = CliRunner().invoke(app, ["--data-dir", data, *command, "--as-of", AS_OF.isoformat()])
    # a NotEnoughData (an InvalidInput): `kizuna` prints its one line and exits 2 (kizuna.platform.cli.common.main)
    assert isinstance(result.exception, NotEnoughData) and result.exception.status_code == 400, result.output
    message = str(result.exception)
    assert "not enough history" in message and "\n" not in message
    assert "none of the 1 accounts has a subscription line: import subscriptions" in message
    assert "nan" not in (message + result.output).lower()
