"""Time segments, tiers, coverage, onboarding, renewals, expansion and knowledge-base search on a demo company.

    .venv/bin/python bench/cs_operations.py --accounts 2000 --years 2

Builds the demo company in a temporary data directory (``kizuna demo``), then times each operation in-process
(health/risk are not run: the renewal center then has no model probabilities). Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(label: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    shown = len(result) if isinstance(result, list) else result
    print(f"{label:<44} {time.perf_counter() - started:8.2f} s   {shown}")
    return result


def _loaded(analyzer: Any) -> Any:
    analyzer.analyze("辞書を読み込む")  # Sudachi loads its dictionary on first use
    return analyzer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--years", type=int, default=2)
    args = parser.parse_args()
    today = dt.date(2026, 11, 22)  # the demo's end date, pinned so runs compare
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        kizuna = str(Path(sys.executable).parent / "kizuna")
        started = time.perf_counter()
        subprocess.run(
            [
                kizuna,
                "--data-dir",
                str(data),
                "demo",
                "--accounts",
                str(args.accounts),
                "--years",
                str(args.years),
                "--end-date",
                today.isoformat(),
            ],
            check=True,
            capture_output=True,
        )
        print(
            f"demo company: {args.accounts} accounts, {args.years} years, built in "
            f"{time.perf_counter() - started:.1f} s"
        )

        from kizuna.knowledge import service as kb
        from kizuna.lifecycle import service as lifecycle
        from kizuna.renewals import expansion
        from kizuna.renewals import service as renewals
        from kizuna.runtime import Runtime
        from kizuna.segments import service as segments
        from kizuna.settings import Settings

        settings = Settings(data_dir=data)
        rt = Runtime.open(settings)
        with rt.transaction() as s:
            timed("tiers apply", lambda: segments.apply_tiers(s, actor="bench", today=today).changed)
            timed("RFM segments created", lambda: segments.ensure_rfm_segments(s, actor="bench"))
            for key, rules in (
                ("big", [{"field": "arr_minor", "gte": 3_000_000}]),
                ("kansai", [{"field": "region", "eq": "関西"}]),
                ("pro-low-nps", [{"field": "plan", "contains": "Pro"}]),
            ):
                segments.create_segment(s, actor="bench", key=key, name=key, definition={"rules": rules})
            timed(
                "evaluate 14 segments (first)",
                lambda: segments.evaluate_segments(s, actor="bench", today=today).summary(),
            )
            timed(
                "evaluate 14 segments (again, no change)",
                lambda: segments.evaluate_segments(s, actor="bench", today=today).summary(),
            )
            timed("books of business", lambda: segments.books_of_business(s, today=today))
            timed(
                "onboarding plans for new accounts",
                lambda: lifecycle.start_onboarding_for_new_accounts(s, actor="bench", today=today),
            )
            timed("onboarding summary", lambda: lifecycle.onboarding_summary(s, today=today)["accounts"])
            timed("renewals sync (first)", lambda: renewals.sync_renewals(s, today=today).as_dict())
            timed("renewals sync (again)", lambda: renewals.sync_renewals(s, today=today).as_dict())
            timed("renewal forecast 120 days", lambda: renewals.renewal_forecast(s, today=today)["renewals"])
            timed(
                "expansion detect + open",
                lambda: expansion.open_expansion_opportunities(
                    s, actor="bench", today=today, events_dir=settings.events_dir
                ).as_dict(),
            )
            analyzer = timed("text analyser (Sudachi) loaded", lambda: _loaded(kb.default_analyzer()))
            timed("kb reindex (all notes, playbooks)", lambda: kb.reindex(s, analyzer=analyzer))
            queries = [
                "更新",
                "問い合わせ",
                "キーパーソンの異動",
                "費用対効果",
                "renewal",
                "チャンピオン",
                "解約",
                "請求",
            ]
            started = time.perf_counter()
            for q in queries * 5:
                kb.search(s, query=q, analyzer=analyzer)
            per = (time.perf_counter() - started) / (len(queries) * 5) * 1000
            print(f"{'kb search (mean of 40 queries)':<44} {per:8.1f} ms")
        rt.close()


if __name__ == "__main__":
    main()
