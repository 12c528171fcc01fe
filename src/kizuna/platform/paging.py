"""One shape for every list that grows with time or customers: a page of items and how many the whole list holds.

The API answers every such list as ``{"items": [...], "total": N, "page": P, "per_page": K}`` (:class:`Page`), asked
for with the same ``page`` and ``per_page`` query parameters (``kizuna.platform.web.deps.Pages``); the web pages page
theirs with the same :class:`Paging`. A page past the last one is empty (``total`` still says how many there are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

#: a SELECT of any columns
AnySelect = Select[*tuple[Any, ...]]

#: the rows one page holds unless asked otherwise, and at most
PER_PAGE = 50
MAX_PER_PAGE = 500
#: the highest page number asked for (bounded so that the offset stays a small number)
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Paging:
    """Which page of a list: ``page`` counts from 1, ``per_page`` rows each."""

    page: int = 1
    per_page: int = PER_PAGE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"page {self.page} of {self.per_page} rows is out of bounds")

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    def pages(self, total: int) -> int:
        """How many pages ``total`` rows fill (at least one: an empty list has an empty first page)."""
        return max(1, -(-total // self.per_page))

    def within(self, total: int) -> Paging:
        """This page, or the last one when this is past it (the web pages show the last page instead of none)."""
        return Paging(min(self.page, self.pages(total)), self.per_page)


class Page(BaseModel, Generic[T]):
    """One page of a list and the size of the whole list."""

    items: list[T]
    total: int = Field(description="Rows in the whole list (every page).")
    page: int = Field(description="This page's number, from 1.")
    per_page: int = Field(description="Rows a page holds.")

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def count_rows(session: Session, stmt: AnySelect) -> int:
    """How many rows ``stmt`` gives (its order and any limit dropped)."""
    counted = select(func.count()).select_from(stmt.order_by(None).limit(None).offset(None).subquery())
    return int(session.scalar(counted) or 0)


def page_of(session: Session, stmt: AnySelect, paging: Paging) -> tuple[list[Any], int]:
    """The rows of ``stmt`` on ``paging``'s page, and how many rows ``stmt`` gives in all. ``stmt`` must be ordered
    by something unique, or rows may move between pages."""
    rows = list(session.execute(stmt.offset(paging.offset).limit(paging.per_page)).all())
    if paging.page == 1 and len(rows) < paging.per_page:
        return rows, len(rows)  # the whole list is on this page: no count query
    return rows, count_rows(session, stmt)
