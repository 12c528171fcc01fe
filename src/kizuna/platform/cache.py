"""Figures a page reads on every request but that move only with imports, refreshes and a CSM's writes: kept for
a while per database (a whole portfolio's aggregates on the 50,000-account demo cost 100-200 ms each).

Every cache of the app is a :class:`TtlCache`; :func:`clear_all` empties them (tests, after an import)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")

_ALL: list[TtlCache[object]] = []


class TtlCache(Generic[T]):
    """Values kept ``ttl`` seconds per database and key; at most ``size`` of them (the oldest quarter goes first)."""

    def __init__(self, *, ttl: float, size: int = 256) -> None:
        self.ttl, self.size = ttl, size
        self._values: dict[tuple[str, Hashable], tuple[float, T]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept for ``key`` in ``session``'s database, or ``compute()`` kept from now on."""
        full = (str(session.get_bind().engine.url), key)
        with self._lock:
            hit = self._values.get(full)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._values) >= self.size:
                for old in sorted(self._values, key=lambda k: self._values[k][0])[: max(1, self.size // 4)]:
                    del self._values[old]
            self._values[full] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def clear_all() -> None:
    """Empty every cache of the app."""
    for cache in _ALL:
        cache.clear()
