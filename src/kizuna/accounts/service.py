"""Accounts: the list (search, filter, sort), the customer 360, contacts, activities and notes, bulk assignment.

Reads take ``session`` first; writes take ``actor=``, flush (never commit) and write an audit row.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from kizuna.accounts import roster
from kizuna.accounts.models import Account, Contact, LifecycleStage, TeamMember
from kizuna.accounts.schemas import (
    AccountCreate,
    AccountPage,
    AccountQuery,
    AccountRow,
    AccountUpdate,
    ContactCreate,
    MrrPoint,
)
from kizuna.audit.service import record_audit
from kizuna.billing.models import Subscription
from kizuna.billing.service import paid_lines_on
from kizuna.db import utcnow
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.kpis.models import AccountMetrics
from kizuna.platform.cache import TtlCache
from kizuna.platform.paging import Page, Paging, page_of

_HIRAGANA = range(0x3041, 0x3097)


def search_variants(text: str) -> list[str]:
    """The forms a Japanese search term may take in stored names: as typed, NFKC (full-width ``ＡＢＣ`` and
    half-width ``ｶﾅ`` folded), with hiragana turned into katakana and back, and with ASCII in full width."""
    base = text.strip()
    if not base:
        return []
    nfkc = unicodedata.normalize("NFKC", base)
    katakana = "".join(chr(ord(c) + 0x60) if ord(c) in _HIRAGANA else c for c in nfkc)
    hiragana = "".join(chr(ord(c) - 0x60) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in nfkc)
    full_width = "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in nfkc)
    seen: list[str] = []
    for v in (base, nfkc, katakana, hiragana, full_width):
        if v not in seen:
            seen.append(v)
    return seen


def current_mrr(session: Session, account_ids: Sequence[int] | None, *, on: dt.date) -> dict[int, int]:
    """Current MRR (minor units) per account on ``on``, of the given accounts or (``None``) of every account."""
    if account_ids is not None and not account_ids:
        return {}
    stmt = select(Subscription.account_id, func.sum(Subscription.mrr_minor)).where(paid_lines_on(on))
    if account_ids is not None:
        stmt = stmt.where(Subscription.account_id.in_(account_ids))
    rows = session.execute(stmt.group_by(Subscription.account_id)).all()
    return {int(a): int(m or 0) for a, m in rows}


def next_renewals(session: Session, account_ids: Sequence[int] | None, *, on: dt.date) -> dict[int, dt.date]:
    """Next renewal date on or after ``on`` per account (paid lines), of the given accounts or (``None``) of every
    account; accounts without one are absent."""
    if account_ids is not None and not account_ids:
        return {}
    stmt = select(Subscription.account_id, func.min(Subscription.renewal_date)).where(
        paid_lines_on(on), Subscription.renewal_date >= on
    )
    if account_ids is not None:
        stmt = stmt.where(Subscription.account_id.in_(account_ids))
    rows = session.execute(stmt.group_by(Subscription.account_id)).all()
    return {int(a): d for a, d in rows if d is not None}


def list_accounts(session: Session, query: AccountQuery, *, today: dt.date, limit_all: bool = False) -> AccountPage:
    """One page of the accounts list (``limit_all`` returns every match, for exports).

    Views are computed from the roster (:mod:`kizuna.accounts.roster`: every account's list columns, read once and
    kept a minute, with the MRR and renewal dates to sort on), and the ordered ids of a view are kept a minute too
    (paging and the same view again cost a slice). Writes through this service drop both. The rows themselves are
    always read fresh."""
    signature = json.dumps(query.model_dump(exclude={"page", "per_page"}), sort_keys=True, ensure_ascii=False)
    ordered: list[int] = _cached(session, f"ids:{signature}", today, lambda: _ordered_ids(session, query, today))
    offset = (query.page - 1) * query.per_page
    ids = ordered if limit_all else ordered[offset : offset + query.per_page]
    return _rows(session, ids, total=len(ordered), query=query, today=today)


def _ordered_ids(session: Session, query: AccountQuery, today: dt.date) -> list[int]:
    the_roster = _cached(session, "roster", None, lambda: roster.read_roster(session))
    key = query.sort.lstrip("-")
    mrr = renewal = None
    if key == "mrr":
        mrr = _cached(session, "mrr_by_account", today, lambda: _mrr_to_sort_on(session, today))
    elif key == "renewal":
        renewal = _cached(session, "renewal_by_account", today, lambda: next_renewals(session, None, on=today))
    variants = search_variants(query.q) if query.q else []
    return the_roster.ordered_ids(query, variants, mrr=mrr, renewal=renewal)  # type: ignore[no-any-return]


def _mrr_to_sort_on(session: Session, today: dt.date) -> dict[int, int]:
    """MRR per account: the nightly refresh's per-account row (metrics domain) when there is one, else the paid lines
    running ``today``."""
    metrics = _account_metrics_model(session)
    if metrics is None:
        return current_mrr(session, None, on=today)
    return {int(a): int(m or 0) for a, m in session.execute(select(metrics.account_id, metrics.mrr_minor))}


def _account_metrics_model(session: Session) -> Any:
    """The metrics domain's per-account table when it holds rows (after ``kizuna refresh``), else None."""
    model = AccountMetrics
    has_rows = _cached(
        session, "account_metrics_present", None, lambda: session.scalar(select(model.id).limit(1)) is not None
    )
    return model if has_rows else None


