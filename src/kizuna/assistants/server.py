"""kizuna as an MCP server (the official ``mcp`` SDK): ``kizuna mcp`` serves it on stdio for Claude Desktop and other
MCP clients (docs/assistants.md).

The server acts as one API key, given in ``KIZUNA_API_KEY`` when it starts: a key with the ``read`` scope gets the
read tools; ``write`` (or ``admin``) adds the safe writes — a task, an activity, a note on an account — each done
through the domain's service in its own transaction and written to the audit log as that key. Nothing else can be
changed through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from kizuna.assistants import tools
from kizuna.auth import service as auth
from kizuna.auth.service import Principal
from kizuna.errors import InvalidInput, KizunaError, PermissionDenied
from kizuna.platform import clock
from kizuna.runtime import Runtime

T = TypeVar("T")

INSTRUCTIONS = (
    "kizuna is a Customer Success platform. Use search_accounts to find an account, account_360 for its whole story "
    "(health, churn risk with drivers, renewal, tasks, what the customer said), kpis for the company's SaaS KPIs, "
    "upcoming_renewals for the renewal pipeline and search_knowledge for notes, FAQ articles and playbooks. "
    "Amounts ending in _minor are in the currency's minor unit (yen have none). Write tools record work for the CS "
    "team: create_task, log_activity, add_note."
)


def principal_of(runtime: Runtime, secret: str) -> Principal:
    """The API key the server acts as; it must be allowed to read."""
    with runtime.transaction() as session:
        principal = auth.api_key_principal(session, secret=secret)
    if not principal.can("read"):
        raise PermissionDenied("this API key may not read: give the MCP server a key with the read or write scope")
    return principal


def build_server(runtime: Runtime, principal: Principal) -> MCPServer:
    """The MCP server with the tools ``principal`` may use."""
    server: MCPServer = MCPServer("kizuna", instructions=INSTRUCTIONS, version="0.1.0")

    def read(work: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any, **kwargs: Any) -> T:
            with _told(), runtime.transaction() as session:
                return work(session, *args, **kwargs)

        return run

    def write(work: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any, **kwargs: Any) -> T:
            with _told():
                if not principal.can("write"):
                    raise PermissionDenied("this API key may only read (give it the write scope to record work)")
                with runtime.transaction(write=True) as session:
                    return work(session, *args, **kwargs)

        return run

    @server.tool()
    def search_accounts(query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Find accounts by part of their name or by external id."""
        return read(tools.search_accounts)(query, limit=limit)

    @server.tool()
    def account_360(account: str) -> dict[str, Any]:
        """One account's whole story: contract and MRR, next renewal, CSM, health per scorecard, churn risk with its
        drivers, open tasks, recent activities and what the customer said. ``account``: id, external id or name."""
        return read(tools.account_360)(account, today=clock.today())

    @server.tool()
    def kpis(names: list[str] | None = None) -> dict[str, Any]:
        """The latest month of SaaS KPIs from the stored snapshot (default: MRR, ARR, customers, NRR/GRR 12 months,
        logo churn rate, NPS). Names as in `kizuna kpi` (mrr_minor, nrr_12m, ltv_to_cac, ...)."""
        return read(tools.kpi_values)(names)

    @server.tool()
    def upcoming_renewals(days: int = 90, limit: int = 50) -> list[dict[str, Any]]:
        """Renewals due within ``days`` days, soonest first, with ARR, the model's renewal probability and the
        CSM's call."""
        return read(tools.upcoming_renewals)(today=clock.today(), days=days, limit=limit)

    @server.tool()
    def search_knowledge(query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Search notes, FAQ articles and playbooks (Japanese-aware)."""
        return read(tools.search_knowledge)(query, limit=limit)

    @server.tool()
    def create_task(account: str, title: str, due_on: str | None = None, priority: str = "normal") -> dict[str, Any]:
        """Create a task on an account for its CSM. ``due_on``: YYYY-MM-DD; ``priority``: low, normal, high,
        urgent. Needs the write scope."""
        with _told():
            due = _date(due_on)
        return write(tools.create_task)(
            actor=principal.actor, account=account, title=title, due_on=due, priority=priority
        )

    @server.tool()
    def log_activity(account: str, kind: str, subject: str, body: str | None = None) -> dict[str, Any]:
        """Record a meeting, call, email or qbr on an account's timeline. Needs the write scope."""
        return write(tools.log_activity)(actor=principal.actor, account=account, kind=kind, subject=subject, body=body)

    @server.tool()
    def add_note(account: str, text: str) -> dict[str, Any]:
        """Add a note to an account's timeline (searchable in the knowledge base). Needs the write scope."""
        subject = text.strip().splitlines()[0][:120] if text.strip() else ""
        return write(tools.log_activity)(
            actor=principal.actor, account=account, kind="note", subject=subject, body=text
        )

    return server


@contextmanager
def _told() -> Iterator[None]:
    """kizuna's own errors (bad input, not found, not allowed) reach the assistant as its message; anything else is
    a crash the SDK reports without its text."""
    try:
        yield
    except KizunaError as exc:
        raise ToolError(exc.message) from exc


def _date(value: str | None) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"due_on {value!r} is not a date (YYYY-MM-DD)", field="due_on", value=value) from exc
