"""A CRM's records into the hub, and the CS values back out. Functions flush, never commit.

The ownership rule (docs/connectors.md): the CRM owns the company facts (name, industry, website, region, employee
band), the contacts and the deals -- a pull overwrites them in kizuna; kizuna owns the CS fields (health score and
band, churn risk, lifecycle stage, next renewal date, CSM) -- a pull never reads them into kizuna and a push
overwrites them in the CRM. Within one owner the later change wins: a pull applies records oldest change first, so
the CRM's latest value is the one kept.

Hub rows of a CRM carry ``external_id = "<vendor>:<the CRM's id>"``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact, TeamMember
from kizuna.connectors import service as connectors
from kizuna.connectors.service import RunLog
from kizuna.crm.records import Company, CsUpdate, Deal, Page, Person
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
    key = external_id(vendor, company.remote_id)
    account = session.scalar(select(Account).where(Account.external_id == key))
    if account is None:
        account = Account(external_id=key, **facts)
        session.add(account)
        session.flush()
        log.count("created")
    else:
        _write(account, facts, log)
    return account


def _account_of(session: Session, vendor: str, company_id: str | None) -> Account | None:
    if _blank(company_id):
        return None
    return session.scalar(select(Account).where(Account.external_id == external_id(vendor, str(company_id))))


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


def cs_updates(session: Session, *, vendor: str, today: dt.date) -> list[CsUpdate]:
    """The CS values of every account that came from ``vendor``, as they stand in kizuna today: the latest
    overall health score and band, the latest churn probability (percent) and band, the lifecycle stage, the next
    open renewal on or after ``today`` and the CSM's e-mail (their name when they have none)."""
    prefix = f"{vendor}:"
    accounts = session.execute(
        select(Account.id, Account.external_id, Account.lifecycle_stage, TeamMember.email, TeamMember.name)
        .outerjoin(TeamMember, TeamMember.id == Account.owner_id)
        .where(Account.external_id.startswith(prefix, autoescape=True))
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
        }
        updates.append(CsUpdate(remote_id=a.external_id[len(prefix) :], values=values))
    return updates
