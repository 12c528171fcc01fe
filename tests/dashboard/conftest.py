"""The demo company of the page crawls (tests/web/demo_app.py), its KPI snapshot taken once more: the refresh's
lifecycle step starts onboarding plans for new accounts after the KPI step has run, so the nightly refresh after
it is the one that counts them (as on a real installation)."""

from __future__ import annotations

import pytest

from kizuna.runtime import Runtime
from tests.web.demo_app import END, DemoApp
from tests.web.demo_app import demo_app as demo_app


@pytest.fixture(scope="session")
def review_app(demo_app: DemoApp) -> DemoApp:
    import datetime as dt

    from kizuna.domains import refresh

    runtime = Runtime.open(demo_app.settings)
    try:
        refresh(runtime, as_of=dt.date.fromisoformat(END), only=["kpis", "leakage"])
    finally:
        runtime.close()
    return demo_app
