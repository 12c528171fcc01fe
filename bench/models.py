"""Benchmark: the churn-risk model against the previous model, the logistic baseline and the health score, on a
time split of every data directory given (the Japanese demo and the second company, Lumen).

    kizuna demo --end-date 2026-11-22                                  # KIZUNA_DATA_DIR=/tmp/demo
    kizuna demo --company lumen --end-date 2026-11-22                  # KIZUNA_DATA_DIR=/tmp/lumen
    .venv/bin/python bench/models.py /tmp/demo /tmp/lumen [--as-of 2026-11-22] [--markdown]

Samples every 30 days, 90-day horizon, the last third of the sample dates held out (the same
``training_samples`` and ``time_split_backtest`` that ``kizuna risk train`` runs; VoC sentiment left out; above
``--max-samples`` a stratified share of the samples, as in training). Prints
ROC-AUC, PR-AUC, top-decile lift and Brier per method, the model's 95 % bootstrap intervals of ROC-AUC and lift
(accounts resampled with all their dates: one account's samples are not independent), the features the model kept, the
number of trees it chose and its calibration on the test period.

The intervals are why a change is judged on several companies and seeds, never on one figure: with a few hundred
churned test samples the top decile holds about a hundred of them, and its lift moves by +-0.5 between resamples.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

from kizuna.analytics.risk.sampling import MAX_SAMPLES


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


def bootstrap_interval(
    predictions: Any, column: str, *, resamples: int = 300, random_state: int = 0
) -> dict[str, tuple[float, float]]:
    """95 % intervals of ROC-AUC and top-decile lift of ``predictions[column]``, resampling accounts."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from kizuna.analytics.churn.evaluation import lift_at

    rng = np.random.default_rng(random_state)
    accounts = predictions["account_id"].to_numpy()
    rows_of = {a: np.flatnonzero(accounts == a) for a in np.unique(accounts)}
    keys = np.array(list(rows_of))
    y_all = predictions["churned"].to_numpy(dtype=int)
    r_all = predictions[column].to_numpy(dtype=float)
    aucs, lifts = [], []
    for _ in range(resamples):
        rows = np.concatenate([rows_of[a] for a in rng.choice(keys, len(keys))])
        y, r = y_all[rows], r_all[rows]
        if 0 < y.sum() < len(y):
            aucs.append(roc_auc_score(y, r))
            lifts.append(lift_at(r, y))
    return {
        "roc_auc": tuple(float(x) for x in np.percentile(aucs, [2.5, 97.5])),  # type: ignore[dict-item]
        "lift_top_decile": tuple(float(x) for x in np.percentile(lifts, [2.5, 97.5])),  # type: ignore[dict-item]
    }


def run(data_dir: Path, as_of: dt.date, markdown: bool, max_samples: int | None = MAX_SAMPLES) -> None:
    from kizuna.analytics.risk.backtest import time_split_backtest
    from kizuna.analytics.risk.features import training_samples
    from kizuna.analytics.risk.model import ChurnRiskModel
    from kizuna.health.service import scorecards

    clock = time.perf_counter()
    tables = _tables(data_dir)
    samples, _ = training_samples(tables, observed_until=as_of, max_samples=max_samples)
    built = time.perf_counter() - clock
    model = ChurnRiskModel(max_samples=max_samples)
    result = time_split_backtest(samples, scorecard=scorecards().get("overall"), model=model)
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
    for column in ("model", "baseline"):
        ci = bootstrap_interval(result.predictions, column)
        print(
            f"  {column}: 95 % interval (accounts resampled) ROC-AUC {ci['roc_auc'][0]:.3f}-{ci['roc_auc'][1]:.3f}, "
            f"lift {ci['lift_top_decile'][0]:.2f}-{ci['lift_top_decile'][1]:.2f}"
        )
    card = result.model_card
    kept = [s for s in card.get("selection", []) if s["kept"]]
    print(f"\nkept {len(card['features'])} of {card['fit'].get('candidates')} features, families by held-out value:")
    print("  " + ", ".join(f"{s['family']} {s['auc_drop']:+.4f}" for s in kept))
    fit = card["fit"]
    if fit.get("rounds"):
        print(
            f"trees: {fit['rounds']} of at most {fit['max_rounds']}, chosen on the inner split's held-out dates "
            f"(ROC-AUC {fit['rounds_auc']:.4f}; {fit['max_rounds_auc']:.4f} with all {fit['max_rounds']})"
        )
    cal = fit.get("calibration")
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
    parser.add_argument(
        "--max-samples",
        type=int,
        default=MAX_SAMPLES,
        help=f"Cap on the samples (stratified by date and outcome; default {MAX_SAMPLES:,}; 0: none).",
    )
    args = parser.parse_args()
    for data_dir in args.data_dirs:
        run(data_dir, dt.date.fromisoformat(args.as_of), args.markdown, args.max_samples or None)


if __name__ == "__main__":
    main()
