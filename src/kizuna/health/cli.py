"""``kizuna health ...``: scorecards, scores, explanations, overrides and backtests."""

from __future__ import annotations

import datetime as dt
import json

import typer

from kizuna.platform.cli.common import runtime


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def register(app: typer.Typer) -> None:
    health = typer.Typer(
        help="Health scores: scorecards, scores, explanations, CSM overrides, backtests.", no_args_is_help=True
    )
    app.add_typer(health, name="health")

    @health.command("scorecards")
    def list_scorecards() -> None:
        """List the scorecards in force (built-in and <data_dir>/scorecards/*.yaml)."""
        from kizuna.health.service import scorecards_with_backtests

        with runtime() as rt, rt.transaction() as session:
            cards = scorecards_with_backtests(session, rt.settings)
        for card in cards:
            weights = ", ".join(f"{m['name']} {m['weight']:g}" for m in card["measures"])
            b = card["backtest"]
            tested = (
                "" if b is None or b["roc_auc"] is None else f"; backtest ROC-AUC {b['roc_auc']:.3f} (v{b['version']})"
            )
            typer.echo(
                f"{card['name']} v{card['version']} (red < {card['thresholds']['red']:g}, "
                f"green >= {card['thresholds']['green']:g}): {weights}{tested}"
            )
            if card["warning"]:
                typer.echo(f"WARNING: {card['warning']}", err=True)

    @health.command("score")
    def score(
        as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today)."),
        backfill: int = typer.Option(0, "--backfill", help="Also score the past DAYS days (point in time)."),
        every: int = typer.Option(7, "--every", help="Days between backfilled dates."),
    ) -> None:
        """Compute and store the health scores of every account in force (optionally back-filling history)."""
        from kizuna.health.jobs import refresh as health_refresh
        from kizuna.hub.context import RefreshContext

        day = _date(as_of) or dt.datetime.now(dt.UTC).date()
        days = [day - dt.timedelta(days=k) for k in range(backfill - backfill % every, 0, -every)] + [day]
        with runtime() as rt:
            ctx = RefreshContext(runtime=rt, as_of=day)
            for d in days:
                ctx.as_of = d  # one context: the hub tables are read once for every date
                out = health_refresh(ctx)
                typer.echo(json.dumps(out, ensure_ascii=False, default=str))

    @health.command("show")
    def show(
        account_id: int = typer.Argument(..., help="Account id."),
        scorecard: str = typer.Option("overall", "--scorecard", "-s"),
    ) -> None:
        """An account's latest scores with each measure's contribution, its trend and the last change explained."""
        from kizuna.health.service import explain_score_change, health_trend, latest_scores

        with runtime() as rt, rt.transaction() as session:
            rows = latest_scores(session, account_id=account_id)
            for r in rows:
                flag = (
                    f" (override #{r.override_id}; computed {r.computed_score} {r.computed_band})"
                    if r.override_id
                    else ""
                )
                typer.echo(
                    f"{r.scorecard} v{r.scorecard_version} {r.as_of}: {r.score} {r.band}{flag}"
                    + (f"; missing, weight redistributed: {', '.join(r.missing)}" if r.missing else "")
                )
                if r.scorecard == scorecard:
                    for c in r.contributions:
                        typer.echo(
                            f"  {c['measure']:<20} value={c['value']} points={c['points']} "
                            f"weight={c['effective_weight']} -> {c['contribution']}"
                        )
            if any(r.scorecard == scorecard for r in rows):
                typer.echo(
                    json.dumps(
                        health_trend(session, account_id=account_id, scorecard=scorecard),
                        ensure_ascii=False,
                        default=str,
                    )
                )
                typer.echo(
                    json.dumps(
                        explain_score_change(session, account_id=account_id, scorecard=scorecard),
                        ensure_ascii=False,
                        default=str,
                        indent=1,
                    )
                )

    @health.command("explain")
    def explain(
        account_id: int = typer.Argument(...),
        scorecard: str = typer.Option("overall", "--scorecard", "-s"),
        since: str = typer.Option(None, "--since", help="Compare with the score on or before this day."),
    ) -> None:
        """Which measures moved the score, and by how many points."""
        from kizuna.health.service import explain_score_change

        with runtime() as rt, rt.transaction() as session:
            out = explain_score_change(session, account_id=account_id, scorecard=scorecard, since=_date(since))
        typer.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1))

    @health.command("override")
    def override(
        account_id: int = typer.Argument(...),
        band: str = typer.Option(..., "--band", help="red, yellow or green."),
        reason: str = typer.Option(..., "--reason"),
        expires: str = typer.Option(..., "--expires", help="First day it no longer applies (YYYY-MM-DD)."),
        scorecard: str = typer.Option("overall", "--scorecard", "-s"),
        score: float = typer.Option(None, "--score", help="Optional 0-100 score to show instead of the computed one."),
        author: str = typer.Option(..., "--author", help="Who overrides (recorded in the audit log)."),
    ) -> None:
        """Override an account's health band until a date; the computed score is kept next to it."""
        from kizuna.health.service import record_override

        with runtime() as rt, rt.transaction() as session:
            o = record_override(
                session,
                actor=author,
                account_id=account_id,
                scorecard=scorecard,
                band=band,
                reason=reason,
                expires_on=dt.date.fromisoformat(expires),
                score=score,
            )
            typer.echo(f"override #{o.id}: account {account_id} {scorecard} -> {band} until {o.expires_on}")

    @health.command("backtest")
    def backtest(
        scorecard: str = typer.Option("overall", "--scorecard", "-s"),
        file: str = typer.Option(None, "--file", help="Backtest this scorecard YAML file instead."),
        as_of: str = typer.Option(None, "--as-of", help="End of the data (default today)."),
        every: int = typer.Option(30, "--every", help="Days between sample dates."),
        horizon: int = typer.Option(90, "--horizon", help="Churn horizon in days."),
        as_json: bool = typer.Option(False, "--json"),
        store: bool = typer.Option(
            False, "--store", help="Store the result (with the portfolio's history): the health pages show it."
        ),
    ) -> None:
        """Score every past date and compare with churn in the following horizon."""
        from kizuna.analytics.engine import connect
        from kizuna.analytics.risk.features import training_samples
        from kizuna.analytics.scoring.backtest import backtest_scorecard
        from kizuna.health.service import scorecards
        from kizuna.hub.warehouse import hub_tables
        from kizuna.usage.store import EventStore
        from kizuna.voc.service import entry_sentiment

        with runtime() as rt:
            cards = scorecards(rt.settings)
            if file:
                from pathlib import Path

                from kizuna.analytics.scoring.scorecard import load_scorecard

                card = load_scorecard(Path(file))
                cards[card.name] = card
                scorecard = card.name
            if scorecard not in cards:
                from kizuna.errors import NotFound

                raise NotFound(f"no scorecard {scorecard!r}; have {', '.join(cards)}")
            day = _date(as_of) or dt.datetime.now(dt.UTC).date()
            tables = hub_tables(connect(rt.settings.analytics_engine), rt.engine, EventStore(rt.settings.events_dir))
            with rt.transaction() as session:
                voc_scores = entry_sentiment(session)  # stored per-text sentiment, weighted at each past date
            if store:
                from kizuna.health.service import backtest_history, behaviour_sources, store_backtest, with_behaviour

                measures, seen = backtest_history(tables, as_of=day, every_days=every, voc_scores=voc_scores)
                if behaviour_sources([cards[scorecard]]):
                    measures = with_behaviour(tables, measures)
                with rt.transaction() as session:
                    row = store_backtest(
                        session,
                        card=cards[scorecard],
                        measures=measures,
                        churns=seen,
                        as_of=day,
                        horizon_days=horizon,
                        every_days=every,
                    )
                    typer.echo(f"backtest #{row.id} of {scorecard} v{row.scorecard_version} stored: {row.metrics}")
                return
            samples, churns = training_samples(
                tables, observed_until=day, horizon_days=horizon, every_days=every, voc_scores=voc_scores
            )
            if samples.empty or samples["churned"].nunique() < 2:
                from kizuna.errors import NotEnoughData
                from kizuna.hub.history import history_cause

                cause = history_cause(tables, as_of=day, horizon_days=horizon, samples=samples)
                raise NotEnoughData(f"not enough history to backtest the {scorecard} scorecard as of {day}: {cause}")
            result = backtest_scorecard(samples, cards[scorecard], churns, observed_until=day, horizon_days=horizon)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str, indent=1))
            return
        typer.echo(
            f"{scorecard} v{result.version}: "
            + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.metrics.items())
        )
        typer.echo(result.by_band.to_string(index=False))
        auc = result.metrics.get("roc_auc", float("nan"))
        if auc == auc and auc < 0.5:
            typer.echo(f"WARNING: {scorecard} ranks churn worse than random on its own backtest (ROC-AUC {auc:.3f})")

    @health.command("calibrate")
    def calibrate(
        scorecard: str = typer.Option("overall", "--scorecard", "-s"),
        as_of: str = typer.Option(None, "--as-of", help="End of the data (default today)."),
        every: int = typer.Option(30, "--every", help="Days between sample dates."),
        horizon: int = typer.Option(90, "--horizon", help="Churn horizon in days."),
        approve: bool = typer.Option(False, "--approve", help="Save the proposal as the next scorecard version."),
        author: str = typer.Option(None, "--author", help="Who approves (recorded in the audit log)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Propose weights and thresholds learned from churn on a time split, beside the current scorecard's
        backtest; nothing changes unless a person approves it (--approve --author)."""
        from kizuna.analytics.engine import connect
        from kizuna.analytics.scoring.calibration import calibrate_scorecard, measure_coverage, mostly_absent
        from kizuna.errors import InvalidInput, NotFound
        from kizuna.health.service import (
            backtest_history,
            behaviour_candidates,
            behaviour_family,
            behaviour_sources,
            below_random,
            latest_backtests,
            proposal_path,
            save_scorecard_version,
            scorecards,
            store_proposal,
            with_behaviour,
        )
        from kizuna.hub.warehouse import hub_tables
        from kizuna.usage.store import EventStore
        from kizuna.voc.service import entry_sentiment

        if approve and not author:
            raise InvalidInput("--approve needs --author (who approves the new version)", field="author")
        with runtime() as rt:
            cards = scorecards(rt.settings)
            if scorecard not in cards:
                raise NotFound(f"no scorecard {scorecard!r}; have {', '.join(cards)}")
            day = _date(as_of) or dt.datetime.now(dt.UTC).date()
            tables = hub_tables(connect(rt.settings.analytics_engine), rt.engine, EventStore(rt.settings.events_dir))
            with rt.transaction() as session:
                voc_scores = entry_sentiment(session)
                stored = latest_backtests(session).get(scorecard)
            measures, churns = backtest_history(tables, as_of=day, every_days=every, voc_scores=voc_scores)
            coverage = measure_coverage(measures[measures["active"].astype(bool)], cards[scorecard])
            candidates: list[str] = []
            if mostly_absent(coverage) or behaviour_sources([cards[scorecard]]):
                # the scorecard's own measures mostly have no data here: offer the company's own product events
                measures = with_behaviour(tables, measures)
                candidates = behaviour_candidates(measures)
            result = calibrate_scorecard(
                measures,
                cards[scorecard],
                churns,
                observed_until=day,
                horizon_days=horizon,
                candidates=candidates,
                family=behaviour_family,
            )
            out = result.to_dict()
            out["stored_backtest"] = (
                None
                if stored is None
                else {"version": stored.scorecard_version, "as_of": stored.as_of, **stored.metrics}
            )
            if as_json:
                typer.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1))
            else:
                current, proposed = result.current, result.proposed
                if stored is not None:
                    auc = stored.metrics.get("roc_auc")
                    typer.echo(
                        f"stored backtest of {scorecard} v{stored.scorecard_version} ({stored.as_of}): ROC-AUC {auc}"
                    )
                    if below_random(stored):
                        typer.echo(f"WARNING: {scorecard} v{stored.scorecard_version} ranks churn worse than random")
                nodata = [c["measure"] for c in result.changes if c["action"] == "dropped_no_data"]
                if nodata:
                    typer.echo(f"no data in this company (weight re-spread over the rest): {', '.join(nodata)}")
                added = [c["measure"] for c in result.changes if c["action"].startswith("added")]
                if added:
                    typer.echo(f"proposed from this company's own product events: {', '.join(added)}")
                typer.echo(f"time split at {result.split_date}; on the dates after it:")
                for label, card, m in (
                    ("current ", current, result.test_current),
                    ("proposed", proposed, result.test_proposed),
                ):
                    typer.echo(
                        f"  {label} v{card.version} (red < {card.red_below:g}, green >= {card.green_from:g}): "
                        f"ROC-AUC {m['roc_auc']:.3f}, lift {m['lift_top_decile']:.2f}, "
                        f"red {m['red_share']:.1%} catching {m['red_recall']:.1%} of churners, "
                        f"green {m['green_share']:.1%}"
                    )
                for c in result.changes:
                    typer.echo(f"  {c['measure']:<22} {c['old_weight']:>6g} -> {c['new_weight']:>6g}  {c['action']}")
            if approve:
                with rt.transaction() as session:
                    path = save_scorecard_version(session, actor=author, card=result.proposed, settings=rt.settings)
                proposal_path(rt.settings, scorecard).unlink(missing_ok=True)
                typer.echo(f"saved {scorecard} v{result.proposed.version} to {path}")
            else:
                store_proposal(rt.settings, out)
                if not as_json:
                    typer.echo(f"not applied: approve it on /health/{scorecard}, or rerun with --approve --author NAME")
