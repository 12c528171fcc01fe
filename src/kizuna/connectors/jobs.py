"""Connector work that owns its transactions (the vendors' sync and back-fill jobs call it)."""

from __future__ import annotations

from kizuna.connectors import service
from kizuna.connectors.models import ConnectorRun
from kizuna.connectors.service import RunLog
from kizuna.runtime import Runtime


def finish_run(runtime: Runtime, run_id: int, run_log: RunLog, *, actor: str, error: str | None) -> ConnectorRun:
    """Close run ``run_id`` with ``run_log``'s counts (and ``error``) in a transaction of its own: a sync's batches
    committed before it stay whatever happened since. The run comes back detached."""
    with runtime.transaction(write=True) as session:
        run = session.get(ConnectorRun, run_id)
        assert run is not None
        service.finish_run(session, run, run_log, actor=actor, error=error)
        session.expunge(run)
    return run
