"""Users linked to team members: by an administrator in Settings, by ``kizuna create-user --team-member``, one login
per CSM from ``kizuna demo`` (``kizuna serve --demo-login`` gives the busiest one a password), and where each role
lands after logging in."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from kizuna import models as m
from kizuna.auth import service
from kizuna.auth.models import User
from kizuna.cli import build_app
from kizuna.errors import NotAuthenticated
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web.cli import reset_busiest_csm
from tests.web.fixtures import PASSWORD, WebWorld, csrf_of


def _user(world: WebWorld, email: str) -> User:
    with world.runtime.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def test_an_admin_links_and_unlinks_a_user(world: WebWorld) -> None:
    with world.runtime.transaction() as session:
        member = m.TeamMember(external_id="TM-link", name="鈴木 一郎", email="suzuki@example.jp")
        session.add(member)
        session.flush()
        member_id = member.id
    client = world.client("admin")
    page = client.get("/settings")
    assert 'list="team-members"' in page.text and "鈴木 一郎" in page.text
    token = csrf_of(page.text)
    created = client.post(
        "/settings/users",
        data={
            "email": "suzuki-login@example.jp",
            "password": "long enough",
            "role": "csm",
            "team_member": "SUZUKI@example.jp",
            "csrf_token": token,
        },
    )
    assert created.status_code == 303
    user = _user(world, "suzuki-login@example.jp")
    assert user.team_member_id == member_id
    # re-link by id, then unlink with a blank field; a role change alone leaves the link alone
    viewer = _user(world, "viewer@example.jp")
    form = {"role": "viewer", "active": "true", "csrf_token": token}
    link = {**form, "link_team_member": "true"}
    assert client.post(f"/settings/users/{viewer.id}", data={**link, "team_member": str(member_id)}).status_code == 303
    assert _user(world, "viewer@example.jp").team_member_id == member_id
    assert client.post(f"/settings/users/{viewer.id}", data=form).status_code == 303
    assert _user(world, "viewer@example.jp").team_member_id == member_id
    assert client.post(f"/settings/users/{viewer.id}", data={**link, "team_member": ""}).status_code == 303
    assert _user(world, "viewer@example.jp").team_member_id is None
    unknown = client.post(f"/settings/users/{viewer.id}", data={**link, "team_member": "nobody@example.jp"})
    assert unknown.status_code == 404
    assert "鈴木 一郎" in client.get("/settings").text


def test_a_csm_lands_on_the_cockpit_and_a_manager_on_the_portfolio(world: WebWorld) -> None:
    for role, landing in (("csm", "/me"), ("manager", "/"), ("csm", "/tasks?page=2")):
        client = world.client()
        token = csrf_of(client.get("/login").text)
        wanted = landing if landing.startswith("/tasks") else "/"
        response = client.post(
            "/login",
            data={"email": f"{role}@example.jp", "password": PASSWORD, "csrf_token": token, "next": wanted},
        )
        assert response.status_code == 303 and response.headers["location"] == landing, role


def test_demo_logins_per_csm_and_the_demo_login_of_serve(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    cli = build_app()
    args = ["--data-dir", str(data)]
    made = CliRunner().invoke(cli, [*args, "demo", "--accounts", "20", "--years", "1", "--seed", "3", "--no-playbooks"])
    assert made.exit_code == 0, made.output
    runtime = Runtime.open(Settings(data_dir=data))
    try:
        with runtime.transaction() as session:
            csms = session.scalars(select(m.TeamMember).where(m.TeamMember.role == "csm")).all()
            logins = {u.team_member_id: u for u in session.scalars(select(User))}
            assert csms and {c.id for c in csms} <= set(logins)
            assert all(logins[c.id].role == "csm" and logins[c.id].email == c.email for c in csms)
            # nobody can use a demo login before a password is set
            try:
                service.authenticate(session, email=str(csms[0].email), password="")
            except NotAuthenticated:
                pass
            else:
                raise AssertionError("a demo login without a password let someone in")
            email = reset_busiest_csm(session, password="a new password")
            assert email is not None
            user = service.authenticate(session, email=email, password="a new password")
            busiest = max(
                csms,
                key=lambda c: len(session.scalars(select(m.Account.id).where(m.Account.owner_id == c.id)).all()),
            )
            assert user.team_member_id == busiest.id
            member_id, member_name, member_email = csms[-1].id, csms[-1].name, str(csms[-1].email)
        create = ["create-user", "lead@example.jp", "--role", "manager", "--password", "long enough"]
        linked = CliRunner().invoke(cli, [*args, *create, "--team-member", member_email.upper()])
        assert linked.exit_code == 0, linked.output
        assert member_name in linked.output
        with runtime.transaction() as session:
            lead = session.scalars(select(User).where(User.email == "lead@example.jp")).one()
            assert lead.team_member_id == member_id and lead.name == member_name
        unknown = CliRunner().invoke(
            cli, [*args, "create-user", "x@example.jp", "--password", "long enough", "--team-member", "404"]
        )
        assert unknown.exit_code != 0
    finally:
        runtime.close()
