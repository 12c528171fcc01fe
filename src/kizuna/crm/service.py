"""A CRM's records into the hub, and the CS values back out. Functions flush, never commit.

The ownership rule (docs/connectors.md): the CRM owns the company facts (name, industry, website, region, employee
band), the contacts and the deals -- a pull overwrites them in kizuna; kizuna owns the CS fields (health score and
band, churn risk, lifecycle stage, next renewal date, CSM) -- a pull never reads them into kizuna and a push
overwrites them in the CRM. Within one owner the later change wins: a pull applies records oldest change first, so
the CRM's latest value is the one kept.

Hub rows a CRM creates carry ``external_id = "<vendor>:<the CRM's id>"``; which account a CRM company is, is the
``crm_links`` row (:class:`~kizuna.crm.models.CrmLink`). A company seen for the first time is linked by the rule of
:func:`link_company` (the CRM's id as the external id, else the one unlinked account with its web domain; several
such accounts are reported, never guessed between), and only an unmatched company creates an account.

A push sends an account's CS values only when their hash differs from the one last pushed (``crm_links.pushed_hash``);
a pull that finds the CRM's copy of them changed (someone edited a kizuna field in the CRM) clears the hash, so the
next push writes kizuna's values back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog
from kizuna.crm.models import CrmLink, LinkRule
from kizuna.crm.records import CS_FIELDS, DATE_FIELDS, NUMERIC_FIELDS, Company, CsUpdate, Deal, Page, Person
from kizuna.db import utcnow
from kizuna.funnel.models import Opportunity, OpportunityStage
from kizuna.health.models import HealthScore
from kizuna.imports.values import employee_band, parse_money
from kizuna.renewals.models import Renewal
from kizuna.risk.models import RiskScore

#: the scorecard whose score and band are pushed as the account's health
HEALTH_SCORECARD = "overall"


def external_id(vendor: str, remote_id: str) -> str:
    return f"{vendor}:{remote_id}"


def cursor(session: Session, *, vendor: str, stream: str) -> dt.datetime | None:
    """The modified-since instant ``stream`` resumes from (None: from the beginning)."""
    position = connectors.cursor(session, vendor=vendor, stream=stream)
    return dt.datetime.fromisoformat(position) if position else None


def apply_page(session: Session, *, vendor: str, page: Page, log: RunLog) -> None:
    """Upsert ``page``'s records and move its stream's cursor, in the caller's transaction: a crash after it
    resumes from the next page, a crash before it reads the page again (upserts are idempotent)."""
    for record in page.records:
        if isinstance(record, Company):
            upsert_company(session, vendor=vendor, company=record, log=log)
        elif isinstance(record, Person):
            upsert_person(session, vendor=vendor, person=record, log=log)
        else:
            upsert_deal(session, vendor=vendor, deal=record, log=log)
    if page.resume_from is not None:
        connectors.save_cursor(session, vendor=vendor, stream=page.stream, position=page.resume_from.isoformat())
    session.flush()


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _clean(value: str | None) -> str | None:
    return None if _blank(value) else value.strip()  # type: ignore[union-attr]


def _write(row: object, facts: dict[str, object], log: RunLog) -> None:
    changed = {k: v for k, v in facts.items() if getattr(row, k) != v}
    for k, v in changed.items():
        setattr(row, k, v)
    log.count("updated" if changed else "unchanged")


def upsert_company(session: Session, *, vendor: str, company: Company, log: RunLog) -> Account | None:
    """The account of ``company``: its CRM-owned facts overwritten, its CS fields left as kizuna has them."""
    record = f"company {company.remote_id}"
    name = _clean(company.name)
    if name is None:
        log.reject(record, "name", company.name, "blank: an account needs a name")
        return None
    band = None
    if not _blank(company.employees):
        try:
            band = employee_band(int(float(str(company.employees).replace(",", ""))))
        except ValueError as e:
            log.reject(record, "employees", company.employees, f"not a head count ({e})")
            return None
    facts: dict[str, object] = {
        "name": name[:300],
        "industry": (_clean(company.industry) or "")[:100] or None,
        "website": (_clean(company.website) or "")[:300] or None,
        "region": (_clean(company.region) or "")[:100] or None,
        "employee_band": band,
    }
    link = session.scalar(select(CrmLink).where(CrmLink.vendor == vendor, CrmLink.remote_id == company.remote_id))
    if link is None:
        matched = link_company(session, vendor=vendor, company=company, log=log)
        if matched is None:
            return None  # ambiguous: reported, not guessed
        account, rule = matched
        if account is None:
            account = Account(external_id=external_id(vendor, company.remote_id), **facts)
            session.add(account)
            session.flush()
            log.count("created")
        else:
            _write(account, facts, log)
            log.count(f"linked_by_{rule}")
        link = CrmLink(vendor=vendor, remote_id=company.remote_id, account_id=account.id, linked_by=rule)
        session.add(link)
        session.flush()
        return account
    account = session.get(Account, link.account_id)
    assert account is not None  # the link goes with its account (ON DELETE CASCADE)
    _write(account, facts, log)
    if company.cs_values is not None and link.pushed_hash is not None and digest(company.cs_values) != link.pushed_hash:
        link.pushed_hash = None  # someone changed kizuna's fields in the CRM: the next push writes them back
        log.count("cs_changed_in_crm")
    return account


def web_domain(text: str | None) -> str | None:
    """The host of a website or domain as written (``https://www.Example.co.jp/ja`` -> ``example.co.jp``): lower
    case, without ``www.``; None when it has no dotted host."""
    if _blank(text):
        return None
    value = str(text).strip().lower()
    try:
        host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
    except ValueError:
        return None
    host = host.rstrip(".").removeprefix("www.")
    return host if "." in host else None


def _unlinked(vendor: str) -> ColumnElement[bool]:
    return ~exists(select(CrmLink.id).where(CrmLink.vendor == vendor, CrmLink.account_id == Account.id))


def link_company(session: Session, *, vendor: str, company: Company, log: RunLog) -> tuple[Account | None, str] | None:
    """The account a company seen for the first time is, by the documented rule (docs/connectors.md), among the
    accounts not yet linked to ``vendor``:

    1. the account whose external id is ``<vendor>:<the CRM's id>`` (for Salesforce also the bare 15- or
       18-character Account Id, as a report exported from Salesforce carries it);
    2. else the one account whose website has the company's web domain (:func:`web_domain`);
    3. else none: the pull creates the account (``(None, "created")``).

    Several accounts with the domain is ambiguous: the company is rejected naming them (None), and stays unlinked
    until one of them is given the CRM's id as its external id or the others' websites are corrected."""
    keys = [external_id(vendor, company.remote_id)]
    if vendor == "salesforce" and len(company.remote_id) in (15, 18):
        keys.append(company.remote_id)
    by_id = session.scalars(
        select(Account).where(Account.external_id.in_(keys), _unlinked(vendor)).order_by(Account.id)
    ).first()
    if by_id is not None:
        return by_id, LinkRule.external_id
    domain = web_domain(company.website)
    if domain is None:
        return None, LinkRule.created
    candidates = [
        a
        for a in session.scalars(
            select(Account)
            .where(Account.website.icontains(domain, autoescape=True), _unlinked(vendor))
            .order_by(Account.id)
        )
        if web_domain(a.website) == domain
    ]
    if len(candidates) == 1:
        return candidates[0], LinkRule.domain
    if len(candidates) > 1:
        names = ", ".join(f"{a.external_id} ({a.name})" for a in candidates[:5])
        log.reject(
            f"company {company.remote_id}",
            "domain",
            domain,
            f"ambiguous: {len(candidates)} accounts not yet linked have this domain ({names}); kizuna does not guess"
            f" -- give the right one the external id {external_id(vendor, company.remote_id)} or correct the others'"
            " websites, then sync again with --full",
        )
        return None
    return None, LinkRule.created


def _account_of(session: Session, vendor: str, company_id: str | None) -> Account | None:
    if _blank(company_id):
        return None
    return session.scalar(
        select(Account)
        .join(CrmLink, CrmLink.account_id == Account.id)
        .where(CrmLink.vendor == vendor, CrmLink.remote_id == str(company_id))
    )


def upsert_person(session: Session, *, vendor: str, person: Person, log: RunLog) -> Contact | None:
    """The contact of ``person``, at the account of its company (which an earlier page of companies brought)."""
    record = f"contact {person.remote_id}"
    account = _account_of(session, vendor, person.company_id)
    if account is None:
        reason = "no company" if _blank(person.company_id) else "company not pulled (unknown to kizuna)"
        log.reject(record, person.company_field, person.company_id, reason)
        return None
    email = _clean(person.email)
    if email is not None and ("@" not in email or len(email) > 320):
        log.reject(record, "email", person.email, "not an e-mail address")
        return None
    name = _clean(person.name) or email
    if name is None:
        log.reject(record, "name", person.name, "blank, and no e-mail to name the contact by")
        return None
    key = external_id(vendor, person.remote_id)
    contact = session.scalar(select(Contact).where(Contact.external_id == key))
    if email is not None:
        same = session.scalar(
            select(Contact).where(Contact.account_id == account.id, func.lower(Contact.email) == email.lower())
        )
        if same is not None and same is not contact:
            log.reject(record, "email", email, f"another contact of this account has it ({same.external_id})")
            return None
    facts: dict[str, object] = {
        "account_id": account.id,
        "name": name[:200],
        "email": email,
        "title": (_clean(person.title) or "")[:200] or None,
    }
    if contact is None:
        contact = Contact(external_id=key, **facts)
        session.add(contact)
        session.flush()
        log.count("created")
    else:
        _write(contact, facts, log)
    return contact


def upsert_deal(session: Session, *, vendor: str, deal: Deal, log: RunLog) -> Opportunity | None:
    """The opportunity of ``deal`` (the funnel's), amount in minor units of the deal's currency."""
    record = f"deal {deal.remote_id}"
    name = _clean(deal.name)
    if name is None:
        log.reject(record, "name", deal.name, "blank: an opportunity needs a name")
        return None
    currency = (deal.currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        log.reject(record, "currency", deal.currency, "not an ISO 4217 currency code")
        return None
    amount = 0
    if not _blank(deal.amount):
        try:
            amount = parse_money(deal.amount, currency=currency)
        except ValueError as e:
            log.reject(record, deal.amount_field, deal.amount, f"not an amount of {currency} ({e})")
            return None
    close_date = None
    if not _blank(deal.close_date):
        try:
            close_date = dt.date.fromisoformat(str(deal.close_date)[:10])
        except ValueError:
            log.reject(record, "close_date", deal.close_date, "not a date (YYYY-MM-DD)")
            return None
    account = _account_of(session, vendor, deal.company_id)
    if account is None and not _blank(deal.company_id):
        log.reject(record, "company", deal.company_id, "company not pulled (unknown to kizuna)")
        return None
    stage = {"won": OpportunityStage.won, "lost": OpportunityStage.lost}.get(deal.outcome, OpportunityStage.open)
    closed_at = None
    if stage != OpportunityStage.open:
        closed_at = (
            dt.datetime.combine(close_date, dt.time(), tzinfo=dt.UTC) if close_date is not None else deal.modified_at
        )
    facts: dict[str, object] = {
        "name": name[:300],
        "account_id": account.id if account is not None else None,
        "kind": deal.kind,
        "stage": str(stage),
        "amount_minor": amount,
        "currency": currency,
        "close_date": close_date,
        "closed_at": closed_at,
        "source": vendor,
    }
    key = external_id(vendor, deal.remote_id)
    opportunity = session.scalar(select(Opportunity).where(Opportunity.external_id == key))
    if opportunity is None:
        opportunity = Opportunity(external_id=key, created_at=deal.created_at or deal.modified_at, **facts)
        session.add(opportunity)
        session.flush()
        log.count("created")
    else:
        _write(opportunity, facts, log)
    return opportunity


def digest(values: Mapping[str, str | None]) -> str:
    """SHA-256 (hex) of CS values in one canonical form, so that kizuna's values and the CRM's copy of them compare:
    every CS field, blank as None, numbers with one decimal, dates as YYYY-MM-DD."""
    canonical: dict[str, str | None] = {}
    for name in CS_FIELDS:
        value = values.get(name)
        text = None if value is None or not str(value).strip() else str(value).strip()
        if text is not None and name in NUMERIC_FIELDS:
            with contextlib.suppress(ValueError):
                text = f"{float(text):.1f}"
        if text is not None and name in DATE_FIELDS:
            text = text[:10]
        canonical[name] = text
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def csm_emails(session: Session, *, vendor: str) -> list[str]:
    """The e-mails of the CSMs who own accounts linked to ``vendor`` (to find their CRM users)."""
    return sorted(
        {
            email
            for email in session.scalars(
                select(TeamMember.email)
                .join(Account, Account.owner_id == TeamMember.id)
                .join(CrmLink, (CrmLink.account_id == Account.id) & (CrmLink.vendor == vendor))
                .where(TeamMember.email.is_not(None))
            )
            if email
        }
    )


def cs_updates(
    session: Session,
    *,
    vendor: str,
    today: dt.date,
    owners: Mapping[str, str] | None = None,
    log: RunLog | None = None,
) -> list[CsUpdate]:
    """The CS values of the accounts linked to ``vendor`` that changed since they were last pushed (counted as
    ``push_unchanged`` on ``log`` otherwise), as they stand in kizuna today: the latest overall health score and
    band, the latest churn probability (percent) and band, the lifecycle stage, the next open renewal on or after
    ``today``, the CSM as the CRM's user (``owners``: lower-cased e-mail -> the CRM's user id) and as their e-mail
    (their name when they have none) for a CSM who is no CRM user."""
    owners = owners or {}
    accounts = session.execute(
        select(
            Account.id,
            CrmLink.remote_id,
            CrmLink.pushed_hash,
            Account.lifecycle_stage,
            TeamMember.email,
            TeamMember.name,
        )
        .join(CrmLink, (CrmLink.account_id == Account.id) & (CrmLink.vendor == vendor))
        .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
        .order_by(Account.id)
    ).all()
    if not accounts:
        return []
    ids = [a.id for a in accounts]
    latest_health = (
        select(HealthScore.account_id, func.max(HealthScore.as_of).label("as_of"))
        .where(HealthScore.scorecard == HEALTH_SCORECARD, HealthScore.account_id.in_(ids))
        .group_by(HealthScore.account_id)
        .subquery()
    )
    health = {
        account_id: (score, band)
        for account_id, score, band in session.execute(
            select(HealthScore.account_id, HealthScore.score, HealthScore.band).join(
                latest_health,
                (HealthScore.account_id == latest_health.c.account_id)
                & (HealthScore.as_of == latest_health.c.as_of)
                & (HealthScore.scorecard == HEALTH_SCORECARD),
            )
        )
    }
    latest_risk = (
        select(RiskScore.account_id, func.max(RiskScore.id).label("id"))
        .where(RiskScore.account_id.in_(ids))
        .group_by(RiskScore.account_id)
        .subquery()
    )
    risk = {
        account_id: (probability, band)
        for account_id, probability, band in session.execute(
            select(RiskScore.account_id, RiskScore.probability, RiskScore.band).join(
                latest_risk, RiskScore.id == latest_risk.c.id
            )
        )
    }
    renewal = dict(
        session.execute(
            select(Renewal.account_id, func.min(Renewal.renewal_date))
            .where(Renewal.account_id.in_(ids), Renewal.renewal_date >= today, Renewal.outcome.is_(None))
            .group_by(Renewal.account_id)
        ).all()
    )
    updates = []
    for a in accounts:
        score, band = health.get(a.id, (None, None))
        probability, risk_band = risk.get(a.id, (None, None))
        next_renewal = renewal.get(a.id)
        values: dict[str, str | None] = {
            "health_score": None if score is None else f"{score:.1f}",
            "health_band": band,
            "churn_risk": None if probability is None else f"{100 * probability:.1f}",
            "churn_risk_band": risk_band,
            "lifecycle_stage": a.lifecycle_stage,
            "next_renewal_date": None if next_renewal is None else next_renewal.isoformat(),
            "csm": a.email or a.name,
            "csm_owner": owners.get(a.email.lower()) if a.email else None,
        }
        hashed = digest(values)
        if hashed == a.pushed_hash:
            if log is not None:
                log.count("push_unchanged")
            continue
        updates.append(CsUpdate(remote_id=a.remote_id, values=values, digest=hashed, csm_email=a.email))
    return updates


def record_pushed(session: Session, *, vendor: str, updates: list[CsUpdate], pushed: set[str]) -> None:
    """Remember the hash of each update the CRM took (``pushed``: its remote ids), so the next push skips it while
    the values stay the same."""
    now = utcnow()
    taken = {u.remote_id: u.digest for u in updates if u.remote_id in pushed}
    if not taken:
        return
    for link in session.scalars(select(CrmLink).where(CrmLink.vendor == vendor, CrmLink.remote_id.in_(list(taken)))):
        link.pushed_hash = taken[link.remote_id]
        link.pushed_at = now
    session.flush()
