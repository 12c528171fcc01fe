"""``kizuna ltv``: lifetime value per plan (sBG) and per account (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime


def register(app: typer.Typer) -> None:
    ltv = typer.Typer(help="Lifetime value: sBG per plan, BG/NBD + Gamma-Gamma CLV per account.", no_args_is_help=True)
    app.add_typer(ltv, name="ltv")

    @ltv.command("plans")
    def plans(fmt: str = typer.Option("table", "--format", help="table, csv or json")) -> None:
        """sBG fit per plan: alpha, beta, expected lifetime (months), ARPA, LTV and fit_check (newest refresh);
        a degenerate or loose fit is warned about in plain words."""
        from types import SimpleNamespace

        from kizuna.ltv.service import FIT_PROBLEMS, cohort_fits, profile_intervals
        from kizuna.platform.cli.output import print_frame

        with runtime() as rt, rt.transaction() as session:
            fits = cohort_fits(session)
        print_frame(fits, fmt)
        for row in fits.to_dict("records") if not fits.empty else []:
            for problem in [] if row["fit_check"] == "ok" else row["fit_check"].split(","):
                # on stderr, so csv/json output stays machine-readable
                typer.echo(f"warning: plan {row['cohort']}: {FIT_PROBLEMS[problem]}", err=True)
            if row["fit_check"] != "ok" and (prof := profile_intervals(SimpleNamespace(**row))):
                typer.echo(
                    f"  plan {row['cohort']}: 95% profile-likelihood intervals: alpha {prof['alpha']}, beta "
                    f"{prof['beta']} (∞: the data set no upper bound); mean monthly churn {prof['churn']}",
                    err=True,
                )

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
