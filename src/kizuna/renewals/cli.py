"""``kizuna renewals list|forecast|call|outcome|outcomes|sync``;
``kizuna expansion signals|pipeline|detect|close``."""

from __future__ import annotations

import datetime as dt

import typer

from kizuna.platform.cli.common import runtime, settings


def _today(value: str | None) -> dt.date:
    return dt.date.fromisoformat(value) if value else dt.datetime.now(dt.UTC).date()


def _money(minor: int | float | None, currency: str = "JPY") -> str:
    return "-" if minor is None else f"{round(minor):,} {currency}"


def register(app: typer.Typer) -> None:
    renewals = typer.Typer(
        help="Renewal center: upcoming renewals, forecast calls, forecast, outcomes.", invoke_without_command=True
    )
    expansion = typer.Typer(help="Expansion signals and the upsell / cross-sell pipeline.", no_args_is_help=True)
    app.add_typer(renewals, name="renewals")
    app.add_typer(expansion, name="expansion")

    @renewals.callback()
    def _default(
        ctx: typer.Context,
        horizon: int = typer.Option(120, "--horizon", help="Days ahead."),
        today: str = typer.Option(None, "--today"),
    ) -> None:
        """Without a subcommand: the upcoming renewals (as `kizuna renewals list`)."""
        if ctx.invoked_subcommand is None:
            _list(horizon, None, today)

    def _list(horizon: int, owner: int | None, today: str | None) -> None:
        from kizuna.renewals.service import upcoming

        with runtime() as rt, rt.transaction() as session:
            rows = upcoming(session, today=_today(today), horizon_days=horizon, owner_id=owner)
        typer.echo(
            f"{'id':>5} {'renews':<10} {'days':>4} {'ARR':>16} {'health':>8} {'risk':>5} {'model':<8} "
            f"{'CSM':<8} account"
        )
        for r in rows:
            health = "-" if r["health_score"] is None else f"{r['health_score']:.0f}/{r['health_band'] or ''}"
            risk = "-" if r["churn_probability"] is None else f"{r['churn_probability']:.1%}"
            flag = "  <- disagree" if r["disagreement"] else ""
            typer.echo(
                f"{r['renewal_id']:>5} {r['renewal_date']!s:<10} {r['days_left']:>4} "
                f"{_money(r['arr_minor'], r['currency']):>16} {health:>8} {risk:>5} {r['model_call'] or '-':<8} "
                f"{r['csm_call'] or '-':<8} {r['account_name']} ({r['owner_name'] or 'no owner'}){flag}"
            )
        typer.echo(f"{len(rows)} renewals in the next {horizon} days")

    @renewals.command("list")
    def list_(
        horizon: int = typer.Option(120, "--horizon"),
        owner: int = typer.Option(None, "--owner"),
        today: str = typer.Option(None, "--today"),
    ) -> None:
        """Contracts coming up for renewal with ARR, health, risk, the model's and the CSM's call."""
        _list(horizon, owner, today)

    @renewals.command("sync")
    def sync(
        today: str = typer.Option(None, "--today"),
        horizon: int = typer.Option(180, "--horizon"),
        min_term_months: int = typer.Option(12, "--min-term-months", help="Shorter contracts are left out."),
    ) -> None:
        """Bring the renewal center up to date from subscriptions (also part of `kizuna refresh`)."""
        from kizuna.renewals.service import sync_renewals

        with runtime() as rt, rt.transaction() as session:
            report = sync_renewals(session, today=_today(today), horizon_days=horizon, min_term_months=min_term_months)
        typer.echo(", ".join(f"{k}: {v}" for k, v in report.as_dict().items()))

    @renewals.command("call")
    def call(
        renewal_id: int,
        forecast_call: str = typer.Argument(..., metavar="CALL", help="commit, likely, at_risk or lost"),
        note: str = typer.Option(None, "--note"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Store the CSM's forecast call for a renewal."""
        from kizuna.renewals.service import disagrees, model_call, set_forecast_call

        with runtime() as rt, rt.transaction() as session:
            r = set_forecast_call(session, actor=actor, renewal_id=renewal_id, call=forecast_call, note=note)
            p = r.model_probability
        typer.echo(
            f"renewal {renewal_id}: CSM call {forecast_call}"
            + (f", model call {model_call(p)} ({p:.0%} to renew)" if p is not None else "")
            + ("  <- disagree" if disagrees(forecast_call, p) else "")
        )

    @renewals.command("forecast")
    def forecast(horizon: int = typer.Option(120, "--horizon"), today: str = typer.Option(None, "--today")) -> None:
        """Renewing ARR: up for renewal, model-weighted, CSM-weighted, by call, and the disagreements."""
        from kizuna.renewals.service import renewal_forecast

        with runtime() as rt, rt.transaction() as session:
            f = renewal_forecast(session, today=_today(today), horizon_days=horizon)
        cur = f["currency"]
        typer.echo(
            f"next {horizon} days: {f['renewals']} renewals, {_money(f['arr_up_for_renewal_minor'], cur)} ARR up"
        )
        typer.echo(
            f"  model-weighted renewing ARR: {_money(f['model_weighted_arr_minor'], cur)} "
            f"({f['with_model_call']} of {f['renewals']} with a model call)"
        )
        typer.echo(f"  CSM-weighted renewing ARR:   {_money(f['csm_weighted_arr_minor'], cur)}")
        for name, b in f["by_call"].items():
            typer.echo(f"    {name:<9} {b['renewals']:>4}  {_money(b['arr_minor'], cur):>16}")
        typer.echo(f"  disagreements (CSM vs model): {len(f['disagreements'])}")
        for r in f["disagreements"]:
            typer.echo(
                f"    {r['renewal_id']:>5} {r['account_name']}: CSM {r['csm_call']}, model {r['model_call']} "
                f"({r['model_probability']:.0%})"
            )

    @renewals.command("outcome")
    def outcome(
        renewal_id: int,
        result: str = typer.Argument(..., metavar="OUTCOME", help="renewed, expanded, downgraded or churned"),
        arr: int = typer.Option(None, "--arr", help="ARR after the renewal (minor units)."),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Record a renewal's outcome by hand (refresh reads it from the subscription history otherwise)."""
        from kizuna.renewals.service import record_outcome

        with runtime() as rt, rt.transaction() as session:
            r = record_outcome(session, actor=actor, renewal_id=renewal_id, outcome=result, arr_minor=arr)
        typer.echo(f"renewal {renewal_id}: {r.outcome} ({_money(r.outcome_arr_minor, r.currency)} ARR)")

    @renewals.command("outcomes")
    def outcomes_(
        days: int = typer.Option(365, "--days", help="Renewals decided in the last N days."),
        today: str = typer.Option(None, "--today"),
    ) -> None:
        """Outcomes of past renewals: by outcome, gross and net renewal rates, call accuracy."""
        from kizuna.renewals.service import outcomes

        end = _today(today)
        with runtime() as rt, rt.transaction() as session:
            o = outcomes(session, since=end - dt.timedelta(days=days), until=end)
        typer.echo(f"{o['renewals']} renewals decided in the last {days} days")
        for name, b in o["by_outcome"].items():
            typer.echo(f"  {name:<11} {b['renewals']:>4}  {_money(b['arr_minor'])} -> {_money(b['outcome_arr_minor'])}")
        for label, key in (
            ("gross renewal rate", "gross_renewal_rate"),
            ("net renewal rate", "net_renewal_rate"),
            ("CSM call accuracy", "csm_call_accuracy"),
        ):
            typer.echo(f"  {label}: {'-' if o[key] is None else format(o[key], '.1%')}")
        typer.echo(
            f"  model Brier score: {'-' if o['model_brier_score'] is None else format(o['model_brier_score'], '.3f')}"
        )

    @expansion.command("detect")
    def detect(today: str = typer.Option(None, "--today"), actor: str = typer.Option("cli")) -> None:
        """Find expansion signals and open upsell / cross-sell opportunities (also part of `kizuna refresh`)."""
        from kizuna.renewals.expansion import open_expansion_opportunities

        with runtime() as rt, rt.transaction() as session:
            report = open_expansion_opportunities(
                session, actor=actor, today=_today(today), events_dir=settings().events_dir
            )
        typer.echo(", ".join(f"{k}: {v}" for k, v in report.as_dict().items()))

    @expansion.command("signals")
    def signals(today: str = typer.Option(None, "--today"), limit: int = typer.Option(50, "--limit")) -> None:
        """Expansion signals seen, newest first."""
        from sqlalchemy import select

        from kizuna.accounts.models import Account
        from kizuna.renewals.models import ExpansionSignal

        with runtime() as rt, rt.transaction() as session:
            rows = session.execute(
                select(ExpansionSignal, Account.name)
                .join(Account, Account.id == ExpansionSignal.account_id)
                .order_by(ExpansionSignal.last_seen_on.desc(), ExpansionSignal.strength.desc())
                .limit(limit)
            ).all()
            for s, name in rows:
                typer.echo(
                    f"{s.account_id:>6} {s.signal:<17} {s.strength:.2f}  seen {s.first_seen_on}..{s.last_seen_on}"
                    f"  opp {s.opportunity_id or '-'}  {name}: {s.detail}"
                )
        typer.echo(f"{len(rows)} signals")

    @expansion.command("pipeline")
    def pipeline(limit: int = typer.Option(30, "--limit")) -> None:
        """Upsell and cross-sell opportunities by stage, and the open ones with their signals."""
        from kizuna.renewals.expansion import expansion_pipeline

        with runtime() as rt, rt.transaction() as session:
            p = expansion_pipeline(session, limit=limit)
        for kind, stages in p["by_kind"].items():
            typer.echo(
                f"{kind:<10} "
                + "  ".join(f"{st}: {v['opportunities']} ({_money(v['amount_minor'])} MRR)" for st, v in stages.items())
            )
        for o in p["open"][:limit]:
            signals = "; ".join(f"{x['signal']}: {x['detail']}" for x in o["signals"])
            typer.echo(
                f"{o['opportunity_id']:>6} {o['kind']:<10} {_money(o['amount_minor'], o['currency']):>14} MRR  "
                f"{o['account_name']}  [{signals[:120]}]"
            )
        typer.echo(f"{p['open_total']} open expansion opportunities")

    @expansion.command("close")
    def close(
        opportunity_id: int,
        won: bool = typer.Option(..., "--won/--lost"),
        amount: int = typer.Option(None, "--amount", help="Final MRR added (minor units)."),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Close an expansion opportunity as won or lost."""
        from kizuna.renewals.expansion import close_opportunity

        with runtime() as rt, rt.transaction() as session:
            o = close_opportunity(session, actor=actor, opportunity_id=opportunity_id, won=won, amount_minor=amount)
        typer.echo(f"opportunity {opportunity_id}: {o.stage}")
