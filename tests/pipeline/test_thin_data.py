"""A refresh never falls over on thin data: on an empty hub, accounts only, trials only, one month of history, and on
random small hubs (Hypothesis) every step completes or is skipped with a reason, never a traceback.

The hubs are built through the real import path (CSV files read by ``import_file``) and refreshed by the real
pipeline over every step of ``kizuna.domains.REFRESH_STEPS``; ``kizuna refresh`` itself (its listing of the skipped
steps and its exit status) is run on the README's first steps (``init`` → ``import accounts`` → ``refresh``).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kizuna.cli.core import REFRESH_SKIPPED_EXIT
from kizuna.domains import REFRESH_STEPS
from kizuna.errors import NotEnoughData
from kizuna.imports.service import import_file
from kizuna.migrations import upgrade
from kizuna.pipeline.refresh import Step, refresh, skipped_steps
from kizuna.runtime import Runtime
from kizuna.settings import Settings

AS_OF = dt.date(2026, 11, 22)
# Each random hub is a whole import and refresh (~15 s of CPU): the suite tries a few; a longer search is one variable
# away (docs/metrics.md quotes a run of KIZUNA_THIN_DATA_EXAMPLES=60).
EXAMPLES = int(os.environ.get("KIZUNA_THIN_DATA_EXAMPLES", "3"))
CURRENCIES = ("JPY", "USD", "EUR")


@dataclass
class Line:
    plan: str
    status: str  # trial, active, paused, cancelled, churned
    currency: str
    amount: str  # an amount of the line's currency, as a file writes it
    start: dt.date
    end: dt.date | None


@dataclass
class Rate:
    day: dt.date
    currency: str
    rate: float  # units of the base currency (JPY) per unit


@dataclass
class Customer:
    created: dt.date | None  # None: the file leaves created_at blank
    lines: list[Line] = field(default_factory=list)


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


def _subscription_row(account: int, n: int, line: Line) -> list[object]:
    plan = f"{line.plan}-{line.currency}"
    return [f"S{account}-{n}", f"A{account}", plan, line.status, line.amount, line.currency, line.start, line.end]


def build_hub(settings: Settings, customers: Sequence[Customer], rates: Sequence[Rate] = ()) -> None:
    """Import ``customers`` (accounts, then plans and subscription lines) and exchange ``rates`` as a team would, from
    CSV files."""
    folder = settings.data_dir / "files"
    folder.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, Path]] = [
        (
            "accounts",
            _write(
                folder / "accounts.csv",
                ["external_id", "name", "created_at"],
                [[f"A{i}", f"株式会社{i}", c.created] for i, c in enumerate(customers)],
            ),
        )
    ]
    lines = [(i, n, line) for i, c in enumerate(customers) for n, line in enumerate(c.lines)]
    if lines:
        plans = sorted({(line.plan, line.currency) for _, _, line in lines})
        files.append(("products", _write(folder / "products.csv", ["external_id", "name"], [["P", "kizuna Cloud"]])))
        files.append(
            (
                "plans",
                _write(
                    folder / "plans.csv",
                    ["external_id", "product_external_id", "name", "list_price_minor", "currency"],
                    [[f"{p}-{c}", "P", p, 0, c] for p, c in plans],
                ),
            )
        )
        files.append(
            (
                "subscriptions",
                _write(
                    folder / "subscriptions.csv",
                    [
                        "external_id",
                        "account_external_id",
                        "plan_external_id",
                        "status",
                        "mrr",
                        "currency",
                        "start_date",
                        "end_date",
                    ],
                    [_subscription_row(i, n, line) for i, n, line in lines],
                ),
            )
        )
    if rates:
        unique = {(r.day, r.currency): r for r in rates}.values()
        rows = [[r.day, r.currency, r.rate] for r in unique]
        files.append(("fx_rates", _write(folder / "fx_rates.csv", ["date", "currency", "rate"], rows)))
    runtime = Runtime.open(settings)
    try:
        for entity, path in files:
            with runtime.transaction() as session:
                summary = import_file(session, entity=entity, path=path, settings=settings, actor="test")
                assert summary.rejected == 0, summary.sample_rejections
    finally:
        runtime.close()


def refresh_hub(customers: Sequence[Customer], rates: Sequence[Rate] = ()) -> dict[str, dict[str, Any]]:
    """A fresh data directory holding ``customers`` (and exchange ``rates``), refreshed by every step; each step's
    summary."""
    with tempfile.TemporaryDirectory(prefix="kizuna-thin-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", kpi_processes=1, scheduler_in_process=False)
        settings.ensure_dirs()
        upgrade(settings.sqlalchemy_url)
        build_hub(settings, customers, rates)
        runtime = Runtime.open(settings)
        try:
            return refresh(runtime, REFRESH_STEPS, as_of=AS_OF)
        finally:
            runtime.close()


def assert_every_step_ran_or_said_why(summaries: dict[str, dict[str, Any]]) -> None:
    assert list(summaries) == [step.name for step in REFRESH_STEPS]
    for name, reason in skipped_steps(summaries).items():
        assert reason.strip() and "\n" not in reason, (name, reason)


# --- the named cases ----------------------------------------------------------------------------------------------

_MONTH_AGO = AS_OF.replace(day=1)
THIN_HUBS = {
    "empty": [],
    "accounts only": [Customer(dt.date(2025, 4, 1)), Customer(None)],
    "trials only": [
        Customer(None, [Line("Trial", "trial", "JPY", "0", _MONTH_AGO, None)]),
        Customer(dt.date(2026, 10, 3), [Line("Trial", "trial", "USD", "0", dt.date(2026, 10, 3), AS_OF)]),
    ],
    "one month": [
        Customer(_MONTH_AGO, [Line("Pro", "active", "JPY", "50000", _MONTH_AGO, None)]),
        Customer(_MONTH_AGO, [Line("Pro", "active", "JPY", "30000", _MONTH_AGO, None)]),
    ],
}


@pytest.mark.parametrize("hub", list(THIN_HUBS))
def test_every_step_runs_on_thin_data(hub: str) -> None:
    summaries = refresh_hub(THIN_HUBS[hub])
    assert_every_step_ran_or_said_why(summaries)
    # the KPI snapshot is computed (an empty one is a snapshot too), not skipped
    assert "skipped" not in summaries["kpis"]
    if hub == "one month":
        assert summaries["kpis"]["mrr"] == {"JPY": 80000}


# --- random small hubs --------------------------------------------------------------------------------------------

_days = st.integers(min_value=0, max_value=3 * 365)


@st.composite
def lines(draw: st.DrawFn, created: dt.date | None) -> Line:
    status = draw(st.sampled_from(["trial", "active", "paused", "cancelled", "churned"]))
    currency = draw(st.sampled_from(CURRENCIES))
    first = created or AS_OF - dt.timedelta(days=3 * 365)
    start = min(AS_OF, first + dt.timedelta(days=draw(_days)))
    end = None
    if status in ("trial", "paused", "churned", "cancelled") and draw(st.booleans()):
        end = start + dt.timedelta(days=draw(st.integers(min_value=1, max_value=400)))
    units = 0 if status == "trial" else draw(st.integers(min_value=1, max_value=200_000))
    amount = str(units) if currency == "JPY" else f"{units / 100:.2f}"
    return Line(draw(st.sampled_from(["Trial", "Pro", "Team"])), status, currency, amount, start, end)


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    created = draw(st.none() | _days.map(lambda d: AS_OF - dt.timedelta(days=d)))
    return Customer(created, draw(st.lists(lines(created), max_size=2)))


rates = st.builds(
    Rate,
    day=_days.map(lambda d: AS_OF - dt.timedelta(days=d)),
    currency=st.sampled_from(CURRENCIES[1:]),
    rate=st.floats(min_value=0.01, max_value=500, allow_nan=False).map(lambda r: round(r, 4)),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hub=st.lists(customers(), max_size=50), fx=st.lists(rates, max_size=4))
def test_every_step_runs_or_is_skipped_with_a_reason_on_random_small_hubs(hub: list[Customer], fx: list[Rate]) -> None:
    assert_every_step_ran_or_said_why(refresh_hub(hub, fx))


# --- the pipeline and the CLI -------------------------------------------------------------------------------------


def test_a_step_without_enough_data_is_skipped_and_the_others_run(runtime: Runtime) -> None:
    ran: list[str] = []

    def thin(ctx: Any) -> dict[str, Any]:
        raise NotEnoughData("no paying line yet")

    def after(ctx: Any) -> dict[str, Any]:
        ran.append("after")
        return {"done": 1}

    summaries = refresh(runtime, [Step("kizuna_test_thin", thin), Step("kizuna_test_after", after)])
    assert summaries["kizuna_test_thin"]["skipped"] == "no paying line yet" and ran == ["after"]
    assert skipped_steps(summaries) == {"kizuna_test_thin": "no paying line yet"}


def test_a_bug_in_a_step_is_not_taken_for_thin_data(runtime: Runtime) -> None:
    def broken(ctx: Any) -> dict[str, Any]:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        refresh(runtime, [Step("kizuna_test_bug", broken)])


def test_the_readme_first_steps_refresh_and_say_which_steps_were_skipped(tmp_path: Path) -> None:
    """``init`` → ``import accounts`` → ``refresh``: every step runs or is listed as skipped with its reason, and the
    exit status says whether any was skipped."""
    from kizuna.cli import build_app

    app, data = build_app(), str(tmp_path / "data")
    accounts = _write(tmp_path / "accounts.csv", ["external_id", "name"], [["A1", "株式会社いち"], ["A2", "二商事"]])
    for args in (["init"], ["import", "accounts", str(accounts)]):
        result = CliRunner().invoke(app, ["--data-dir", data, *args])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["--data-dir", data, "refresh"])
    assert "Traceback" not in result.output
    for step in REFRESH_STEPS:
        assert f"{step.name}: " in result.output
    # the churn model cannot be trained without history: skipped, said why, and the exit status says so
    assert result.exit_code == REFRESH_SKIPPED_EXIT, result.output
    assert "risk: not enough history" in result.output and "kpis: {" in result.output
    # accounts the file does not date count from the import's day, so today's refresh sees them (not the import's
    # clock time, which every point-in-time step would drop)
    assert '"account_metrics": 2' in result.output
