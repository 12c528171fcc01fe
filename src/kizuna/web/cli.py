"""``kizuna serve``: run the web app (and, for the demo, create an admin login)."""

from __future__ import annotations

import typer

from kizuna.platform.cli.common import runtime, settings

DEMO_ADMIN_EMAIL = "admin@kizuna.example"


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(8000, "--port", help="TCP port."),
        workers: int = typer.Option(1, "--workers", help="Worker processes (uvicorn)."),
        demo_login: bool = typer.Option(
            False, "--demo-login", help="Create (or reset) an admin login for the demo and print it."
        ),
    ) -> None:
        """Serve the web app and the REST and tracking APIs on http://HOST:PORT."""
        import secrets

        import uvicorn

        from kizuna.migrations import upgrade

        s = settings()
        s.ensure_dirs()
        upgrade(s.sqlalchemy_url)
        if demo_login:
            password = secrets.token_urlsafe(9)
            with runtime() as rt, rt.transaction() as session:
                ensure_admin(session, email=DEMO_ADMIN_EMAIL, password=password)
            typer.echo(f"demo login: {DEMO_ADMIN_EMAIL} / {password}")
        typer.echo(f"kizuna on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
        if workers > 1:
            import os

            # Worker processes build their own app from KIZUNA_* settings: hand them this command's choices.
            os.environ["KIZUNA_DATA_DIR"] = str(s.data_dir)
            if s.database_url:
                os.environ["KIZUNA_DATABASE_URL"] = s.database_url
            uvicorn.run("kizuna.web.asgi:app", host=host, port=port, workers=workers, log_level="warning")
        else:
            from kizuna.web.app import create_app

            uvicorn.run(create_app(s, warm_caches=True), host=host, port=port, log_level="warning")

    @app.command("create-user")
    def create_user(
        email: str = typer.Argument(..., help="Login e-mail."),
        role: str = typer.Option("csm", "--role", help="admin, manager, csm or viewer."),
        name: str = typer.Option("", "--name", help="Display name."),
        password: str = typer.Option(..., "--password", prompt=True, hide_input=True, help="At least 8 characters."),
    ) -> None:
        """Create a user of the web app."""
        from kizuna.auth import service

        with runtime() as rt, rt.transaction() as session:
            user = service.create_user(session, actor="cli", email=email, name=name, password=password, role=role)
            typer.echo(f"user {user.id} {user.email} ({user.role}) created")


def ensure_admin(session: object, *, email: str, password: str) -> None:
    """Create the admin ``email`` or reset its password (demo set-up)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from kizuna.auth import service
    from kizuna.auth.models import User

    assert isinstance(session, Session)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        service.create_user(session, actor="cli", email=email, name="Demo Admin", password=password, role="admin")
    else:
        service.set_password(session, actor="cli", user_id=user.id, password=password)
        service.update_user(session, actor="cli", user_id=user.id, role="admin", active=True)
