"""Refresh step: index new account notes and changed articles / playbooks for knowledge-base search."""

from __future__ import annotations

from typing import Any

from kizuna.hub.context import RefreshContext
from kizuna.knowledge import service


def refresh(ctx: RefreshContext) -> dict[str, Any]:
    with ctx.runtime.transaction() as session:
        counts = service.reindex(session)
    return {"indexed": counts}
