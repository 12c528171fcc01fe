"""``kizuna risk train|score|report|survival``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import typer

from kizuna.platform.cli.common import runtime


def _date(text: str | None) -> dt.date:
    return dt.date.fromisoformat(text) if text else dt.datetime.now(dt.UTC).date()


def _tables(rt: object) -> dict[str, object]:
    from kizuna.analytics.engine import connect
    from kizuna.hub.warehouse import hub_tables
    from kizuna.usage.store import EventStore

    settings = rt.settings  # type: ignore[attr-defined]
    return hub_tables(connect(settings.analytics_engine), rt.engine, EventStore(settings.events_dir))  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    risk = typer.Typer(
        help="Churn risk (離脱予兆): train the model, score accounts, report, survival curves.", no_args_is_help=True
    )
    app.add_typer(risk, name="risk")

    @risk.command("train")
    def train(
        as_of: str = typer.Option(None, "--as-of", help="End of the data (default today)."),
        horizon: int = typer.Option(90, "--horizon", help="Churn horizon in days."),
        every: int = typer.Option(30, "--every", help="Days between training sample dates."),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Train on point-in-time samples, backtest on a time split, save under data_dir/models and activate."""
        from kizuna.risk.service import train_model
        from kizuna.voc.service import entry_sentiment

        with runtime() as rt, rt.transaction() as session:
            row = train_model(
                session,
                actor=actor,
                tables=_tables(rt),
                as_of=_date(as_of),
                models_dir=rt.settings.models_dir,
                horizon_days=horizon,
                every_days=every,
                voc_scores=entry_sentiment(session),
            )
            typer.echo(
                f"model #{row.id} saved to {rt.settings.models_dir / row.file_name}: {row.n_samples} samples "
                f"{row.train_start}..{row.train_end}, base rate {row.base_rate:.3f}"
            )
            for m in row.metrics["metrics"]:
                typer.echo(
                    "  " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())
                )

    @risk.command("score")
    def score(as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today).")) -> None:
        """Score every account in force with the active model."""
        from kizuna.risk.service import score_accounts
        from kizuna.voc.service import entry_sentiment

        with runtime() as rt, rt.transaction() as session:
            out = score_accounts(
                session,
                tables=_tables(rt),
                as_of=_date(as_of),
                models_dir=rt.settings.models_dir,
                voc_scores=entry_sentiment(session),
            )
        typer.echo(json.dumps(out, ensure_ascii=False, default=str))

    @risk.command("report")
    def report(top: int = typer.Option(20, "--top"), as_json: bool = typer.Option(False, "--json")) -> None:
        """The active model, its backtest next to the health score and the baseline, and the riskiest accounts."""
        from kizuna.risk.service import risk_report

        with runtime() as rt, rt.transaction() as session:
            out = risk_report(session, top=top)
            if as_json:
                typer.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1))
                return
            _print_report(out, session)

    def _print_report(out: dict[str, Any], session: Any) -> None:
        from kizuna.risk.service import reasons

        m = out["model"]
        typer.echo(
            f"model #{m['id']} trained {m['trained_at']:%Y-%m-%d} on {m['n_samples']} samples "
            f"{m['train_window'][0]}..{m['train_window'][1]} (horizon {m['horizon_days']} days)"
        )
        bt = out["backtest"]
        typer.echo(f"time-split backtest: train {bt['train_window']}, test {bt['test_window']}")
        for row in bt["metrics"]:
            typer.echo(
                f"  {row['method']:<22} ROC-AUC {row['roc_auc']:.3f}  PR-AUC {row['pr_auc']:.3f}  "
                f"lift@10% {row['lift_top_decile']:.2f}  Brier {row['brier']:.4f}  (n={row['n']:.0f})"
            )
        for row in bt["metrics"]:
            auc = row.get("roc_auc")
            if row["method"].startswith("health") and isinstance(auc, float) and auc < 0.5:
                typer.echo(
                    f"WARNING: {row['method']} ranks churn worse than random on this backtest "
                    f"(ROC-AUC {auc:.3f} < 0.5): do not act on its red and green until it is recalibrated "
                    "(kizuna health calibrate)"
                )
        card = bt.get("model_card") or {}
        kept = [s for s in card.get("selection", []) if s["kept"]]
        if kept:
            typer.echo("kept by backtested value (ROC-AUC lost when shuffled on held-out dates):")
            typer.echo("  " + ", ".join(f"{s['family']} {s['auc_drop']:+.4f}" for s in kept))
        if (card.get("fit") or {}).get("skipped"):
            typer.echo(f"no feature selection or calibration: {card['fit']['skipped']}")
        fit = card.get("fit") or {}
        if fit.get("rounds"):
            typer.echo(
                f"trees: {fit['rounds']} of at most {fit['max_rounds']}, chosen on held-out dates "
                f"(ROC-AUC {fit['rounds_auc']:.4f}; {fit['max_rounds_auc']:.4f} with all {fit['max_rounds']})"
            )
        cal = fit.get("calibration")
        if cal:
            typer.echo(
                f"calibration: {cal['method']} on held-out dates, Brier {cal['brier_before']:.4f} -> "
                f"{cal['brier_after']:.4f}"
            )
        typer.echo(f"scores as of {out['as_of']}: {out['bands']}")
        words = reasons(session, [r["account_id"] for r in out["top"]], "en") if out["top"] else {}
        for r in out["top"]:
            w = words.get(r["account_id"])
            said = ("; ".join(w.signals) + (f" [{'; '.join(w.context)}]" if w.context else "")) if w else ""
            typer.echo(f"  {r['account_id']:>6} {r['name']:<24} p={r['probability']:.2f} {r['band']:<6} {said}")

    @risk.command("survival")
    def survival(
        by: str = typer.Option("plan", "--by", help="plan, industry, touch_tier, or 'all'."),
        as_of: str = typer.Option(None, "--as-of"),
        cox: bool = typer.Option(False, "--cox", help="Also fit a Cox model of time to churn."),
        curves: str = typer.Option(None, "--curves", help="Write the curve data to this CSV file."),
    ) -> None:
        """Kaplan-Meier retention by segment (and a Cox model)."""
        from kizuna.analytics.survival import cox_model, kaplan_meier, lifetimes_table

        with runtime() as rt:
            lifetimes = lifetimes_table(_tables(rt), as_of=_date(as_of))
        km = kaplan_meier(lifetimes, by=None if by == "all" else by)
        typer.echo(km.summary.to_string(index=False))
        typer.echo(f"log-rank p = {km.logrank_p:.4g}")
        if curves:
            km.curves.to_csv(curves, index=False)
            typer.echo(f"curve data written to {curves}")
        if cox:
            model = cox_model(lifetimes)
            typer.echo(model.summary.to_string(index=False))
            typer.echo(f"concordance {model.concordance:.3f} ({model.n} accounts, {model.events} churns)")
