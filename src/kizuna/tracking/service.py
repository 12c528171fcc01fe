"""Tracking ingestion: Segment-style messages -> de-duplicated by ``messageId`` -> events in the Parquet store.

``identify`` and ``group`` calls remember which account (``groupId`` = the account's ``external_id``) a user belongs
to, so later ``track`` calls that carry only a ``userId`` land on the right account. An event's account comes from,
in order: ``context.groupId``, ``properties.groupId``/``properties.account_id``, the message's ``groupId``, the user's
last ``group`` call. Events with no account are counted as unmatched and dropped (the event store needs one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.db import utcnow
from kizuna.errors import InvalidInput
from kizuna.tracking.models import TrackedIdentity, TrackedMessage
from kizuna.tracking.schemas import IngestResult, RejectedMessage, SegmentMessage
from kizuna.usage.store import EVENT_SCHEMA, EventStore

log = logging.getLogger(__name__)
CHUNK = 500
EVENT_TYPES = frozenset({"track", "page", "screen"})


def _str(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _utc(value: dt.datetime | None, fallback: dt.datetime) -> dt.datetime:
    if value is None:
        return fallback
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


_SEEN = select(TrackedMessage.message_id).where(TrackedMessage.message_id.in_(bindparam("ids", expanding=True)))


def claim_message_ids(session: Session, message_ids: Sequence[str], *, at: dt.datetime) -> set[str]:
    """Record ``message_ids``; returns those not seen before (the others are duplicates).

    One cached SELECT finds the ids already seen, one executemany INSERT records the new ones (a multi-row INSERT ...
    RETURNING would be recompiled for every batch size and costs more than the rest of the ingestion). Concurrent
    writers of the same id are caught by the primary key: the transaction fails and the client retries.
    """
    seen: set[str] = set()
    for start in range(0, len(message_ids), CHUNK):
        chunk = list(message_ids[start : start + CHUNK])
        seen.update(session.scalars(_SEEN, {"ids": chunk}).all())
    fresh = [m for m in message_ids if m not in seen]
    if fresh:
        # Core executemany: no ORM bookkeeping for thousands of rows nobody reads back.
        session.connection().execute(insert(TrackedMessage), [{"message_id": m, "received_at": at} for m in fresh])
    return set(fresh)


def _account_ids(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for ext, account_id in session.execute(
            select(Account.external_id, Account.id).where(Account.external_id.in_(chunk))
        ):
            found[ext] = int(account_id)
    return found


def _group_of(msg: SegmentMessage) -> str | None:
    ctx = msg.context or {}
    props = msg.properties or {}
    for value in (ctx.get("groupId"), props.get("groupId"), props.get("account_id"), msg.groupId):
        if value not in (None, ""):
            return str(value)
    return None


@dataclasses.dataclass
class _Pending:
    msg: SegmentMessage
    kind: str
    message_id: str
    user_id: str | None


def validate_message(msg: SegmentMessage, kind: str, index: int | None = None) -> None:
    where = "" if index is None else f"batch[{index}]: "
    if kind not in ("track", "identify", "group", "page", "screen", "alias"):
        raise InvalidInput(f"{where}unknown message type {kind!r}", index=index, value=kind)
    if kind == "track" and not msg.event:
        raise InvalidInput(f"{where}a track call needs an event name", index=index, field="event")
    if kind == "group" and msg.groupId in (None, ""):
        raise InvalidInput(f"{where}a group call needs a groupId", index=index, field="groupId")
    if kind in ("identify", "group", "track") and msg.userId in (None, "") and msg.anonymousId in (None, ""):
        raise InvalidInput(f"{where}a {kind} call needs a userId or anonymousId", index=index, field="userId")


def parse_batch(
    items: Sequence[dict[str, Any]], context: dict[str, Any] | None
) -> list[tuple[str, SegmentMessage] | RejectedMessage]:
    """Each item of a ``/v1/batch`` body as a message (the batch's ``context`` given to those without one), or, when
    it is not one, the reason, so that one bad message does not cost the batch its good ones."""
    parsed: list[tuple[str, SegmentMessage] | RejectedMessage] = []
    for index, item in enumerate(items):
        try:
            msg = SegmentMessage.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            parsed.append(RejectedMessage(index=index, message=f"batch[{index}].{where}: {first['msg']}"))
            continue
        if context and msg.context is None:
            msg.context = context
        parsed.append((msg.type or "track", msg))
    return parsed


def ingest(
    session: Session,
    *,
    store: EventStore,
    messages: Sequence[tuple[str, SegmentMessage] | RejectedMessage],
    received_at: dt.datetime | None = None,
) -> IngestResult:
    """Ingest ``(type, message)`` pairs: drop seen ``messageId`` s, apply identify/group, write events in one batch.

    A message that is not valid (or that :func:`parse_batch` already rejected) is left out and reported in ``errors``
    by its index; the others are ingested."""
    now = received_at or utcnow()
    pending: list[_Pending] = []
    seen_in_batch: set[str] = set()
    duplicates = 0
    errors: list[RejectedMessage] = []
    for index, item in enumerate(messages):
        if isinstance(item, RejectedMessage):
            errors.append(item)
            continue
        kind, msg = item
        try:
            validate_message(msg, kind, index if len(messages) > 1 else None)
        except InvalidInput as exc:
            errors.append(RejectedMessage(index=index, message=exc.message))
            continue
        message_id = msg.messageId or f"kizuna-{uuid.uuid4().hex}"
        if message_id in seen_in_batch:
            duplicates += 1
            continue
        seen_in_batch.add(message_id)
        pending.append(_Pending(msg, kind, message_id, _str(msg.userId) or _str(msg.anonymousId)))
    fresh = claim_message_ids(session, [p.message_id for p in pending], at=now)
    duplicates += len(pending) - len(fresh)
    pending = [p for p in pending if p.message_id in fresh]

    groups = {g for p in pending if (g := _group_of(p.msg)) is not None}
    accounts = _account_ids(session, groups)
    identities = _apply_identities(session, [p for p in pending if p.kind in ("identify", "group")], accounts, now)

    events = [p for p in pending if p.kind in EVENT_TYPES]
    unknown_users = {p.user_id for p in events if _group_of(p.msg) is None and p.user_id}
    user_accounts = _user_accounts(session, unknown_users)
    rows: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    unmatched = 0
    for p in events:
        group = _group_of(p.msg)
        account_id = accounts.get(group) if group else user_accounts.get(p.user_id or "")
        if account_id is None:
            unmatched += 1
            continue
        props = p.msg.properties or {}
        name = p.msg.event if p.kind == "track" else f"{p.kind}:{p.msg.name or props.get('name') or ''}"
        rows["event_id"].append(p.message_id)
        rows["account_id"].append(account_id)
        rows["user_id"].append(p.user_id)
        rows["event_name"].append(name)
        rows["feature"].append(_str(props.get("feature")))
        rows["timestamp"].append(_utc(p.msg.timestamp or p.msg.originalTimestamp, now))
        rows["properties"].append(json.dumps(props, ensure_ascii=False, default=str) if props else None)
    accepted = 0
    if rows["event_id"]:
        table = pa.Table.from_pydict(rows, schema=EVENT_SCHEMA)
        accepted = store.write_batch(table, batch_key=f"tracking-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}")
    if unmatched:
        log.info("tracking: %s events without a known account dropped", unmatched)
    errors.sort(key=lambda e: e.index)
    return IngestResult(
        accepted=accepted,
        identities=identities,
        duplicates=duplicates,
        unmatched=unmatched,
        rejected=len(errors),
        errors=errors,
    )


def _user_accounts(session: Session, user_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = sorted(user_ids)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for user_id, account_id in session.execute(
            select(TrackedIdentity.user_id, TrackedIdentity.account_id).where(
                TrackedIdentity.user_id.in_(chunk), TrackedIdentity.account_id.is_not(None)
            )
        ):
            if account_id is not None:
                found[user_id] = int(account_id)
    return found


def _apply_identities(session: Session, calls: list[_Pending], accounts: dict[str, int], now: dt.datetime) -> int:
    applied = 0
    for p in calls:
        if not p.user_id:
            continue
        identity = session.get(TrackedIdentity, p.user_id)
        if identity is None:
            identity = TrackedIdentity(user_id=p.user_id, traits=None, updated_at=now)
            session.add(identity)
        group = _group_of(p.msg)
        if group is not None and group in accounts:
            identity.account_id = accounts[group]
        if p.kind == "identify" and p.msg.traits:
            identity.traits = {**(identity.traits or {}), **json.loads(json.dumps(p.msg.traits, default=str))}
        identity.updated_at = now
        applied += 1
    session.flush()
    return applied
