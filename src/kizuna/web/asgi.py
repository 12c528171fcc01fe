"""ASGI entry point for multi-worker servers: ``uvicorn kizuna.web.asgi:app`` (settings from ``KIZUNA_*``)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Built on first access, not at import time of the package.
    if name == "app":
        from kizuna.web.app import create_app

        return create_app(warm_caches=True)
    raise AttributeError(name)
