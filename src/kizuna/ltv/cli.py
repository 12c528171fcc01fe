"""``kizuna ltv``: lifetime value per plan (sBG) and per account (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime


def register(app: typer.Typer) -> None:
    ltv = typer.Typer(help="Lifetime value: sBG per plan, BG/NBD + Gamma-Gamma CLV per account.", no_args_is_help=True)
    app.add_typer(ltv, name="ltv")

    @ltv.command("plans")
    def plans(fmt: str = typer.Option("table", "--format", help="table, csv or json")) -> None:
        """sBG fit per plan: alpha, beta, expected lifetime (months), ARPA and LTV (as of the newest refresh)."""
        from kizuna.ltv.service import cohort_fits
        from kizuna.platform.cli.output import print_frame

        with runtime() as rt, rt.transaction() as session:
            print_frame(cohort_fits(session), fmt)

    @ltv.command("accounts")
    def accounts(
        limit: int = typer.Option(20, "--limit", help="How many accounts (highest CLV first)."),
        fmt: str = typer.Option("table", "--format", help="table, csv or json"),
    ) -> None:
        """Per-account probability alive, expected payments and 12-month CLV (as of the newest refresh)."""
        from kizuna.ltv.service import account_values
        from kizuna.platform.cli.output import print_frame

        with runtime() as rt, rt.transaction() as session:
            print_frame(account_values(session, limit=limit), fmt)
