"""``kizuna segments list|create|evaluate|members|history``, ``kizuna tiers apply|policy``, ``kizuna coverage``,
``kizuna assign``."""

from __future__ import annotations

import datetime as dt

import typer

from kizuna.platform.cli.common import runtime


def _today(value: str | None) -> dt.date:
    return dt.date.fromisoformat(value) if value else dt.datetime.now(dt.UTC).date()


def _money(minor: int | None, currency: str = "JPY") -> str:
    return "-" if minor is None else f"{minor:,} {currency}"


def register(app: typer.Typer) -> None:
    segments = typer.Typer(help="Rule-based and RFM segments with membership history.", no_args_is_help=True)
    app.add_typer(segments, name="segments")
    tiers = typer.Typer(help="ACV-based touch tiers (high / low / tech touch).", no_args_is_help=True)
    app.add_typer(tiers, name="tiers")

    @segments.command("list")
    def list_() -> None:
        """Saved segments with their member counts."""
        from kizuna.segments.service import list_segments

        with runtime() as rt, rt.transaction() as session:
            for s in list_segments(session):
                state = "" if s.active else "  (inactive)"
                typer.echo(f"{s.key:<32} {s.member_count:>6}  {s.kind:<5} {s.name}{state}")

    @segments.command("create")
    def create(
        key: str,
        name: str = typer.Option(None, "--name"),
        rule: list[str] = typer.Option(
            None, "--rule", help='A condition as JSON, e.g. \'{"field": "arr_minor", "gte": 1000000}\'; repeatable.'
        ),
        match: str = typer.Option("all", "--match", help="all (AND) or any (OR) of the rules."),
        rfm: str = typer.Option(None, "--rfm", help="An RFM segment name instead of rules, e.g. 'at risk'."),
        description: str = typer.Option(None, "--description"),
        evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate", help="Compute its members now."),
        today: str = typer.Option(None, "--today"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Save a segment definition (and compute its members)."""
        import json

        from kizuna.errors import InvalidInput
        from kizuna.segments.service import create_segment, evaluate_segments

        try:
            rules = [json.loads(r) for r in rule or []]
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--rule is not JSON: {exc}") from exc
        definition = {"rfm_segment": rfm} if rfm else {"match": match, "rules": rules}
        with runtime() as rt, rt.transaction() as session:
            create_segment(
                session, actor=actor, key=key, name=name or key, definition=definition, description=description
            )
            members = None
            if evaluate:
                report = evaluate_segments(session, actor=actor, today=_today(today), keys=[key])
                members = report.segments[0].members
        typer.echo(f"segment {key} saved" + (f" with {members} members" if members is not None else ""))

    @segments.command("evaluate")
    def evaluate(
        keys: list[str] = typer.Argument(None, help="Segments to evaluate (default: every active one)."),
        today: str = typer.Option(None, "--today"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Re-evaluate segments now; joins and leaves are kept as history."""
        from kizuna.segments.service import evaluate_segments

        with runtime() as rt, rt.transaction() as session:
            report = evaluate_segments(session, actor=actor, today=_today(today), keys=keys or None)
        for s in report.segments:
            typer.echo(f"{s.key:<32} {s.members:>6} members  +{s.joined} -{s.left}")

    @segments.command("members")
    def members(key: str, limit: int = typer.Option(100, "--limit")) -> None:
        """Current members of a segment, with why they joined."""
        from kizuna.segments.service import segment_members

        with runtime() as rt, rt.transaction() as session:
            rows = segment_members(session, key=key)
        for row in rows[:limit]:
            typer.echo(f"{row['account_id']:>6} {row['touch_tier'] or '-':<5} {row['name']}  ({row['reason']})")
        typer.echo(f"{len(rows)} members")

    @segments.command("history")
    def history(key: str, account_id: int = typer.Option(None, "--account")) -> None:
        """Membership history: when each account joined and left."""
        from kizuna.segments.service import membership_history

        with runtime() as rt, rt.transaction() as session:
            for m in membership_history(session, key=key, account_id=account_id):
                typer.echo(
                    f"account {m.account_id:>6}  joined {m.joined_at:%Y-%m-%d %H:%M}  left {m.left_at:%Y-%m-%d %H:%M}"
                    if m.left_at
                    else f"account {m.account_id:>6}  joined {m.joined_at:%Y-%m-%d %H:%M}  (member)"
                )

    @tiers.command("apply")
    def tiers_apply(today: str = typer.Option(None, "--today"), actor: str = typer.Option("cli")) -> None:
        """Set every account's touch tier from its ACV (changes are kept as history)."""
        from kizuna.segments.service import apply_tiers

        with runtime() as rt, rt.transaction() as session:
            report = apply_tiers(session, actor=actor, today=_today(today))
        p = report.policy
        typer.echo(
            f"policy: high >= {_money(p['high_touch_min_acv_minor'], p['currency'])} ACV, "
            f"low >= {_money(p['low_touch_min_acv_minor'], p['currency'])}, else tech"
        )
        typer.echo("  ".join(f"{t}: {report.counts.get(t, 0)}" for t in ("high", "low", "tech")))
        typer.echo(f"{report.changed} accounts changed tier")

    @tiers.command("policy")
    def tiers_policy(
        high: int = typer.Option(..., "--high", help="Minimum ACV (minor units) for high touch."),
        low: int = typer.Option(..., "--low", help="Minimum ACV (minor units) for low touch."),
        currency: str = typer.Option("JPY", "--currency"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Save new tier thresholds (run `kizuna tiers apply` or `kizuna refresh` to apply them)."""
        from kizuna.segments.service import set_tier_policy

        with runtime() as rt, rt.transaction() as session:
            set_tier_policy(
                session, actor=actor, high_touch_min_acv_minor=high, low_touch_min_acv_minor=low, currency=currency
            )
        typer.echo(f"tier policy saved: high >= {_money(high, currency)}, low >= {_money(low, currency)}")

    @tiers.command("capacity")
    def tiers_capacity(
        high: int = typer.Option(None, "--high", help="Accounts one CSM can carry in high touch."),
        low: int = typer.Option(None, "--low", help="Accounts one CSM can carry in low touch."),
        tech: int = typer.Option(None, "--tech", help="Accounts one CSM can carry in tech touch."),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Show or set the capacity of each touch tier (accounts per CSM); a CSM's load sums over the tiers."""
        from kizuna.segments.service import set_tier_capacities, tier_capacities

        given = {t: v for t, v in (("high", high), ("low", low), ("tech", tech)) if v is not None}
        with runtime() as rt, rt.transaction() as session:
            capacities = (
                set_tier_capacities(session, actor=actor, capacities=given) if given else tier_capacities(session)
            )
        typer.echo("  ".join(f"{t}: {n} accounts per CSM" for t, n in capacities.items()))

    @app.command("coverage")
    def coverage(today: str = typer.Option(None, "--today")) -> None:
        """Books of business per CSM against capacity: over-, under- and balanced coverage."""
        from kizuna.segments.service import books_of_business, tier_capacities, unassigned_accounts

        with runtime() as rt, rt.transaction() as session:
            books = books_of_business(session, today=_today(today))
            unassigned = len(unassigned_accounts(session))
            capacities = tier_capacities(session)
        typer.echo("capacity: " + "  ".join(f"{t}: {n} accounts per CSM" for t, n in capacities.items()))
        typer.echo(f"{'CSM':<16} {'accounts':>8} {'cap':>5} {'ARR':>16} {'ARR cap':>16} {'load':>6}  coverage  tiers")
        for b in books:
            load = "-" if b.load is None else f"{b.load:.0%}"
            tiers_text = " ".join(f"{k}:{v}" for k, v in sorted(b.by_tier.items()))
            typer.echo(
                f"{b.owner_name:<16} {b.accounts:>8} {b.capacity_accounts or '-':>5} "
                f"{_money(b.arr_minor, b.currency):>16} {_money(b.capacity_arr_minor, b.currency):>16} "
                f"{load:>6}  {b.coverage:<9} {tiers_text}"
            )
        typer.echo(f"unassigned accounts: {unassigned}")

    @app.command("assign")
    def assign(
        strategy: str = typer.Option("least_loaded", "--strategy", help="least_loaded or round_robin."),
        tier: str = typer.Option(None, "--tier", help="Only accounts of this touch tier."),
        csm: list[int] = typer.Option(None, "--csm", help="Team member ids of the pool (default: every CSM)."),
        account: list[int] = typer.Option(None, "--account", help="Re-assign these accounts (default: unowned)."),
        dry_run: bool = typer.Option(False, "--dry-run"),
        today: str = typer.Option(None, "--today"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Assign an owner to accounts without one, round-robin or least-loaded within each tier."""
        from kizuna.segments.service import assign_accounts

        with runtime() as rt, rt.sessions() as session:
            done = assign_accounts(
                session,
                actor=actor,
                today=_today(today),
                strategy=strategy,
                tier=tier,
                csm_ids=csm or None,
                account_ids=account or None,
            )
            for a in done:
                typer.echo(f"{a.account_id:>6} {a.tier or '-':<5} {a.account_name} -> {a.owner_name}")
            if dry_run:
                session.rollback()
            else:
                session.commit()
        typer.echo(f"{len(done)} accounts {'would be ' if dry_run else ''}assigned")
