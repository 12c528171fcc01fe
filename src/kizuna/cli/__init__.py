"""The ``kizuna`` command line. Each domain adds its commands in its own ``cli.py`` through ``register(app)``.

Heavy libraries are imported inside the commands, so ``kizuna --help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging

import typer

from kizuna.platform.cli.common import state

# Domains that add commands; each module has ``register(app: typer.Typer) -> None``.
DOMAIN_CLIS = [
    "kizuna.cli.core",
    "kizuna.imports.cli",
    "kizuna.demo.cli",
    "kizuna.kpis.cli",
    "kizuna.playbooks.cli",
    "kizuna.tasks.cli",
    "kizuna.surveys.cli",
    "kizuna.web.cli",
    "kizuna.health.cli",
    "kizuna.risk.cli",
    "kizuna.ltv.cli",
    "kizuna.segments.cli",
    "kizuna.lifecycle.cli",
    "kizuna.renewals.cli",
    "kizuna.knowledge.cli",
    "kizuna.voc.cli",
]


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="kizuna",
        help="kizuna (絆): Customer Success for subscription businesses. Data hub, SaaS KPIs, health scores, "
        "churn risk, playbooks and the voice of the customer.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        data_dir: str = typer.Option(None, "--data-dir", help="Data directory (default: $KIZUNA_DATA_DIR or ./kizuna-data)."),
        database_url: str = typer.Option(None, "--database-url", help="App database URL (default: SQLite in data dir)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
    ) -> None:
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        overrides: dict[str, object] = {}
        if data_dir:
            overrides["data_dir"] = data_dir
        if database_url:
            overrides["database_url"] = database_url
        state.overrides = overrides

    for module_name in DOMAIN_CLIS:
        importlib.import_module(module_name).register(app)
    return app


def main() -> None:
    from kizuna.platform.cli.common import run_app

    run_app(build_app())
