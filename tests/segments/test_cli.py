"""Segments, tiers, coverage, assignment, onboarding, success plans, renewals, expansion and the knowledge base from
the command line, on a small demo company (one test: the demo is built once)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli import build_app
from kizuna.errors import KizunaError

TODAY = "2026-11-22"  # the demo company's 'today' (pinned: the demo ends on the clock's today otherwise)


def test_cs_commands_on_the_demo_company(tmp_path: Path) -> None:
    app = build_app()
    runner = CliRunner()
    data = str(tmp_path / "d")

    def kizuna(*args: str, refused: bool = False) -> str:
        result = runner.invoke(app, ["--data-dir", data, *args])
        if refused:  # kizuna's own error: `run_app` prints it as one line and exits 2
            assert isinstance(result.exception, KizunaError) and result.exception.status_code < 500, result.output
        else:
            assert result.exit_code == 0, result.output
        return result.output

    kizuna("demo", "--accounts", "40", "--years", "1", "--end-date", TODAY)
    kizuna("refresh", "--as-of", TODAY, "--only", "segments", "--only", "lifecycle", "--only", "renewals")

    # segments
    assert "rfm-at-risk" in kizuna("segments", "list")
    created = kizuna(
        "segments",
        "create",
        "big-accounts",
        "--name",
        "大口",
        "--today",
        TODAY,
        "--rule",
        '{"field": "arr_minor", "gte": 600000}',
    )
    members = int(re.search(r"with (\d+) members", created).group(1))  # type: ignore[union-attr]
    assert f"{members} members" in kizuna("segments", "members", "big-accounts")
    assert "+0 -0" in kizuna("segments", "evaluate", "big-accounts", "--today", TODAY)
    kizuna("segments", "create", "broken", "--rule", "{not json", refused=True)
    kizuna("segments", "members", "nope", refused=True)

    # tiers, coverage, assignment
    assert "0 accounts changed tier" in kizuna("tiers", "apply", "--today", TODAY)
    kizuna("tiers", "policy", "--high", "100000000", "--low", "0")
    assert re.search(r"[1-9]\d* accounts changed tier", kizuna("tiers", "apply", "--today", TODAY))
    coverage = kizuna("coverage", "--today", TODAY)
    assert "unassigned accounts: 0" in coverage and (
        "over" in coverage or "under" in coverage or "balanced" in coverage
    )
    assert "high: 12 accounts per CSM" in kizuna("tiers", "capacity", "--high", "12")
    assert "capacity: high: 12 accounts per CSM  low: 80" in kizuna("coverage", "--today", TODAY)
    assert "0 accounts would be assigned" in kizuna("assign", "--dry-run", "--today", TODAY)
    assert "1 accounts assigned" in kizuna("assign", "--account", "1", "--strategy", "round_robin", "--today", TODAY)

    # onboarding and success plans
    assert "standard" in kizuna("onboarding", "templates")
    summary = kizuna("onboarding", "summary", "--today", TODAY)
    assert "time-to-value: median" in summary
    status = kizuna("onboarding", "status", "1", "--today", TODAY)
    assert "kickoff" in status
    kizuna(
        "success-plan",
        "add",
        "1",
        "--goal",
        "問い合わせ件数を半減",
        "--kpi",
        "月間問い合わせ",
        "--baseline",
        "40",
        "--target",
        "20",
        "--target-date",
        "2027-03-31",
    )
    assert "achieved" in kizuna("success-plan", "update", "1", "--current", "18")
    assert "achieved" in kizuna("success-plan", "show", "1", "--today", TODAY)
    kizuna("lifecycle", "set", "1", "at_risk", "--reason", "テスト")
    assert "-> at_risk" in kizuna("lifecycle", "history", "1")

    # renewals and expansion
    listing = kizuna("renewals", "list", "--horizon", "365", "--today", TODAY)
    renewal_id = re.search(r"^\s*(\d+) 20\d\d-", listing, re.M)
    assert renewal_id is not None, listing
    assert "CSM call commit" in kizuna("renewals", "call", renewal_id.group(1), "commit")
    forecast = kizuna("renewals", "forecast", "--horizon", "365", "--today", TODAY)
    assert "model-weighted renewing ARR" in forecast and re.search(r"commit\s+1 ", forecast)
    assert "gross renewal rate" in kizuna("renewals", "outcomes", "--today", TODAY)
    assert "open expansion opportunities" in kizuna("expansion", "pipeline")
    assert "signals" in kizuna("expansion", "signals")
    kizuna("renewals", "call", renewal_id.group(1), "maybe", refused=True)

    # knowledge base
    kizuna("kb", "add", "--title", "請求書の再発行", "--body", "管理画面のお問合せフォームから依頼してください。")
    found = kizuna("kb", "search", "問い合わせ")
    assert "article" in found and "請求書の再発行" in found
    assert "playbook" in kizuna("kb", "search", "チャンピオン")
