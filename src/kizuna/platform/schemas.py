"""What every JSON body the API takes has in common: strict types, and dates written as ISO 8601 text.

A body's fields take their own type only: ``true`` is not the integer 1, ``"12"`` is not 12, ``1.0`` is not an id,
``0`` is not a date (pydantic's lax mode reads all of them; a client that sends ``owner_id: true`` has a bug we must
not hide). Every text field states its longest length (at most its column's), so an over-long value is a 422 naming
the field before the database sees it (PostgreSQL refuses what SQLite stores).

Query and form parameters stay lax: they arrive as text and are read as the type they declare.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class RequestBody(BaseModel):
    """Base of the API's JSON request bodies: strict types (see the module)."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False)


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a date as YYYY-MM-DD") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueError("a date is text as YYYY-MM-DD")


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a date and time in ISO 8601") from None
    if isinstance(value, dt.datetime):
        return value
    raise ValueError("a date and time is text in ISO 8601 (2026-04-01T09:00:00+09:00)")


#: a calendar day written ``YYYY-MM-DD`` (pydantic alone also reads numbers and ``"2024"`` as Unix times)
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
#: an instant written in ISO 8601 (a naive one is for the service to refuse where a time zone is needed)
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
