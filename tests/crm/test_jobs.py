"""The scheduler's leader pulls each connected CRM every ``connector_sync_minutes``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kizuna.connectors import credentials
from kizuna.connectors.models import ConnectorRun
from kizuna.crm import jobs
from kizuna.playbooks.jobs import Scheduler
from kizuna.runtime import Runtime
from tests.crm.peers import HubSpotPeer


def test_the_scheduler_pulls_a_connected_crm_when_it_is_due(
    runtime: Runtime, hubspot_peer: tuple[HubSpotPeer, str]
) -> None:
    peer, url = hubspot_peer
    scheduler = Scheduler(runtime, interval=0.1)
    try:
        assert "crm" not in scheduler.run_once()  # nothing connected
        credentials.save(runtime.settings, "hubspot", {"access_token": "pat-na1-test", "host": url})
        assert scheduler.run_once()["crm"] == {"hubspot": "partial"}
        assert "crm" not in scheduler.run_once()  # pulled a moment ago
    finally:
        scheduler.leader.release()
    with runtime.transaction() as session:
        [run] = session.scalars(select(ConnectorRun)).all()
        assert run.kind == "pull" and run.counts["created"] == 8 and run.counts["pushed"] == 4
        later = run.started_at + dt.timedelta(minutes=runtime.settings.connector_sync_minutes)
        assert jobs.due(session, settings=runtime.settings, now=later - dt.timedelta(seconds=1)) == []
        assert jobs.due(session, settings=runtime.settings, now=later) == ["hubspot"]
    assert any(r.startswith("search companies") for r in peer.requests)
