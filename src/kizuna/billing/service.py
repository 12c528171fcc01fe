"""Billing queries shared by the domains that read subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_

from kizuna.billing.models import Subscription


def paid_lines_on(day: dt.date) -> Any:
    """Subscription versions running and paid on ``day``: started, not yet ended, not a trial, not churned."""
    return and_(
        Subscription.start_date <= day,
        or_(Subscription.end_date.is_(None), Subscription.end_date > day),
        Subscription.status.in_(("active", "cancelled")),
    )
