"""The demo company's other hub rows: billing, onboarding, tickets, surveys, VoC, CS activities and the funnel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from kizuna.demo.generator import DemoSummary
    from kizuna.demo.simulate import World


def write_records(
    conn: Connection, world: World, account_ids: np.ndarray[Any, Any], summary: DemoSummary, say: Callable[[str], None]
) -> None:
    """Insert the rows drawn from the hidden world besides accounts, contacts and subscriptions."""
