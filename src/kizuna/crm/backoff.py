"""Calls to a CRM that wait and try again on rate limits (HTTP 429, Salesforce's REQUEST_LIMIT_EXCEEDED) and on
server errors, honouring the vendor's Retry-After when it sends one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kizuna.connectors.service import RunLog

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; between them the vendor's Retry-After (seconds) or else ``base_seconds`` doubled
    each time, never more than ``max_seconds``."""

    attempts: int = 6
    base_seconds: float = 1.0
    max_seconds: float = 120.0

    def call(
        self,
        fn: Callable[[], T],
        *,
        retry_after: Callable[[Exception], float | None],
        what: str,
        run_log: RunLog,
    ) -> T:
        """``fn()``; when it raises, ``retry_after(error)`` says whether to try again: None (do not: re-raise),
        0 (yes, after the back-off) or the seconds the vendor asked for."""
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as error:
                asked = retry_after(error)
                if asked is None or attempt == self.attempts - 1:
                    raise
                wait = min(self.max_seconds, asked if asked > 0 else self.base_seconds * 2**attempt)
                run_log.count("retries")
                log.warning(
                    "%s: %s; trying again in %.2f s (attempt %s of %s)", what, error, wait, attempt + 2, self.attempts
                )
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