def _rows(session: Session, ids: list[int], *, total: int, query: AccountQuery, today: dt.date) -> AccountPage:
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}
    owner_ids = {a.owner_id for a in accounts.values() if a.owner_id is not None}
    owners = (
        {
            int(i): n
            for i, n in session.execute(select(TeamMember.id, TeamMember.name).where(TeamMember.id.in_(owner_ids)))
        }
        if owner_ids
        else {}
    )
    mrr_by = current_mrr(session, ids, on=today)
    renewal_by = next_renewals(session, ids, on=today)
    items = []
    for account_id in ids:
        account = accounts[account_id]
        row = AccountRow.model_validate(account)
        row.owner_name = owners.get(account.owner_id) if account.owner_id else None
        row.mrr_minor = mrr_by.get(account_id, 0)
        row.next_renewal = renewal_by.get(account_id)
        items.append(row)
    return AccountPage(items=items, total=total, page=query.page, per_page=query.per_page)


#: filter choices, MRR by account, the roster: the list pages read them on every request
_list_cache: TtlCache[Any] = TtlCache(ttl=60.0)


def _cached(session: Session, name: str, day: dt.date | None, compute: Callable[[], Any]) -> Any:
    return _list_cache.get(session, (name, day), compute)


def clear_cache() -> None:
    _list_cache.clear()


def filter_options(session: Session) -> dict[str, list[Any]]:
    """Values the list filters offer: CSMs, lifecycle stages, tiers, industries, regions (cached for a minute)."""
    return _cached(session, "filter_options", None, lambda: _filter_options(session))  # type: ignore[no-any-return]


def _filter_options(session: Session) -> dict[str, list[Any]]:
    owners = session.execute(
        select(TeamMember.id, TeamMember.name).where(TeamMember.active.is_(True)).order_by(TeamMember.name)
    ).all()
    industries = session.scalars(select(Account.industry).where(Account.industry.is_not(None)).distinct()).all()
    regions = session.scalars(select(Account.region).where(Account.region.is_not(None)).distinct()).all()
    return {
        "owners": [(int(i), n) for i, n in owners],
        "stages": [s.value for s in LifecycleStage],
        "tiers": ["high", "low", "tech"],
        "industries": sorted(industries),
        "regions": sorted(regions),
    }


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}", entity="account", id=account_id)
    return account


