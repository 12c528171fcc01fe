"""The accounts list's roster: every account's list columns in memory, filtered and sorted in Python.

In SQL, every new view of a large list (a search, a sort by MRR or renewal) is a ``LIKE`` over every name and a
join and sort of every account; with several clients and worker processes those first requests set the list's p95.
The roster is read once (kept a minute by the service like its other choices) and a view is then a pass of Python
over it (figures: docs/benchmarks.md). Search and filters mean what :func:`kizuna.accounts.service._filtered` means
in SQL; ``tests/accounts/test_roster.py`` checks they select and order the same accounts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from bisect import bisect_right

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.accounts.schemas import AccountQuery


@dataclasses.dataclass(frozen=True)
class RosterRow:
    id: int
    text: str  # name and external id, lower-cased, for the search
    name_rank: int  # position of the name in the database's own order (its collation)
    owner_id: int | None
    lifecycle_stage: str | None
    touch_tier: str | None
    industry: str | None
    region: str | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Roster:
    """Every account's list columns, in the database's ``(name, id)`` order."""

    rows: list[RosterRow]
    text: str  # every row's search text in one string, rows apart by NUL
    starts: list[int]  # where each row's text starts in it

    def ordered_ids(
        self,
        query: AccountQuery,
        variants: list[str],
        *,
        mrr: dict[int, int] | None = None,
        renewal: dict[int, dt.date] | None = None,
    ) -> list[int]:
        """Ids of the accounts matching ``query`` (``variants``: the search's forms) in its order, ties by id.
        A sort by MRR needs ``mrr``, by renewal ``renewal`` (next renewal date per account, those without absent)."""
        candidates = [self.rows[k] for k in self._search([v.lower() for v in variants])] if variants else self.rows
        rows = [r for r in candidates if _matches(r, query)]
        key = query.sort.lstrip("-")
        desc = query.sort.startswith("-")
        if key == "name":
            if desc:
                rows.sort(key=lambda r: (-r.name_rank, r.id))
            return [r.id for r in rows]  # already in (name, id) order
        rows.sort(key=lambda r: r.id)
        if key == "created":
            rows.sort(key=lambda r: r.created_at, reverse=desc)  # stable: ties stay by id
            return [r.id for r in rows]
        if key == "mrr":
            if mrr is None:
                raise ValueError("a sort by MRR needs the MRR per account")
            rows.sort(key=lambda r: mrr.get(r.id, 0), reverse=desc)
            return [r.id for r in rows]
        if renewal is None:
            raise ValueError("a sort by renewal needs the renewal dates")
        dated = [r.id for r in rows if r.id in renewal]
        dated.sort(key=lambda i: renewal[i], reverse=desc)
        return dated + [r.id for r in rows if r.id not in renewal]  # accounts without a renewal last

    def _search(self, variants: list[str]) -> list[int]:
        """Indexes (in roster order) of the rows whose text contains any of ``variants``: ``str.find`` over one
        string runs in C, where testing every row's text would be a Python loop."""
        text, starts = self.text, self.starts
        found: set[int] = set()
        for variant in filter(None, variants):
            at = text.find(variant)
            while at != -1:
                k = bisect_right(starts, at) - 1
                found.add(k)
                at = text.find(variant, starts[k + 1]) if k + 1 < len(starts) else -1
        return sorted(found)


def _matches(row: RosterRow, query: AccountQuery) -> bool:
    if query.owner_id is not None and row.owner_id != (None if query.owner_id == 0 else query.owner_id):
        return False
    return (
        (not query.lifecycle_stage or row.lifecycle_stage == query.lifecycle_stage)
        and (not query.touch_tier or row.touch_tier == query.touch_tier)
        and (not query.industry or row.industry == query.industry)
        and (not query.region or row.region == query.region)
    )


def read_roster(session: Session) -> Roster:
    """Every account's list columns."""
    result = session.execute(
        select(
            Account.id,
            Account.name,
            Account.external_id,
            Account.owner_id,
            Account.lifecycle_stage,
            Account.touch_tier,
            Account.industry,
            Account.region,
            Account.created_at,
        ).order_by(Account.name, Account.id)
    )
    rows, rank, last = [], -1, None
    for i, name, external_id, owner_id, stage, tier, industry, region, created_at in result:
        if name != last:
            rank, last = rank + 1, name
        rows.append(
            RosterRow(
                int(i), f"{name}\n{external_id}".lower(), rank, owner_id, stage, tier, industry, region, created_at
            )
        )

    starts, position = [], 0
    for r in rows:
        starts.append(position)
        position += len(r.text) + 1
    return Roster(rows=rows, text="\0".join(r.text for r in rows), starts=starts)
