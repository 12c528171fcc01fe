"""``kizuna lifecycle set|history``, ``kizuna onboarding ...``, ``kizuna success-plan ...``."""

from __future__ import annotations

import datetime as dt

import typer

from kizuna.platform.cli.common import runtime
from kizuna.platform.paging import MAX_PER_PAGE, Paging


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _today(value: str | None) -> dt.date:
    return _date(value) or dt.datetime.now(dt.UTC).date()


def register(app: typer.Typer) -> None:
    lifecycle = typer.Typer(help="Lifecycle stages and their history.", no_args_is_help=True)
    onboarding = typer.Typer(
        help="Onboarding plans: templates, milestones, overdue, time-to-value.", no_args_is_help=True
    )
    plan = typer.Typer(help="Success plans: the customer's goals and KPIs with targets.", no_args_is_help=True)
    app.add_typer(lifecycle, name="lifecycle")
    app.add_typer(onboarding, name="onboarding")
    app.add_typer(plan, name="success-plan")

    @lifecycle.command("set")
    def set_stage(
        account_id: int, stage: str, reason: str = typer.Option(None, "--reason"), actor: str = typer.Option("cli")
    ) -> None:
        """Move an account to a lifecycle stage."""
        from kizuna.lifecycle.service import change_stage

        with runtime() as rt, rt.transaction() as session:
            change = change_stage(session, actor=actor, account_id=account_id, stage=stage, reason=reason)
        typer.echo(
            f"account {account_id}: {change.from_stage} -> {stage}"
            if change
            else f"account {account_id} is already {stage}"
        )

    @lifecycle.command("history")
    def history(account_id: int) -> None:
        """An account's lifecycle stage changes, oldest first."""
        from kizuna.lifecycle.service import stage_history

        with runtime() as rt, rt.transaction() as session:
            for c in stage_history(session, account_id=account_id):
                typer.echo(
                    f"{c.changed_at:%Y-%m-%d %H:%M}  {c.from_stage or '-'} -> {c.to_stage}  by {c.actor}"
                    + (f"  ({c.reason})" if c.reason else "")
                )

    @onboarding.command("templates")
    def templates() -> None:
        """Onboarding plan templates (the standard one is made on first use)."""
        from kizuna.lifecycle.service import ensure_default_template, list_templates

        with runtime() as rt, rt.transaction() as session:
            ensure_default_template(session, actor="cli")
            for t in list_templates(session):
                steps = ", ".join(
                    f"{m['kind']}+{m['due_after_days']}d{'*' if m['is_key'] else ''}" for m in t.milestones
                )
                typer.echo(f"{t.key:<20} tier {t.touch_tier or 'any':<5} {steps}")

    @onboarding.command("template-add")
    def template_add(
        key: str,
        milestone: list[str] = typer.Option(..., "--milestone", help="kind:days[:key], e.g. initial_setup:14:key"),
        name: str = typer.Option(None, "--name"),
        tier: str = typer.Option(None, "--tier", help="Make it the default for this touch tier."),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Save an onboarding plan template."""
        from kizuna.errors import InvalidInput
        from kizuna.lifecycle.service import create_template

        steps = []
        for text in milestone:
            parts = text.split(":")
            if len(parts) not in (2, 3) or not parts[1].isdigit():
                raise InvalidInput(f"--milestone {text!r}: use kind:days[:key]", value=text)
            steps.append({"kind": parts[0], "due_after_days": int(parts[1]), "is_key": parts[2:] == ["key"]})
        with runtime() as rt, rt.transaction() as session:
            create_template(session, actor=actor, key=key, name=name or key, milestones=steps, touch_tier=tier)
        typer.echo(f"template {key} saved with {len(steps)} milestones")

    @onboarding.command("start")
    def start(
        account_id: int,
        template: str = typer.Option(None, "--template"),
        start_on: str = typer.Option(None, "--start-on", help="YYYY-MM-DD (default: the account's creation day)."),
        owner: int = typer.Option(None, "--owner"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Instantiate an onboarding plan for an account."""
        from kizuna.lifecycle.service import start_onboarding

        with runtime() as rt, rt.transaction() as session:
            made = start_onboarding(
                session,
                actor=actor,
                account_id=account_id,
                template_key=template,
                start_on=_date(start_on),
                owner_id=owner,
            )
            for m in made:
                typer.echo(f"  {m.kind:<20} due {m.due_on}")
        typer.echo(f"{len(made)} milestones created for account {account_id}")

    @onboarding.command("status")
    def status(account_id: int, today: str = typer.Option(None, "--today")) -> None:
        """An account's milestones, their state and time-to-value."""
        from kizuna.lifecycle.service import onboarding_status

        with runtime() as rt, rt.transaction() as session:
            s = onboarding_status(session, account_id=account_id, today=_today(today))
        typer.echo(
            f"{s.account_name}: {s.done}/{s.total} done, {s.overdue} overdue, time-to-value "
            + (f"{s.time_to_value_days} days" if s.time_to_value_days is not None else "not reached")
        )
        for m in s.milestones:
            done = f"{m['completed_at']:%Y-%m-%d}" if m["completed_at"] else "-"
            typer.echo(
                f"  {m['kind']:<20} due {m['due_on']}  done {done:<10} {m['state']}{'  (key)' if m['is_key'] else ''}"
            )

    @onboarding.command("complete")
    def complete(
        account_id: int, kind: str, on: str = typer.Option(None, "--on"), actor: str = typer.Option("cli")
    ) -> None:
        """Mark a milestone done."""
        from kizuna.lifecycle.service import complete_milestone

        at = None
        if on:
            d = dt.date.fromisoformat(on)
            at = dt.datetime(d.year, d.month, d.day, 12, tzinfo=dt.UTC)
        with runtime() as rt, rt.transaction() as session:
            m = complete_milestone(session, actor=actor, account_id=account_id, kind=kind, at=at)
        typer.echo(f"account {account_id}: {kind} done on {m.completed_at!s:.10}")

    @onboarding.command("overdue")
    def overdue(
        owner: int = typer.Option(None, "--owner"),
        today: str = typer.Option(None, "--today"),
        limit: int = typer.Option(50, "--limit", min=1, max=MAX_PER_PAGE),
    ) -> None:
        """Open milestones past their due date (the ``--limit`` most overdue)."""
        from kizuna.lifecycle.service import overdue_milestones

        with runtime() as rt, rt.transaction() as session:
            found = overdue_milestones(session, today=_today(today), owner_id=owner, paging=Paging(1, limit))
        for r in found.items:
            typer.echo(
                f"{r['account_id']:>6} {r['kind']:<20} due {r['due_on']} ({r['days_overdue']} days)  "
                f"{r['account_name']}"
            )
        typer.echo(f"{found.total} overdue milestones")

    @onboarding.command("summary")
    def summary(today: str = typer.Option(None, "--today")) -> None:
        """Completion per milestone, overdue count and time-to-value across accounts."""
        from kizuna.lifecycle.service import onboarding_summary

        with runtime() as rt, rt.transaction() as session:
            s = onboarding_summary(session, today=_today(today))
        typer.echo(
            f"as of the KPI snapshot of {s['snapshot_as_of']}: accounts with a plan: {s['accounts']}, "
            f"complete: {s['complete']}, overdue milestones today: {s['overdue_milestones']}"
        )
        for kind, share in s["completion_by_kind"].items():
            typer.echo(f"  {kind:<20} {'-' if share is None else f'{share:.0%}'} done")
        typer.echo(
            f"time-to-value: median {s['time_to_value_days_median']} days "
            f"({s['time_to_value_reached']} accounts reached it)"
        )

    @plan.command("show")
    def show(account_id: int, today: str = typer.Option(None, "--today")) -> None:
        """An account's success plan: goals, KPIs, targets, progress."""
        from kizuna.lifecycle.service import success_plan

        with runtime() as rt, rt.transaction() as session:
            goals = success_plan(session, account_id=account_id, today=_today(today))
        for g in goals:
            progress = "-" if g["progress"] is None else f"{g['progress']:.0%}"
            late = "  PAST TARGET DATE" if g["past_target_date"] else ""
            typer.echo(
                f"{g['id']:>5} {g['status']:<11} {progress:>5}  {g['goal']}  [{g['kpi'] or '-'}: "
                f"{g['current_value']} -> {g['target_value']} {g['unit'] or ''} by {g['target_date'] or '-'}]"
                f"{late}"
            )
        typer.echo(f"{len(goals)} goals")

    @plan.command("add")
    def add(
        account_id: int,
        goal: str = typer.Option(..., "--goal"),
        kpi: str = typer.Option(None, "--kpi"),
        unit: str = typer.Option(None, "--unit"),
        baseline: float = typer.Option(None, "--baseline"),
        target: float = typer.Option(None, "--target"),
        target_date: str = typer.Option(None, "--target-date"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Add a goal (with its KPI and target) to an account's success plan."""
        from kizuna.lifecycle.service import add_goal

        with runtime() as rt, rt.transaction() as session:
            g = add_goal(
                session,
                actor=actor,
                account_id=account_id,
                goal=goal,
                kpi=kpi,
                unit=unit,
                baseline_value=baseline,
                target_value=target,
                target_date=_date(target_date),
            )
        typer.echo(f"goal {g.id} added to account {account_id}")

    @plan.command("update")
    def update(
        goal_id: int,
        current: float = typer.Option(None, "--current"),
        status: str = typer.Option(None, "--status"),
        note: str = typer.Option(None, "--note"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Record progress on a goal (reaching the target marks it achieved)."""
        from kizuna.lifecycle.service import update_goal

        with runtime() as rt, rt.transaction() as session:
            g = update_goal(session, actor=actor, goal_id=goal_id, current_value=current, status=status, note=note)
        typer.echo(f"goal {g.id}: {g.status} ({g.current_value} of {g.target_value})")