def _account_state(account: Account) -> dict[str, object]:
    return {
        "external_id": account.external_id,
        "name": account.name,
        "industry": account.industry,
        "employee_band": account.employee_band,
        "region": account.region,
        "owner_id": account.owner_id,
        "lifecycle_stage": account.lifecycle_stage,
        "touch_tier": account.touch_tier,
        "website": account.website,
    }


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is not None and session.get(TeamMember, owner_id) is None:
        raise InvalidInput(f"no team member {owner_id}", field="owner_id", value=owner_id)


def _check_stage(stage: str | None) -> None:
    if stage is not None and stage not in LifecycleStage.__members__:
        raise InvalidInput(
            f"unknown lifecycle stage {stage!r}; one of {', '.join(LifecycleStage)}",
            field="lifecycle_stage",
            value=stage,
        )


def create_account(session: Session, *, actor: str, data: AccountCreate) -> Account:
    _check_owner(session, data.owner_id)
    _check_stage(data.lifecycle_stage)
    if session.scalar(select(Account.id).where(Account.external_id == data.external_id)) is not None:
        raise Conflict(f"an account with external id {data.external_id!r} exists", field="external_id")
    account = Account(**data.model_dump())
    session.add(account)
    session.flush()
    clear_cache()
    record_audit(
        session, actor=actor, action="create", entity="account", entity_id=account.id, after=_account_state(account)
    )
    return account


def update_account(session: Session, *, actor: str, account_id: int, data: AccountUpdate) -> Account:
    account = get_account(session, account_id)
    changes = data.model_dump(exclude_unset=True)
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
    if "lifecycle_stage" in changes:
        if changes["lifecycle_stage"] is None:
            raise InvalidInput("lifecycle_stage cannot be empty", field="lifecycle_stage")
        _check_stage(changes["lifecycle_stage"])
    if changes.get("name", "") is None:
        raise InvalidInput("name cannot be empty", field="name")
    before = _account_state(account)
    for key, value in changes.items():
        setattr(account, key, value)
    account.updated_at = utcnow()
    session.flush()
    clear_cache()
    record_audit(
        session,
        actor=actor,
        action="update",
        entity="account",
        entity_id=account.id,
        before=before,
        after=_account_state(account),
    )
    return account


