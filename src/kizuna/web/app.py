"""The FastAPI app factory: ``create_app(settings)``. The database engine is created in the lifespan, never at import.

Every router except the public ones (login, health check, the survey response page, static files) is mounted with
the ``authorized`` dependency, so a route cannot forget authentication; ``tests/web/test_auth_everywhere.py`` walks
every route and proves it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kizuna.auth.deps import LANGUAGE_COOKIE, admin_only, authorized
from kizuna.domains import DOMAINS
from kizuna.imports.service import recover_interrupted_imports
from kizuna.migrations import require_current
from kizuna.platform.web import i18n
from kizuna.runtime import Runtime
from kizuna.settings import Settings
from kizuna.web import docs, errors, probes

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
REPO_ROOT = WEB_DIR.parents[2]
STATIC_DIR = WEB_DIR.parent / "platform" / "web" / "static"


#: scripts and styles only from kizuna itself (charts read their data from JSON blocks, never inline code); inline
#: style attributes for chart heights; no framing, no plugins, forms only to kizuna
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class LanguageAndHeaders:
    """Pure ASGI middleware (cheaper than ``@app.middleware``): picks the language from the ``kizuna_lang`` cookie and
    adds security headers and a ``Server-Timing`` header to every response."""

    def __init__(self, app: ASGIApp, *, default_language: str) -> None:
        self.app = app
        self.default_language = default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        lang = Request(scope).cookies.get(LANGUAGE_COOKIE)
        scope.setdefault("state", {})["language"] = lang if lang in i18n.LANGUAGES else self.default_language

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if scope.get("scheme") == "https":  # behind TLS (a proxy passes --proxy-headers): stay there
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
                headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def node_modules_dir() -> Path:
    return REPO_ROOT / "node_modules"


def _warm_dashboard(runtime: Runtime) -> None:
    import datetime as dt

    from kizuna.accounts import service as accounts
    from kizuna.accounts.schemas import AccountQuery
    from kizuna.dashboard import service

    try:
        with runtime.transaction() as session:
            today = dt.datetime.now(dt.UTC).date()
            service.portfolio(session, today=today)
            for sort in ("name", "-mrr", "renewal"):  # the accounts list's roster and what it sorts on
                accounts.list_accounts(session, AccountQuery(sort=sort), today=today)
    except Exception:  # a warm-up must never take the server down; the first request computes it instead
        log.warning("dashboard warm-up failed", exc_info=True)


class FirstRefresh:
    """Whether the installation has yet to compute anything (no KPI snapshot: ``kizuna refresh`` has not run): every
    page shows a notice until it has. Asked per page until a snapshot is there, never again after."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.done = False

    def pending(self) -> bool:
        runtime = getattr(self.app.state, "runtime", None)
        if self.done or runtime is None:
            return False
        from kizuna.kpis.service import latest_snapshot

        with runtime.transaction() as session:
            self.done = latest_snapshot(session) is not None
        return not self.done


def create_app(settings: Settings | None = None, *, warm_caches: bool = False) -> FastAPI:
    """Build the web app for ``settings``; the engine is opened in the lifespan and disposed at shutdown.

    ``warm_caches`` computes the dashboard's figures in the background at start-up (``kizuna serve`` does)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings)
        require_current(runtime.engine)
        app.state.runtime = runtime
        with runtime.transaction() as session:
            # an import killed half-way: its hidden files go, its batch stays only if its history row committed
            recover_interrupted_imports(session, settings)
        if warm_caches:
            # The portfolio of a large book takes seconds to compute; do it once in the background at start-up so
            # the first person to open the dashboard does not wait for it.
            threading.Thread(target=_warm_dashboard, args=(runtime,), name="kizuna-warm-up", daemon=True).start()
        scheduler = None
        if settings.scheduler_in_process:
            from kizuna.playbooks.jobs import start_scheduler

            scheduler = start_scheduler(runtime)
            app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                from kizuna.playbooks.jobs import stop_scheduler

                stop_scheduler(scheduler)
            runtime.close()

    app = FastAPI(
        title="kizuna",
        version="0.1.0",
        description="kizuna (絆) REST API: accounts, contacts, subscriptions, activities, metrics, scores, risk, "
        "tasks. Authenticate with an API key: `Authorization: Bearer <key>`.",
        lifespan=lifespan,
        # The spec and the docs are served by kizuna.web.docs, behind authentication.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    build_spec = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # built once; FastAPI keeps the dict, the errors are added to it in place
            errors.document_errors(build_spec())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.write_lock = threading.Lock()
    app.state.navigation = tuple(link for domain in DOMAINS for link in domain.nav)
    app.state.first_refresh = FirstRefresh(app)
    errors.install(app)

    app.add_middleware(LanguageAndHeaders, default_language=settings.language)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    vendor = node_modules_dir()
    if vendor.exists():
        app.mount("/vendor", StaticFiles(directory=vendor), name="vendor")
    else:
        log.warning("%s is missing: run `npm ci` (./dev.sh does) or charts will not draw", vendor)

    app.include_router(probes.router)
    app.include_router(docs.router, dependencies=[Depends(authorized)])
    for domain in DOMAINS:
        for router in domain.public:
            app.include_router(router)
        for router in domain.pages:
            app.include_router(router, dependencies=[Depends(authorized)])
        for router in domain.admin:
            app.include_router(router, dependencies=[Depends(admin_only)])
    return app
