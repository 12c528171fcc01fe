"""The ``kizuna`` command line. Each domain adds its commands in its own ``cli.py`` (``register(app)``), listed in
``kizuna.domains``.

Heavy libraries are imported inside the commands, so ``kizuna --help`` stays fast.
"""

from __future__ import annotations

import logging

import typer

from kizuna.cli import core
from kizuna.domains import DOMAINS
from kizuna.platform.cli.common import state
from kizuna.web import cli as web_cli


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
        data_dir: str = typer.Option(
            None, "--data-dir", help="Data directory (default: $KIZUNA_DATA_DIR or ./kizuna-data)."
        ),
        database_url: str = typer.Option(
            None, "--database-url", help="App database URL (default: SQLite in data dir)."
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
    ) -> None:
        logging.basicConfig(
            level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
        )
        overrides: dict[str, object] = {}
        if data_dir:
            overrides["data_dir"] = data_dir
        if database_url:
            overrides["database_url"] = database_url
        state.overrides = overrides

    core.register(app)
    web_cli.register(app)
    connect = typer.Typer(
        help="Link kizuna to the billing, CRM, chat and mail systems a team runs (credentials, sync, status).",
        no_args_is_help=True,
    )
    app.add_typer(connect, name="connect")
    for domain in DOMAINS:
        for register in domain.commands:
            register(app)
        for register in domain.connect:
            register(connect)
    return app


def main() -> None:
    from kizuna.platform.cli.common import run_app

    run_app(build_app())
