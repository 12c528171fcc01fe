"""The tasks list (``/tasks``) and the JSON API through the app ``kizuna serve`` builds: paged with the total count,
filters kept in pager links, and complete / snooze / reassign in place, back on the same filtered page."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from kizuna import models as m
from kizuna.platform.clock import today
from kizuna.tasks.models import Task
from kizuna.tasks.service import create_task
from tests.web.fixtures import WebWorld, csrf_of


def _tasks(world: WebWorld, n: int) -> list[int]:
    """``n`` open tasks of the world's CSM, every third one high priority, due from ten days ago onwards."""
    ids = []
    with world.runtime.transaction() as session:
        for i in range(n):
            task, _ = create_task(
                session,
                actor="test",
                title=f"フォロー{i:03d}",
                account_id=world.account_id,
                owner_id=world.team_member_id,
                priority="high" if i % 3 == 0 else "normal",
                due_on=today() + dt.timedelta(days=i - 10),
            )
            ids.append(task.id)
    return ids


def _task(world: WebWorld, task_id: int) -> Task:
    with world.runtime.transaction() as session:
        task = session.get(Task, task_id)
        assert task is not None
        session.expunge(task)
        return task


def test_the_list_is_paged_and_the_pager_keeps_the_filters(world: WebWorld) -> None:
    _tasks(world, 160)
    client = world.client("csm")
    html = client.get("/tasks", params={"owner_id": world.team_member_id, "priority": "high"}).text
    assert html.count('class="task-actions"') == 50
    assert "54件" in html  # 160 tasks, every third one high: 54
    pager = re.search(r'id="tasks-pager">(.*?)</div>', html, re.S)
    assert pager is not None
    assert f'href="/tasks?owner_id={world.team_member_id}&amp;priority=high&amp;page=2"' in pager.group(1)
    last = client.get("/tasks", params={"owner_id": world.team_member_id, "priority": "high", "page": 2}).text
    assert last.count('class="task-actions"') == 4 and "フォロー159" in last
    overdue = client.get("/tasks", params={"due": "overdue", "owner_id": ""}).text
    assert overdue.count('class="task-actions"') == 10
    assert client.get("/tasks", params={"priority": "extreme"}).status_code == 400
    export = client.get("/tasks", params={"priority": "high", "format": "csv"})
    assert export.status_code == 200 and export.text.count("フォロー") == 54


def test_complete_snooze_and_reassign_in_place_keep_the_page(world: WebWorld) -> None:
    ids = _tasks(world, 60)
    client = world.client("csm")
    back = f"/tasks?owner_id={world.team_member_id}&status=open&page=2"
    html = client.get(back).text
    token = csrf_of(html)
    # the forms carry the page's own URL
    assert f'name="next" value="/tasks?owner_id={world.team_member_id}&amp;status=open&amp;page=2"' in html
    target = ids[59]
    assert f'action="/tasks/{target}/complete"' in html

    done = client.post(f"/tasks/{target}/complete", data={"next": back, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == back
    assert _task(world, target).status == "done"
    assert client.post(f"/tasks/{ids[58]}/complete", data={"next": back}).status_code == 403  # no CSRF token

    day = today() + dt.timedelta(days=3)
    snoozed = client.post(
        f"/tasks/{ids[57]}/snooze", data={"preset": day.isoformat(), "next": back, "csrf_token": token}
    )
    assert snoozed.status_code == 303 and snoozed.headers["location"] == back
    assert (_task(world, ids[57]).status, _task(world, ids[57]).snoozed_until) == ("snoozed", day)
    picked = today() + dt.timedelta(days=20)
    client.post(f"/tasks/{ids[56]}/snooze", data={"until": picked.isoformat(), "next": back, "csrf_token": token})
    assert _task(world, ids[56]).snoozed_until == picked
    past = client.post(f"/tasks/{ids[55]}/snooze", data={"until": today().isoformat(), "csrf_token": token})
    assert past.status_code == 400
    listed = client.get("/tasks", params={"status": "snoozed"}).text
    assert "フォロー057" in listed and "フォロー056" in listed and "フォロー055" not in listed

    with world.runtime.transaction() as session:
        other = m.TeamMember(external_id="TM-other", name="高橋 次郎", email="takahashi@example.jp")
        session.add(other)
        session.flush()
        other_id = other.id
    moved = client.post(
        f"/tasks/{ids[54]}/reassign", data={"owner_id": str(other_id), "next": back, "csrf_token": token}
    )
    assert moved.status_code == 303 and moved.headers["location"] == back
    assert _task(world, ids[54]).owner_id == other_id

    # a "next" that leaves the site goes back to the list instead
    off_site = client.post(f"/tasks/{ids[53]}/complete", data={"next": "//evil.example/x", "csrf_token": token})
    assert off_site.headers["location"] == "/tasks"
    viewer = world.client("viewer")
    viewer_page = viewer.get("/tasks").text
    assert 'class="task-actions"' not in viewer_page
    refused = viewer.post(f"/tasks/{ids[52]}/complete", data={"csrf_token": csrf_of(viewer.get("/me").text)})
    assert refused.status_code == 403


def test_the_360_completes_a_task_and_comes_back_to_its_tasks(world: WebWorld) -> None:
    ids = _tasks(world, 2)
    client = world.client("csm")
    html = client.get(f"/accounts/{world.account_id}").text
    assert f'name="next" value="/accounts/{world.account_id}#tasks"' in html
    response = client.post(
        f"/tasks/{ids[0]}/complete", data={"next": f"/accounts/{world.account_id}#tasks", "csrf_token": csrf_of(html)}
    )
    assert response.headers["location"] == f"/accounts/{world.account_id}#tasks"
    assert "フォロー000" not in client.get(f"/accounts/{world.account_id}").text


def test_the_api_is_paged_with_the_total(world: WebWorld) -> None:
    _tasks(world, 30)
    client = world.client("csm")
    first = client.get("/api/v1/tasks", params={"per_page": 20}).json()
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (30, 1, 20, 20)
    second = client.get("/api/v1/tasks", params={"per_page": 20, "page": 2, "priority": "high"}).json()
    assert second["total"] == 10 and second["items"] == []
    with world.runtime.transaction() as session:
        assert session.scalar(select(Task.id).where(Task.title == "フォロー000")) == first["items"][0]["id"]
