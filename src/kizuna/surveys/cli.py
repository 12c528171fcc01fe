"""``kizuna survey send|status|loop``."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime


def _parse_where(where: list[str]) -> list[dict[str, object]]:
    """``field=value``, ``field=a,b`` (in), ``field>=n``, ``field<=n`` -> playbook conditions."""
    conditions: list[dict[str, object]] = []
    for item in where:
        for op, name in ((">=", "gte"), ("<=", "lte"), ("!=", "ne"), ("=", "eq")):
            if op in item:
                field, value = item.split(op, 1)
                if name in ("gte", "lte"):
                    conditions.append({"field": field.strip(), name: float(value)})
                elif "," in value:
                    conditions.append({"field": field.strip(), "in" if name == "eq" else "not_in": value.split(",")})
                else:
                    conditions.append({"field": field.strip(), name: value.strip()})
                break
        else:
            raise typer.BadParameter(f"--where {item!r}: use field=value, field=a,b, field>=n or field<=n")
    return conditions


def register(app: typer.Typer) -> None:
    survey = typer.Typer(help="NPS / CSAT / CES surveys with personal links.", no_args_is_help=True)
    app.add_typer(survey, name="survey")

    @survey.command("send")
    def send(
        kind: str = typer.Option("nps", "--kind", help="nps, csat or ces"),
        name: str = typer.Option(None, "--name"),
        where: list[str] = typer.Option(None, "--where", help="Account condition, e.g. touch_tier=high,low"),
        role: list[str] = typer.Option(None, "--role", help="Only contacts with these roles."),
        champions_only: bool = typer.Option(False, "--champions-only"),
        campaign_id: int = typer.Option(None, "--campaign", help="Send an existing campaign (to new contacts)."),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Create a campaign (or take --campaign), invite its contacts, and deliver the emails."""
        from kizuna.platform.outbox.service import deliver_queued
        from kizuna.surveys.service import create_campaign, send_campaign

        with runtime() as rt:
            with rt.transaction() as session:
                if campaign_id is None:
                    filters: dict[str, object] = {}
                    if role:
                        filters["roles"] = role
                    if champions_only:
                        filters["champions_only"] = True
                    campaign = create_campaign(
                        session,
                        actor=actor,
                        name=name or f"{kind.upper()} survey",
                        kind=kind,
                        account_filter=_parse_where(where or []),
                        contact_filter=filters,
                    )
                    campaign_id = campaign.id
                invited = send_campaign(session, actor=actor, campaign_id=campaign_id, settings=rt.settings)
            report = deliver_queued(rt.sessions, settings=rt.settings, limit=100_000)
        typer.echo(f"campaign {campaign_id}: {invited} invited; emails {report.as_dict()}")

    @survey.command("status")
    def status(campaign_id: int = typer.Argument(None)) -> None:
        """Invited, answered, response rate, NPS (or mean score) and open follow-ups per campaign."""
        from kizuna.surveys.service import campaign_status

        with runtime() as rt, rt.transaction() as session:
            for row in campaign_status(session, campaign_id=campaign_id):
                typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))

    @survey.command("loop")
    def loop(
        response_id: int,
        status: str,
        note: str = typer.Option(None, "--note"),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Set a response's closed-loop status (open, in_progress, closed, not_needed)."""
        from kizuna.surveys.service import set_loop_status

        with runtime() as rt, rt.transaction() as session:
            set_loop_status(session, actor=actor, response_id=response_id, status=status, note=note)
        typer.echo(f"response {response_id}: {status}")
