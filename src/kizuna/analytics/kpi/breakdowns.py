"""The breakdowns a KPI can be split by (the account attributes, ``plan`` and ``cohort_month``): joining them onto
rows that carry ``account_id``, and stacking one copy of the rows per breakdown for a single query over several."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from kizuna.analytics.kpi._common import ACCOUNT_ATTRIBUTES, Tables, require
from kizuna.errors import InvalidInput

BREAKDOWNS = (*ACCOUNT_ATTRIBUTES, "plan", "cohort_month")


def with_breakdown(tables: Tables, rows: ir.Table, by: Sequence[str]) -> ir.Table:
    """Join the breakdown attributes ``by`` onto rows that carry ``account_id`` (and ``plan_id`` / ``cohort_month``)."""
    unknown = [b for b in by if b not in BREAKDOWNS]
    if unknown:
        raise InvalidInput(
            f"unknown breakdown {', '.join(unknown)}: use one of {', '.join(BREAKDOWNS)}", breakdown=unknown
        )
    attrs = [b for b in by if b in ACCOUNT_ATTRIBUTES and b not in rows.columns]
    if attrs:
        accounts = require(tables, "accounts", ("id", *attrs))
        attr = accounts.select(*attrs, attr_account_id=accounts.id)
        rows = rows.left_join(attr, rows.account_id == attr.attr_account_id)
        rows = rows.drop("attr_account_id")
    if "plan" in by and "plan" not in rows.columns:
        plans = require(tables, "plans", ("id", "name"))
        names = plans.select(attr_plan_id=plans.id, plan=plans.name)
        rows = rows.left_join(names, rows.plan_id == names.attr_plan_id)
        rows = rows.drop("attr_plan_id")
    return rows


def breakdown_rows(
    tables: Tables, rows: ir.Table, by: Sequence[str], by_each: Sequence[str]
) -> tuple[ir.Table, list[str]]:
    """``rows`` ready to group by breakdown, and the breakdown's group keys: the attributes ``by`` as columns, or
    each attribute of ``by_each`` in turn, stacked: a copy of the rows per attribute with ``dimension`` (its name)
    and ``dimension_value`` (its value as text, '' where none) in place of the attribute columns."""
    if by and by_each:
        raise InvalidInput("give by or by_each, not both", by=list(by), by_each=list(by_each))
    rows = with_breakdown(tables, rows, [*by, *by_each])
    if not by_each:
        return rows, list(by)
    keep = [c for c in rows.columns if c not in by_each]
    copies = [
        rows.select(*keep, dimension=ibis.literal(d), dimension_value=rows[d].cast("string").fill_null(""))
        for d in by_each
    ]
    return ibis.union(*copies), ["dimension", "dimension_value"]
