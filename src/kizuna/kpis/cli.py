"""``kizuna kpi``: show the stored KPI snapshot (series, tables, per-account metrics)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import typer

from kizuna.platform.cli.common import fail, runtime
from kizuna.platform.cli.output import print_frame

if TYPE_CHECKING:
    import pandas as pd

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
    "pause_minor",
    "resume_minor",
    "mrr_on_pause_minor",
    "churn_scheduled_mrr_minor",
    "churn_scheduled_customers",
    "trials_started",
    "trials_converted",
    "trials_expired",
    "trial_conversion_rate",
    "median_days_to_convert",
    "p25_days_to_convert",
    "p75_days_to_convert",
    "nps",
    "csat",
)


def headline(frame: pd.DataFrame, *, by: str | None) -> tuple[pd.DataFrame, str]:
    """The headline of a snapshot's series (``load_kpi`` rows): one column per currency (and breakdown value) for
    the last complete month, and beside it the month to date, each column saying which; and the title that says
    which period each covers. As of D means 00:00 UTC of D: D's month is complete only from the next month on."""
    from kizuna.kpis.review import last_complete_month

    as_of = frame.as_of.iloc[0]
    complete, current = last_complete_month(as_of), as_of.replace(day=1)
    last_day = as_of - dt.timedelta(days=1)
    periods = {complete: f"{complete:%Y-%m}", current: f"{current:%Y-%m} to date"}
    frame = frame[frame.month.isin(periods)].assign(
        currency=lambda f: f.currency.replace("", "(any currency)"), period=lambda f: f.month.map(periods)
    )
    keys = ["currency", "dimension_value", "period"] if by else ["currency", "period"]
    wide = frame.pivot_table(index="metric", columns=keys, values="value", aggfunc="first", sort=False)
    wide = wide.reindex(columns=sorted(wide.columns, key=lambda c: (c[:-1], c[-1].endswith("to date"))))
    wide = wide.reindex([m for m in HEADLINE if m in wide.index]).reset_index()
    wide.columns = [" ".join(str(p) for p in c if p != "") if isinstance(c, tuple) else str(c) for c in wide.columns]
    to_date = "no day yet" if current > last_day else f"{current:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    title = (
        f"KPIs of {complete:%Y-%m} (the last complete month) and of {current:%Y-%m} to date ({to_date}); "
        f"snapshot as of {as_of:%Y-%m-%d}. Money in minor units; MRR, ARR and customers at the period's end."
    )
    return wide, title


#: the KPIs next to which ``kizuna kpi`` repeats the unit-economics sanity checks of the page /unit-economics
UNIT_ECONOMICS_NAMES = frozenset({"ltv_minor", "cac_minor", "ltv_to_cac", "cac_payback_months"})


def sanity_warnings(month: dict[str, Any] | None, currency: str, language: str = "en") -> list[str]:
    """The sanity checks the month fails (``kizuna.analytics.kpi.unit_economics.implausible``), each in the words of
    the /unit-economics notice with the month's inputs (the same catalogue, so the CLI says what the page says)."""
    from kizuna.platform.web import i18n

    if not month or not month.get("implausible"):
        return []
    t = i18n.translator(language)
    churn = month.get("churn_rate_12m")
    values = {
        "ratio": "—" if month.get("ltv_to_cac") is None else f"{month['ltv_to_cac']:.1f}×",
        "payback": "—"
        if month.get("cac_payback_months") is None
        else t("kpis.months_n", n=f"{month['cac_payback_months']:.1f}"),
        "churn": i18n.format_percent(churn, 2),
        "lifetime": f"{1 / churn:.0f}" if churn else "∞",
        "margin": i18n.format_percent(month.get("gross_margin"), 0),
        "new": i18n.format_number(month.get("new_customers") or 0),
        "spend": i18n.format_money(month.get("spend_minor") or 0, currency, language),
    }
    head = f"{t('kpis.implausible.title')} ({month['month']:%Y-%m})"
    return [head, *(t(f"kpis.implausible.{code}", **values) for code in month["implausible"])]


def register(app: typer.Typer) -> None:
    @app.command()
    def kpi(
        name: str = typer.Argument(
            None,
            help="A metric (e.g. mrr_minor, nrr) or table (e.g. cohort_retention); "
            "none: the headline KPIs of the last complete month, the month to date beside them; 'list': every name.",
        ),
        as_of: str = typer.Option(None, "--as-of", help="Use the snapshot taken on or before this date (YYYY-MM-DD)."),
        by: str = typer.Option(
            None,
            "--by",
            help="Breakdown: plan, industry, region, owner_id, touch_tier, ..., or currency (each in its own amounts; "
            "the totals are in the base currency).",
        ),
        currency: str = typer.Option(None, "--currency", help="Only this currency (ISO 4217)."),
        fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    ) -> None:
        """Show SaaS KPIs from the last `kizuna refresh` (MRR, movements, churn, NRR/GRR, LTV/CAC, cohorts, funnel)."""
        import pandas as pd

        from kizuna.kpis import service

        if fmt not in ("table", "csv", "json"):
            fail(f"unknown format {fmt!r}: use table, csv or json")
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            fail(f"--as-of {as_of!r} is not a date: use YYYY-MM-DD")
            return
        title: str | None = None
        with runtime() as rt, rt.transaction() as session:
            names = service.metric_names(session, as_of=day)
            if name == "list":
                frame = pd.DataFrame({"name": names})
            elif name is None:
                frame = service.load_kpi(session, names=HEADLINE, as_of=day, by=by, currency=currency)
                title = None
                if not frame.empty:
                    frame, title = headline(frame, by=by)
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
            ltv_shown = name is None or name in UNIT_ECONOMICS_NAMES
            warnings = []
            if ltv_shown and day is None:  # the checks are of the newest snapshot's last complete month
                from kizuna.kpis.review import unit_economics

                economics = unit_economics(session)
                warnings = sanity_warnings(economics.month, economics.currency)
        print_frame(frame, fmt, title=title)
        for line in warnings:
            # on stderr, so csv/json output stays machine-readable
            typer.echo(f"warning: {line}", err=True)