def bulk_assign(session: Session, *, actor: str, account_ids: Sequence[int], owner_id: int | None) -> int:
    """Give every account in ``account_ids`` to CSM ``owner_id`` (None unassigns); returns how many changed."""
    _check_owner(session, owner_id)
    ids = sorted(set(account_ids))
    found = {int(i): o for i, o in session.execute(select(Account.id, Account.owner_id).where(Account.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no accounts {missing[:10]}", entity="account", id=missing[0])
    changed = [i for i in ids if found[i] != owner_id]
    if changed:
        session.execute(
            update(Account).where(Account.id.in_(changed)).values(owner_id=owner_id, updated_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
        for account_id in changed:
            record_audit(
                session,
                actor=actor,
                action="assign",
                entity="account",
                entity_id=account_id,
                before={"owner_id": found[account_id]},
                after={"owner_id": owner_id},
            )
        session.expire_all()
        clear_cache()
    session.flush()
    return len(changed)


def list_contacts(session: Session, account_id: int) -> Sequence[Contact]:
    get_account(session, account_id)
    return session.scalars(
        select(Contact).where(Contact.account_id == account_id).order_by(Contact.is_champion.desc(), Contact.name)
    ).all()


def create_contact(session: Session, *, actor: str, account_id: int, data: ContactCreate) -> Contact:
    get_account(session, account_id)
    external_id = data.external_id or f"kizuna-contact-{uuid.uuid4().hex[:16]}"
    if session.scalar(select(Contact.id).where(Contact.external_id == external_id)) is not None:
        raise Conflict(f"a contact with external id {external_id!r} exists", field="external_id")
    if data.email and session.scalar(
        select(Contact.id).where(Contact.account_id == account_id, Contact.email == data.email)
    ):
        raise Conflict(f"this account already has a contact with e-mail {data.email}", field="email")
    contact = Contact(account_id=account_id, **{**data.model_dump(), "external_id": external_id})
    session.add(contact)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="contact",
        entity_id=contact.id,
        after={"account_id": account_id, "name": contact.name, "email": contact.email},
    )
    return contact


def list_subscriptions(session: Session, account_id: int) -> Sequence[Subscription]:
    get_account(session, account_id)
    return session.scalars(
        select(Subscription)
        .where(Subscription.account_id == account_id)
        .order_by(Subscription.contract_id, Subscription.start_date)
    ).all()


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def mrr_history(
    session: Session, account_id: int, *, today: dt.date, months: int = 24, subscriptions: Sequence[Subscription] = ()
) -> list[MrrPoint]:
    """MRR at the start of each of the last ``months`` months (and today's), from the subscription versions."""
    subs = list(subscriptions) or list(list_subscriptions(session, account_id))
    first = _add_months(_month_start(today), -(months - 1))
    points = []
    for i in range(months):
        month = _add_months(first, i)
        on = today if i == months - 1 else month
        total = sum(
            s.mrr_minor
            for s in subs
            if s.status in ("active", "cancelled") and s.start_date <= on and (s.end_date is None or s.end_date > on)
        )
        points.append(MrrPoint(month=month, mrr_minor=total))
    return points


def find_team_member(session: Session, email_or_id: str) -> TeamMember:
    """The team member with this id or e-mail (case-insensitive), for linking a user to them."""
    text = email_or_id.strip()
    member = None
    if text.isdigit() and len(text) < 10:
        member = session.get(TeamMember, int(text))
    elif text:
        member = session.scalar(select(TeamMember).where(func.lower(TeamMember.email) == text.lower()))
    if member is None:
        raise NotFound(f"no team member {text!r} (give an id or an e-mail)", entity="team_member", value=text)
    return member


def team_members(session: Session) -> Sequence[Any]:
    """Active team members as ``(id, name)`` rows, by name, for pickers; kept for a minute like the list's other
    choices (the 50,000-account demo has 625 members: reading them was a third of a customer 360's server time)."""
    query = select(TeamMember.id, TeamMember.name).where(TeamMember.active.is_(True)).order_by(TeamMember.name)
    return _cached(session, "team_members", None, lambda: session.execute(query).all())  # type: ignore[no-any-return]


def upcoming_renewals(
    session: Session,
    *,
    today: dt.date,
    horizon_days: int = 90,
    owner_id: int | None = None,
    paging: Paging = Paging(1, 500),
) -> Page[dict[str, Any]]:
    """Contracts renewing within ``horizon_days``, one page of them (soonest first) and how many in all: account,
    renewal date, MRR up for renewal, owner."""
    until = today + dt.timedelta(days=horizon_days)
    stmt = (
        select(
            Account.id,
            Account.name,
            Account.lifecycle_stage,
            TeamMember.name,
            func.min(Subscription.renewal_date),
            func.sum(Subscription.mrr_minor),
            func.max(Subscription.currency),
            func.max(case((Subscription.status == "cancelled", 1), else_=0)),
        )
        .join(Subscription, Subscription.account_id == Account.id)
        .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
        .where(paid_lines_on(today), Subscription.renewal_date >= today, Subscription.renewal_date <= until)
        .group_by(Account.id, Account.name, Account.lifecycle_stage, TeamMember.name)
        .order_by(func.min(Subscription.renewal_date), Account.id)
    )
    if owner_id is not None:
        stmt = stmt.where(Account.owner_id == owner_id)
    rows, total = page_of(session, stmt, paging)
    items = [
        {
            "account_id": int(a),
            "name": n,
            "lifecycle_stage": st,
            "owner_name": o,
            "renewal_date": d,
            "mrr_minor": int(m or 0),
            "currency": c or "JPY",
            "cancelled": bool(x),
        }
        for a, n, st, o, d, m, c, x in rows
    ]
    return Page(items=items, total=total, page=paging.page, per_page=paging.per_page)
