"""The one clock: today's date in UTC. Pages, jobs and services ask it instead of calling ``datetime.now`` apart."""

from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    """Today's calendar date in UTC."""
    return dt.datetime.now(dt.UTC).date()
