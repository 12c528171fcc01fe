"""Account attributes as conditions read them: the same values as the row-by-row reads they replaced, and only the
reads the names asked for need (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.accounts.models import Account, TeamMember
from kizuna.billing.models import Plan, Subscription
from kizuna.segments import service, snapshots
from kizuna.segments.attributes import ACCOUNT_ATTRIBUTES, ACCOUNT_COLUMNS, _email_signals, account_attributes
from tests.playbooks.scenario import TODAY, build

SKIPPED = snapshots.SKIPPED_ATTRIBUTE_COLUMNS


def _latest_attributes_by_mapping(session: Session, kind: str, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """``snapshots.latest_attributes`` as it was: each row read as a mapping and walked column by column."""
    spec = snapshots.SNAPSHOTS[kind]
    table: Table = spec.table
    latest = session.scalar(select(func.max(table.c[spec.time_column])))
    if latest is None:
        return {}
    where: list[Any] = [table.c[spec.time_column] == latest]
    if "model_id" in table.c:
        where.append(table.c.model_id == session.scalar(select(func.max(table.c.model_id))))
    columns = [c for c in table.c if c.name not in SKIPPED or c.name == "account_id"]
    long_format = "metric" in table.c and "value" in table.c
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for start in range(0, len(account_ids), 900):
        chunk = account_ids[start : start + 900]
        for row in session.execute(select(*columns).where(*where, table.c.account_id.in_(chunk))).mappings():
            attrs = out[int(row["account_id"])]
            if long_format:
                attrs[f"{kind}.{row['metric']}"] = row["value"]
                continue
            scorecard = row.get("scorecard")
            for name, v in row.items():
                if name in SKIPPED or name == "scorecard":
                    continue
                if scorecard is not None:
                    attrs[f"{kind}.{scorecard}.{name}"] = v
                if scorecard in (None, "overall"):
                    attrs[f"{kind}.{name}"] = v
    return dict(out)


def _every_attribute(session: Session, account_ids: list[int], *, today: dt.date) -> dict[int, dict[str, Any]]:
    """``account_attributes`` as it was: every group of attributes read for every account."""
    out: dict[int, dict[str, Any]] = {}
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = session.execute(
            select(*ACCOUNT_ATTRIBUTES, TeamMember.email, TeamMember.name, TeamMember.external_id)
            .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
            .where(Account.id.in_(chunk))
        )
        for *account_values, owner_email, owner_name, owner_external_id in rows:
            attrs = dict(zip(ACCOUNT_COLUMNS, account_values, strict=True))
            attrs.update(
                tier=attrs["touch_tier"],
                owner=owner_email,
                owner_name=owner_name,
                owner_external_id=owner_external_id,
                plans=[],
                plan=[],
                mrr_minor=0,
                seats=0,
                currency=None,
                segments=[],
                segment=[],
                days_since_customer_email=None,
                email_sentiment=None,
            )
            out[attrs["id"]] = attrs
        live = (
            select(
                Subscription.account_id,
                Plan.name,
                Subscription.mrr_minor,
                Subscription.quantity,
                Subscription.currency,
                Plan.is_addon,
            )
            .join(Plan, Plan.id == Subscription.plan_id)
            .where(
                Subscription.account_id.in_(chunk),
                Subscription.start_date <= today,
                or_(Subscription.end_date.is_(None), Subscription.end_date > today),
                Subscription.status.in_(("active", "trial", "cancelled")),
            )
        )
        for account_id, plan_name, mrr, quantity, currency, is_addon in session.execute(live):
            attrs = out[account_id]
            if plan_name not in attrs["plans"]:
                attrs["plans"].append(plan_name)
            attrs["mrr_minor"] += int(mrr or 0)
            if not is_addon:
                attrs["seats"] += int(quantity or 0)
            attrs["currency"] = currency
        _email_signals(session, chunk, out, today=today)
    for attrs in out.values():
        attrs["plan"] = attrs["plans"]
        attrs["arr_minor"] = attrs["mrr_minor"] * 12
    for account_id, names in snapshots.segment_memberships(session, ids).items():
        if account_id in out:
            out[account_id]["segments"] = out[account_id]["segment"] = names
    for kind in ("metrics", "health", "risk"):
        for account_id, values in _latest_attributes_by_mapping(session, kind, ids).items():
            if account_id in out:
                out[account_id].update(values)
    return out


def _company(session: Session) -> list[int]:
    """The playbook scenario's accounts (health and risk at two dates) with a second scorecard, metrics and a
    segment on some of them."""
    sc = build(session)
    ids = sorted(a.id for a in sc.accounts.values())
    for i, account_id in enumerate(ids[::2]):
        session.add(
            m.HealthScore(
                account_id=account_id,
                scorecard="expansion",
                scorecard_version=2,
                as_of=TODAY,
                computed_score=50.0 + i,
                computed_band="yellow",
                score=None if i % 3 == 0 else 50.0 + i,
                band="yellow",
                known_weight=0.5,
                missing=["usage_trend"],
                contributions=[],
            )
        )
        session.add(
            m.AccountMetrics(account_id=account_id, as_of=TODAY, seat_utilisation=0.1 * i, usage_trend=None, mau=i)
        )
    service.create_segment(
        session, actor="t", key="kanto", name="関東", definition={"rules": [{"field": "region", "eq": "関東"}]}
    )
    service.evaluate_segments(session, actor="t", today=TODAY)
    session.flush()
    return ids


def test_latest_attributes_are_those_of_the_rows_as_mappings(session: Session) -> None:
    ids = _company(session)
    for kind in ("metrics", "health", "risk"):
        expected = _latest_attributes_by_mapping(session, kind, ids)
        got = snapshots.latest_attributes(session, kind, ids)
        assert expected, kind
        assert got == expected, kind
        assert {a: list(v) for a, v in got.items()} == {a: list(v) for a, v in expected.items()}, kind  # key order


def test_every_attribute_as_before_and_only_the_reads_names_need(session: Session) -> None:
    ids = _company(session)
    every = account_attributes(session, ids, today=TODAY)
    expected = _every_attribute(session, ids, today=TODAY)
    assert every == expected
    assert {a: list(v) for a, v in every.items()} == {a: list(v) for a, v in expected.items()}
    assert any("health.expansion.score" in v for v in every.values())
    assert any(v["segments"] for v in every.values())
    account_columns = {*ACCOUNT_COLUMNS, "tier", "owner", "owner_name", "owner_external_id"}
    for names, groups in (
        (set(), set()),
        ({"touch_tier", "risk.probability", "arr_minor"}, {"risk", "live"}),
        ({"rfm.segment", "rfm.rfm_cell"}, set()),
        ({"health.expansion.score", "segment"}, {"health", "segments"}),
        ({"metrics.mau", "email_sentiment", "plans"}, {"metrics", "email", "live"}),
    ):
        some = account_attributes(session, ids, today=TODAY, names=names)
        assert list(some) == list(every)
        for account_id, attrs in some.items():
            # every value read is the full read's; the groups not asked for are not read
            assert attrs == {k: v for k, v in every[account_id].items() if k in attrs}
            assert account_columns <= set(attrs)
            assert ("arr_minor" in attrs) is ("live" in groups)
            assert ("segments" in attrs) is ("segments" in groups)
            assert ("email_sentiment" in attrs) is ("email" in groups)
            for kind in ("metrics", "health", "risk"):
                theirs = {k for k in every[account_id] if k.startswith(f"{kind}.")}
                assert theirs <= set(attrs) if kind in groups else not theirs & set(attrs)


def test_segments_read_what_their_rules_name_and_find_the_same_members(session: Session) -> None:
    ids = _company(session)
    for key, definition in (
        (
            "red-or-expanding",
            {
                "match": "any",
                "rules": [{"field": "health.band", "eq": "red"}, {"field": "health.expansion.score", "gte": 51}],
            },
        ),
        ("risky-paying", {"rules": [{"field": "risk.probability", "gt": 0.5}, {"field": "arr_minor", "gte": 0}]}),
        ("in-kanto", {"rules": [{"field": "segment", "eq": "kanto"}]}),
        (
            "quiet",
            {"rules": [{"field": "days_since_customer_email", "exists": False}, {"field": "metrics.mau", "gte": 1}]},
        ),
    ):
        service.create_segment(session, actor="t", key=key, name=key, definition=definition)
    first = service.evaluate_segments(session, actor="t", today=TODAY)
    members = {s.key: s.members for s in first.segments}
    assert all(0 < members[key] < len(ids) for key in ("red-or-expanding", "risky-paying", "quiet")), members
    assert members["in-kanto"] == members["kanto"] > 0
    # every attribute read for every account (as before) changes no membership
    again = service.evaluate_segments(
        session, actor="t", today=TODAY, attributes=service.account_segment_attributes(session, today=TODAY)
    )
    assert [(s.key, s.members, s.joined, s.left) for s in again.segments] == [
        (s.key, s.members, 0, 0) for s in first.segments
    ]
