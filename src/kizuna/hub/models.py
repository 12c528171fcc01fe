"""The refreshes of the hub: when each ran and whether it acted (the back-fill watermark, ``kizuna.hub.watermark``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.db import Base, utcnow


class RefreshRun(Base):
    """One ``kizuna refresh`` that ran its steps. ``acted`` is False for a quiet refresh (the hub's first, unless
    told to act on history): its signals were the baseline, recorded and not acted on."""

    __tablename__ = "refresh_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    ran_at: Mapped[dt.datetime] = mapped_column(index=True)  # the moment its signals were judged against
    acted: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
