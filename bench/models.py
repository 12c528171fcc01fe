"""Benchmark: the churn-risk model against the previous model, the logistic baseline and the health score, on a
time split of every data directory given (the Japanese demo and the second company, Lumen).

    kizuna demo --end-date 2026-11-22                                  # KIZUNA_DATA_DIR=/tmp/demo
    kizuna demo --company lumen --end-date 2026-11-22                  # KIZUNA_DATA_DIR=/tmp/lumen
    .venv/bin/python bench/models.py /tmp/demo /tmp/lumen [--as-of 2026-11-22] [--markdown]

Samples every 30 days, 90-day horizon, the last third of the sample dates held out (the same
``training_samples`` and ``time_split_backtest`` that ``kizuna risk train`` runs; VoC sentiment left out). Prints
ROC-AUC, PR-AUC, top-decile lift and Brier per method, the features the model kept and its calibration on the test
period.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any


def _tables(data_dir: Path) -> dict[str, Any]:
    import kizuna.models  # noqa: F401  (declares every hub table)
    from kizuna.analytics.engine import connect
    from kizuna.db import make_engine
    from kizuna.hub.warehouse import hub_tables
    from kizuna.migrations import upgrade
    from kizuna.settings import Settings
    from kizuna.usage.store import EventStore

    settings = Settings(data_dir=data_dir)
    upgrade(settings.sqlalchemy_url)  # a data directory made by an older kizuna lacks newer hub tables
    return hub_tables(connect("duckdb"), make_engine(settings.sqlalchemy_url), EventStore(settings.events_dir))


def run(data_dir: Path, as_of: dt.date, markdown: bool) -> None:
    from kizuna.analytics.risk.backtest import time_split_backtest
    from kizuna.analytics.risk.features import training_samples
    from kizuna.health.service import scorecards

    clock = time.perf_counter()
    tables = _tables(data_dir)
    samples, _ = training_samples(tables, observed_until=as_of)
    built = time.perf_counter() - clock
    result = time_split_backtest(samples, scorecard=scorecards().get("overall"))
    took = time.perf_counter() - clock - built
    m = result.metrics
    model_row = m[m["method"] == "model"].iloc[0]
    print(
        f"\n## {data_dir} (as of {as_of}): {len(samples):,} samples on {samples['as_of'].nunique()} dates, "
        f"test {result.test_window[0]} … {result.test_window[1]}: {model_row['n']:,.0f} samples, "
        f"{model_row['churned']:.0f} followed by churn (base rate {model_row['base_rate']:.3f}); "
        f"samples {built:.0f} s, backtest {took:.0f} s\n"
    )
    if markdown:
        print("| method | ROC-AUC | PR-AUC | lift top 10 % | Brier |")
        print("|---|---|---|---|---|")
        for r in m.itertuples():
            print(f"| {r.method} | {r.roc_auc:.3f} | {r.pr_auc:.3f} | {r.lift_top_decile:.2f} | {r.brier:.4f} |")
    else:
        for r in m.itertuples():
            print(
                f"  {r.method:<26} ROC-AUC {r.roc_auc:.3f}  PR-AUC {r.pr_auc:.3f}  "
                f"lift@10% {r.lift_top_decile:.2f}  Brier {r.brier:.4f}"
            )
    card = result.model_card
    kept = [s for s in card.get("selection", []) if s["kept"]]
    print(f"\nkept {len(card['features'])} of {card['fit'].get('candidates')} features, families by held-out value:")
    print("  " + ", ".join(f"{s['family']} {s['auc_drop']:+.4f}" for s in kept))
    cal = card["fit"].get("calibration")
    if cal:
        print(
            f"calibration ({cal['method']}) on the inner split: "
            f"Brier {cal['brier_before']:.4f} -> {cal['brier_after']:.4f}"
        )
    print("reliability of the model on the test period (decile: predicted / observed):")
    for r in result.calibration["model"].itertuples():
        print(f"  {r.bin:>2}: {r.mean_predicted:.4f} / {r.observed_rate:.4f}  (n={r.n})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--as-of", default="2026-11-22", help="End of the data (the demos' --end-date).")
    parser.add_argument("--markdown", action="store_true", help="Print the figures as a Markdown table.")
    args = parser.parse_args()
    for data_dir in args.data_dirs:
        run(data_dir, dt.date.fromisoformat(args.as_of), args.markdown)


if __name__ == "__main__":
    main()
