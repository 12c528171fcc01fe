"""``kizuna kpi``: show the stored KPI snapshot (series, tables, per-account metrics)."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import fail, runtime
from kizuna.platform.cli.output import print_frame

HEADLINE = (
    "mrr_minor",
    "arr_minor",
    "customers",
    "new_minor",
    "expansion_minor",
    "contraction_minor",
    "churn_minor",
    "reactivation_minor",
    "logo_churn_rate",
    "gross_revenue_churn_rate",
    "net_revenue_churn_rate",
    "grr",
    "nrr",
    "grr_12m",
    "nrr_12m",
    "quick_ratio",
    "arpa_minor",
    "ltv_minor",
    "cac_minor",
    "ltv_to_cac",
    "cac_payback_months",
    "renewal_rate",
    "nps",
    "csat",
)


def register(app: typer.Typer) -> None:
    @app.command()
    def kpi(
        name: str = typer.Argument(
            None,
            help="A metric (e.g. mrr_minor, nrr) or table (e.g. cohort_retention); "
            "none: this month's headline KPIs; 'list': every name.",
        ),
        as_of: str = typer.Option(None, "--as-of", help="Use the snapshot taken on or before this date (YYYY-MM-DD)."),
        by: str = typer.Option(None, "--by", help="Breakdown: plan, industry, region, owner_id, touch_tier, ..."),
        currency: str = typer.Option(None, "--currency", help="Only this currency (ISO 4217)."),
        fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    ) -> None:
        """Show SaaS KPIs from the last `kizuna refresh` (MRR, movements, churn, NRR/GRR, LTV/CAC, cohorts, funnel)."""
        import datetime as dt

        import pandas as pd

        from kizuna.kpis import service

        if fmt not in ("table", "csv", "json"):
            fail(f"unknown format {fmt!r}: use table, csv or json")
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            fail(f"--as-of {as_of!r} is not a date: use YYYY-MM-DD")
            return
        with runtime() as rt, rt.transaction() as session:
            names = service.metric_names(session, as_of=day)
            if name == "list":
                frame = pd.DataFrame({"name": names})
            elif name is None:
                frame = service.load_kpi(session, names=HEADLINE, as_of=day, by=by, currency=currency)
                if not frame.empty:
                    latest = frame.month.max()
                    frame = frame[frame.month == latest].assign(
                        currency=lambda f: f.currency.replace("", "(any currency)")
                    )
                    keys = ["currency", "dimension_value"] if by else ["currency"]
                    frame = frame.pivot_table(index="metric", columns=keys, values="value", aggfunc="first")
                    frame = frame.reindex([m for m in HEADLINE if m in frame.index]).reset_index()
                    frame.columns = [
                        " ".join(str(p) for p in c if p != "") if isinstance(c, tuple) else str(c)
                        for c in frame.columns
                    ]
            elif name in names:
                frame = service.load_kpi(session, names=[name], as_of=day, by=by, currency=currency)
                if frame.empty and (by or currency) and not service.load_kpi(session, names=[name], as_of=day).empty:
                    fail(f"KPI {name!r} has no rows for --by {by!r} --currency {currency!r}")  # (as the API says)
                if frame.empty:
                    frame = service.load_table(session, name=name, as_of=day)
                else:
                    frame = frame.drop(columns=["as_of", "metric", "dimension"] + ([] if by else ["dimension_value"]))
            else:
                fail(f"unknown KPI {name!r}: `kizuna kpi list` shows the names")
                return
        print_frame(frame, fmt)
