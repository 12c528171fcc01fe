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
            False,
            "--demo-login",
            help="Create (or reset) an admin login for the demo, reset the login of the CSM with the largest book, "
            "and print both.",
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
            csm_password = secrets.token_urlsafe(9)
            with runtime() as rt, rt.transaction() as session:
                ensure_admin(session, email=DEMO_ADMIN_EMAIL, password=password)
                csm_email = reset_busiest_csm(session, password=csm_password)
            typer.echo(f"demo login: {DEMO_ADMIN_EMAIL} / {password}")
            if csm_email:
                typer.echo(f"demo CSM login: {csm_email} / {csm_password}")
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
        team_member: str = typer.Option(
            "", "--team-member", help="Link the user to this team member (e-mail or id): their accounts, their cockpit."
        ),
    ) -> None:
        """Create a user of the web app."""
        from kizuna.accounts.service import find_team_member
        from kizuna.auth import service

        with runtime() as rt, rt.transaction() as session:
            member = find_team_member(session, team_member) if team_member else None
            user = service.create_user(
                session,
                actor="cli",
                email=email,
                name=name or (member.name if member else ""),
                password=password,
                role=role,
                team_member_id=member.id if member else None,
            )
            linked = f", linked to {member.name} ({member.id})" if member else ""
            typer.echo(f"user {user.id} {user.email} ({user.role}) created{linked}")


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


def reset_busiest_csm(session: object, *, password: str) -> str | None:
    """Give a new password to the active CSM login whose team member owns the most accounts (the demo's CSM to try
    the cockpit with); returns its e-mail, or None when no user is linked to a team member."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from kizuna.accounts.models import Account
    from kizuna.auth import service
    from kizuna.auth.models import Role, User

    assert isinstance(session, Session)
    book = (
        select(Account.owner_id.label("member"), func.count(Account.id).label("accounts"))
        .group_by(Account.owner_id)
        .subquery()
    )
    user = session.scalar(
        select(User)
        .join(book, book.c.member == User.team_member_id)
        .where(User.role == Role.csm, User.active.is_(True))
        .order_by(book.c.accounts.desc(), User.id)
        .limit(1)
    )
    if user is None:
        return None
    service.set_password(session, actor="cli", user_id=user.id, password=password)
    return user.email
