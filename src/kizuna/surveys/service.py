"""Survey campaigns (NPS / CSAT / CES): choose contacts, send personal links, record answers, close the loop.

Each invitation carries a random token (``secrets.token_urlsafe``); only its SHA-256 is stored, so the database alone
cannot answer for anyone. The invitation emails are queued in the outbox inside the caller's transaction and sent
after it commits. Detractors, low CSAT and hard-effort answers open a follow-up (closed-loop status) and feed the
``nps_detractor`` / ``low_csat`` playbook triggers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account, Contact
from kizuna.audit.service import record_audit
from kizuna.db import utcnow
from kizuna.errors import Conflict, InvalidInput, NotFound
from kizuna.platform.cache import TtlCache
from kizuna.platform.outbox.service import queue_email, render_email
from kizuna.segments.attributes import account_attributes, failed_condition
from kizuna.segments.schemas import Condition
from kizuna.settings import Settings
from kizuna.surveys.models import CampaignStatus, LoopStatus, SurveyCampaign, SurveyFollowUp, SurveyInvitation
from kizuna.voc.models import SCORE_RANGE, SurveyKind, SurveyResponse

QUESTIONS: dict[str, dict[str, str]] = {
    "nps": {
        "ja": "このサービスを友人や同僚に薦める可能性は、どのくらいありますか?(0〜10)",
        "en": "How likely are you to recommend us to a friend or colleague? (0-10)",
    },
    "csat": {
        "ja": "このサービスにどのくらい満足していますか?(1〜5)",
        "en": "How satisfied are you with our service? (1-5)",
    },
    "ces": {
        "ja": "やりたいことを簡単に実現できましたか?(1: とても難しい 〜 7: とても簡単)",
        "en": "How easy was it to get done what you wanted? (1: very hard - 7: very easy)",
    },
}
TITLES = {"ja": "お客様アンケート", "en": "A one-minute survey"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def needs_follow_up(kind: str, score: int) -> bool:
    """Detractors (NPS 0-6), unsatisfied (CSAT 1-2) and hard effort (CES 1-3) need a human follow-up."""
    return {"nps": score <= 6, "csat": score <= 2, "ces": score <= 3}.get(kind, False)


def create_campaign(
    session: Session,
    *,
    actor: str,
    name: str,
    kind: str,
    account_filter: list[dict[str, Any]] | None = None,
    contact_filter: dict[str, Any] | None = None,
) -> SurveyCampaign:
    """A draft campaign. ``account_filter``: playbook conditions (``[{field: touch_tier, in: [high]}]``, segments by
    name: ``{field: segment, eq: Enterprise}``); ``contact_filter``: ``roles`` (list), ``champions_only`` (bool)."""
    if kind not in SurveyKind.__members__:
        raise InvalidInput(f"unknown survey kind {kind!r}; use nps, csat or ces", value=kind)
    conditions = [
        Condition.model_validate(c).model_dump(by_alias=True, exclude_none=True) for c in account_filter or []
    ]
    unknown = set(contact_filter or {}) - {"roles", "champions_only", "languages"}
    if unknown:
        raise InvalidInput(f"unknown contact filter {sorted(unknown)}; use roles, champions_only, languages")
    campaign = SurveyCampaign(
        name=name, kind=kind, account_filter=conditions, contact_filter=contact_filter or {}, created_by=actor
    )
    session.add(campaign)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="create",
        entity="survey_campaign",
        entity_id=campaign.id,
        after={"name": name, "kind": kind, "account_filter": conditions},
    )
    return campaign


#: account attributes that are plain columns: a campaign filtered on these (and segments) is chosen in SQL
_ACCOUNT_COLUMNS: dict[str, Any] = {
    "touch_tier": Account.touch_tier,
    "tier": Account.touch_tier,
    "external_id": Account.external_id,
    "id": Account.id,
}


def _accounts_in_sql(conditions: list[Condition]) -> Any | None:
    """A ``SELECT accounts.id`` for conditions on plain columns or segments with ``eq`` / ``in`` (what the
    campaign form writes), else None: every account's attributes must then be read to test them."""
    from kizuna.segments.models import Segment, SegmentMembership

    stmt = select(Account.id)
    for condition in conditions:
        op, value = condition.operator
        if op not in ("eq", "in"):
            return None
        values = [value] if op == "eq" else list(value)
        column = _ACCOUNT_COLUMNS.get(condition.field)
        if column is not None:
            stmt = stmt.where(column.in_(values))
        elif condition.field in ("segment", "segments"):
            members = (
                select(SegmentMembership.account_id)
                .join(Segment, Segment.id == SegmentMembership.segment_id)
                .where(SegmentMembership.left_at.is_(None), or_(Segment.name.in_(values), Segment.key.in_(values)))
            )
            stmt = stmt.where(Account.id.in_(members))
        else:
            return None
    return stmt


def _recipient_filter(
    session: Session, campaign: SurveyCampaign, *, today: dt.date
) -> tuple[list[Any], set[int] | None]:
    """WHERE clauses on ``contacts`` choosing a campaign's recipients (active, with an e-mail address, at accounts
    meeting its conditions, of its roles / champions / languages), and, when SQL cannot test the conditions, the
    accounts that meet them (tested on every account's attributes; None when the clauses say it all)."""
    conditions = [Condition.model_validate(c) for c in campaign.account_filter]
    in_sql = _accounts_in_sql(conditions)
    clauses: list[Any] = [Contact.is_active.is_(True), Contact.email.is_not(None)]
    chosen: set[int] | None = None
    if in_sql is not None:
        if conditions:
            clauses.append(Contact.account_id.in_(in_sql))
    else:
        account_ids = list(session.scalars(select(Account.id)))
        attrs = account_attributes(session, account_ids, today=today)
        chosen = {a for a in account_ids if a in attrs and failed_condition(conditions, attrs[a]) is None}
    filters = campaign.contact_filter
    if filters.get("roles"):
        clauses.append(Contact.role.in_(filters["roles"]))
    if filters.get("champions_only"):
        clauses.append(Contact.is_champion.is_(True))
    if filters.get("languages"):
        clauses.append(Contact.language.in_(filters["languages"]))
    return clauses, chosen


def campaign_recipients(session: Session, campaign: SurveyCampaign, *, today: dt.date) -> list[Contact]:
    """Active contacts with an email address, at accounts meeting the campaign's conditions."""
    where, chosen = _recipient_filter(session, campaign, today=today)
    contacts = session.scalars(select(Contact).where(*where).order_by(Contact.id))
    return [c for c in contacts if chosen is None or c.account_id in chosen]


def send_campaign(session: Session, *, actor: str, campaign_id: int, settings: Settings) -> int:
    """Create each recipient's personal link and queue the invitation email; returns how many were invited.

    Sending again invites only contacts who were not invited yet (e.g. new contacts in the segment).
    """
    campaign = session.get(SurveyCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no survey campaign {campaign_id}", campaign_id=campaign_id)
    if campaign.status == CampaignStatus.closed:
        raise Conflict(f"survey campaign {campaign_id} is closed")
    invited = set(
        session.scalars(select(SurveyInvitation.contact_id).where(SurveyInvitation.campaign_id == campaign_id))
    )
    now = utcnow()
    count = 0
    for contact in campaign_recipients(session, campaign, today=now.date()):
        if contact.id in invited:
            continue
        token = secrets.token_urlsafe(24)
        language = contact.language if contact.language in ("ja", "en") else settings.language
        invitation = SurveyInvitation(
            campaign_id=campaign_id,
            account_id=contact.account_id,
            contact_id=contact.id,
            token_hash=hash_token(token),
            language=language,
            sent_at=now,
        )
        session.add(invitation)
        link = f"{settings.base_url.rstrip('/')}/s/{token}"
        subject, body = render_email(
            "survey_invitation",
            language=language,
            context={
                "contact": {"name": contact.name, "email": contact.email},
                "link": link,
                "question": QUESTIONS[campaign.kind][language],
                "survey_title": campaign.name or TITLES[language],
            },
        )
        queue_email(
            session,
            idempotency_key=f"survey:{campaign_id}:contact:{contact.id}",
            to=contact.email or "",
            subject=subject,
            body=body,
            account_id=contact.account_id,
            contact_id=contact.id,
            source=f"survey:{campaign_id}",
        )
        count += 1
    campaign.status = CampaignStatus.sent
    campaign.sent_at = campaign.sent_at or now
    session.flush()
    record_audit(
        session, actor=actor, action="send", entity="survey_campaign", entity_id=campaign_id, after={"invited": count}
    )
    return count


def invitation_for_token(session: Session, token: str) -> tuple[SurveyInvitation, SurveyCampaign]:
    invitation = session.scalars(
        select(SurveyInvitation).where(SurveyInvitation.token_hash == hash_token(token))
    ).first()
    if invitation is None:
        raise NotFound("this survey link is not valid")
    campaign = session.get(SurveyCampaign, invitation.campaign_id)
    assert campaign is not None
    return invitation, campaign


def record_response(
    session: Session, *, token: str, score: int, comment: str | None = None, at: dt.datetime | None = None
) -> SurveyResponse:
    """Store an answer from the public page against the invitation's contact and account (once per link)."""
    invitation, campaign = invitation_for_token(session, token)
    if campaign.status == CampaignStatus.closed:
        raise Conflict("this survey is closed")
    if invitation.response_id is not None:
        raise Conflict("this survey was already answered; thank you")
    low, high = SCORE_RANGE[campaign.kind]
    if not low <= score <= high:
        raise InvalidInput(f"score must be between {low} and {high}", value=score)
    at = at or utcnow()
    response = SurveyResponse(
        external_id=f"kizuna-invitation-{invitation.id}",
        account_id=invitation.account_id,
        contact_id=invitation.contact_id,
        kind=campaign.kind,
        score=score,
        comment=(comment or "").strip()[:5000] or None,
        responded_at=at,
    )
    session.add(response)
    session.flush()
    invitation.response_id = response.id
    invitation.responded_at = at
    account = session.get(Account, invitation.account_id)
    session.add(
        SurveyFollowUp(
            response_id=response.id,
            status=LoopStatus.open if needs_follow_up(campaign.kind, score) else LoopStatus.not_needed,
            owner_id=account.owner_id if account else None,
        )
    )
    session.flush()
    record_audit(
        session,
        actor=f"survey-respondent:contact:{invitation.contact_id}",
        action="respond",
        entity="survey_response",
        entity_id=response.id,
        after={"kind": campaign.kind, "score": score},
    )
    return response


def set_loop_status(
    session: Session,
    *,
    actor: str,
    response_id: int,
    status: str,
    note: str | None = None,
    owner_id: int | None = None,
) -> SurveyFollowUp:
    """Move a response's follow-up along: open -> in_progress -> closed."""
    if status not in LoopStatus.__members__:
        raise InvalidInput(f"unknown loop status {status!r}; use {', '.join(LoopStatus)}", value=status)
    follow_up = session.scalars(select(SurveyFollowUp).where(SurveyFollowUp.response_id == response_id)).first()
    if follow_up is None:
        if session.get(SurveyResponse, response_id) is None:
            raise NotFound(f"no survey response {response_id}")
        follow_up = SurveyFollowUp(response_id=response_id)
        session.add(follow_up)
    before = {"status": follow_up.status, "note": follow_up.note}
    follow_up.status = status
    follow_up.note = note if note is not None else follow_up.note
    follow_up.owner_id = owner_id if owner_id is not None else follow_up.owner_id
    follow_up.closed_at = utcnow() if status == LoopStatus.closed else None
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="loop_status",
        entity="survey_response",
        entity_id=response_id,
        before=before,
        after={"status": status, "note": follow_up.note},
    )
    return follow_up


def campaign_status(session: Session, *, campaign_id: int | None = None) -> list[dict[str, Any]]:
    """Per campaign: invited, answered, response rate, the score (NPS = %promoters - %detractors) and open loops."""
    stmt = select(SurveyCampaign).order_by(SurveyCampaign.id.desc())
    if campaign_id is not None:
        stmt = stmt.where(SurveyCampaign.id == campaign_id)
    out = []
    for campaign in session.scalars(stmt):
        invited = session.scalar(select(func.count()).where(SurveyInvitation.campaign_id == campaign.id)) or 0
        scores = list(
            session.execute(
                select(SurveyResponse.score, SurveyFollowUp.status)
                .join(SurveyInvitation, SurveyInvitation.response_id == SurveyResponse.id)
                .outerjoin(SurveyFollowUp, SurveyFollowUp.response_id == SurveyResponse.id)
                .where(SurveyInvitation.campaign_id == campaign.id)
            )
        )
        answered = len(scores)
        row: dict[str, Any] = {
            "id": campaign.id,
            "name": campaign.name,
            "kind": campaign.kind,
            "status": campaign.status,
            "invited": invited,
            "answered": answered,
            "response_rate": round(answered / invited, 3) if invited else None,
            "open_loops": sum(1 for _, st in scores if st in (LoopStatus.open, LoopStatus.in_progress)),
        }
        values = [score for score, _ in scores]
        if campaign.kind == "nps" and values:
            promoters = sum(1 for v in values if v >= 9)
            detractors = sum(1 for v in values if v <= 6)
            row.update(
                promoters=promoters,
                passives=answered - promoters - detractors,
                detractors=detractors,
                nps=round(100 * (promoters - detractors) / answered, 1),
            )
        elif values:
            row["mean_score"] = round(sum(values) / answered, 2)
        out.append(row)
    return out


# --- reads of the surveys page ------------------------------------------------------------------------------------


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def survey_responses(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` survey responses with their account's name (``response``, ``account_name``)."""
    stmt = (
        select(SurveyResponse, Account.name)
        .join(Account, Account.id == SurveyResponse.account_id)
        .order_by(SurveyResponse.responded_at.desc())
        .limit(limit)
    )
    return [{"response": r, "account_name": n} for r, n in session.execute(stmt).all()]


def nps_by_month(session: Session, *, today: dt.date, months: int = 12) -> list[dict[str, Any]]:
    """NPS and the number of NPS responses per month of the last ``months`` months (months without any left out)."""
    since = dt.datetime.combine(_add_months(today.replace(day=1), -(months - 1)), dt.time(), tzinfo=dt.UTC)
    rows = session.execute(
        select(SurveyResponse.score, SurveyResponse.responded_at).where(
            SurveyResponse.kind == "nps", SurveyResponse.responded_at >= since
        )
    ).all()
    buckets: dict[dt.date, list[int]] = {}
    for score, at in rows:
        buckets.setdefault(at.date().replace(day=1), []).append(int(score))
    return [
        {"month": m, "nps": 100 * (sum(s >= 9 for s in v) - sum(s <= 6 for s in v)) / len(v), "responses": len(v)}
        for m, v in sorted(buckets.items())
    ]


# --- campaigns from the app: preview before sending -----------------------------------------------------------------


def segment_condition(segment: str, accounts: str = "") -> list[dict[str, Any]]:
    """The account filter of a campaign to one segment (by name) or one touch tier (``tier:high``) (``""``: all),
    and to the accounts whose IDs (``external_id``) are listed in ``accounts`` (commas, spaces or 、 between)."""
    conditions: list[dict[str, Any]] = []
    if segment.startswith("tier:"):
        conditions.append({"field": "touch_tier", "eq": segment.removeprefix("tier:")})
    elif segment:
        conditions.append({"field": "segment", "eq": segment})
    chosen = [a for a in re.split(r"[\s,、，]+", accounts) if a]
    if chosen:
        conditions.append({"field": "external_id", "in": chosen})
    return conditions


def preview_campaign(session: Session, *, campaign_id: int, settings: Settings, today: dt.date) -> dict[str, Any]:
    """Who a campaign would reach and the e-mail they would get, before anything is sent: ``recipients`` (not
    invited yet), ``accounts``, ``already_invited``, ``sample`` (the first 20: contact, e-mail, account, language)
    and ``email`` (subject and body in the settings' language, with a placeholder link)."""
    campaign = session.get(SurveyCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no survey campaign {campaign_id}", campaign_id=campaign_id)
    invited = select(SurveyInvitation.contact_id).where(SurveyInvitation.campaign_id == campaign_id)
    already = session.scalar(select(func.count()).where(SurveyInvitation.campaign_id == campaign_id)) or 0
    where, chosen = _recipient_filter(session, campaign, today=today)
    where.append(Contact.id.not_in(invited))
    listed = select(Contact.name, Contact.email, Account.name, Contact.language, Contact.account_id).join(
        Account, Account.id == Contact.account_id
    )
    if chosen is None:  # counted in SQL: a campaign to a large tier need not load its contacts
        recipients, accounts = session.execute(
            select(func.count(Contact.id), func.count(func.distinct(Contact.account_id))).where(*where)
        ).one()
        sample = session.execute(listed.where(*where).order_by(Contact.id).limit(20)).all()
    else:
        rows = [r for r in session.execute(listed.where(*where).order_by(Contact.id)) if r[4] in chosen]
        recipients, accounts, sample = len(rows), len({r[4] for r in rows}), rows[:20]
    language = settings.language
    subject, body = render_email(
        "survey_invitation",
        language=language,
        context={
            "contact": {"name": "山田 太郎" if language == "ja" else "Jane Doe", "email": ""},
            "link": f"{settings.base_url.rstrip('/')}/s/…",
            "question": QUESTIONS[campaign.kind][language],
            "survey_title": campaign.name or TITLES[language],
        },
    )
    return {
        "campaign": campaign,
        "recipients": int(recipients),
        "accounts": int(accounts),
        "already_invited": int(already),
        "sample": [{"name": n, "email": e, "account": a, "language": lang} for n, e, a, lang, _ in sample],
        "email": {"subject": subject, "body": body},
    }


# --- the closed loop: detractors and silent customers -----------------------------------------------------------------

#: answers that need a person: NPS detractors, unsatisfied CSAT, hard effort (as :func:`needs_follow_up`)
_NEEDS_FOLLOW_UP = (
    ((SurveyResponse.kind == "nps") & (SurveyResponse.score <= 6))
    | ((SurveyResponse.kind == "csat") & (SurveyResponse.score <= 2))
    | ((SurveyResponse.kind == "ces") & (SurveyResponse.score <= 3))
)


def _live_tasks(session: Session, keys: list[str]) -> dict[str, int]:
    """The live task of each dedupe key that has one (a handful of keys: the rows a page shows)."""
    from kizuna.tasks.models import Task
    from kizuna.tasks.service import LIVE

    if not keys:
        return {}
    rows = session.execute(select(Task.dedupe_key, Task.id).where(Task.dedupe_key.in_(keys), Task.status.in_(LIVE)))
    return {str(k): int(i) for k, i in rows}


def detractor_loop(session: Session, *, today: dt.date, days: int = 90, limit: int = 50) -> dict[str, Any]:
    """The answers of the last ``days`` days that need a follow-up and are not closed (imported or answered on a
    campaign), newest first: ``rows`` (``response``, ``account_name``, ``status`` of the loop, ``task_id`` of the
    follow-up task if one is live) and ``open`` (how many)."""
    since = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(), tzinfo=dt.UTC)
    status = func.coalesce(SurveyFollowUp.status, LoopStatus.open)
    where = (
        _NEEDS_FOLLOW_UP,
        SurveyResponse.responded_at >= since,
        status.in_((LoopStatus.open, LoopStatus.in_progress)),
    )
    joined = select(SurveyResponse.id).outerjoin(SurveyFollowUp, SurveyFollowUp.response_id == SurveyResponse.id)
    total = session.scalar(select(func.count()).select_from(joined.where(*where).subquery())) or 0
    rows = session.execute(
        select(SurveyResponse, Account.name, status)
        .join(Account, Account.id == SurveyResponse.account_id)
        .outerjoin(SurveyFollowUp, SurveyFollowUp.response_id == SurveyResponse.id)
        .where(*where)
        .order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
    ).all()
    tasks = _live_tasks(session, [f"survey-response:{r.id}" for r, _, _ in rows])
    return {
        "rows": [
            {"response": r, "account_name": n, "status": st, "task_id": tasks.get(f"survey-response:{r.id}")}
            for r, n, st in rows
        ],
        "open": int(total),
    }


def follow_up_task(session: Session, *, actor: str, response_id: int, today: dt.date) -> tuple[int, bool]:
    """Open the follow-up task of an answer that needs one (owner: the account's CSM; due in two days) and move
    its loop to in progress. Returns ``(task id, created)``; a live task for the answer is returned as it is."""
    from kizuna.tasks.service import create_task

    response = session.get(SurveyResponse, response_id)
    if response is None:
        raise NotFound(f"no survey response {response_id}")
    account = session.get(Account, response.account_id)
    label = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}.get(response.kind, response.kind)
    task, created = create_task(
        session,
        actor=actor,
        title=f"{label} {response.score}点のフォローアップ: {account.name if account else ''}",
        account_id=response.account_id,
        owner_id=account.owner_id if account else None,
        reason=response.comment,
        priority="high",
        due_on=today + dt.timedelta(days=2),
        dedupe_key=f"survey-response:{response_id}",
        source="survey",
    )
    follow_up = session.scalars(select(SurveyFollowUp).where(SurveyFollowUp.response_id == response_id)).first()
    if follow_up is None or follow_up.status == LoopStatus.open:
        set_loop_status(session, actor=actor, response_id=response_id, status=LoopStatus.in_progress)
    return task.id, created


#: the silent accounts (count and the largest by ARR), per day, window and length
_silent: TtlCache[tuple[int, list[tuple[int, int]]]] = TtlCache(ttl=60.0, size=16)


def silent_customers(session: Session, *, today: dt.date, days: int = 180, limit: int = 50) -> dict[str, Any]:
    """Customers we do not hear from (Goodman: most unhappy customers never complain): accounts with revenue today
    that gave no survey answer and no VoC text in the last ``days`` days, largest ARR first. ``rows``: ``account_id,
    name, arr_minor, unanswered`` (survey invitations left unanswered), ``last_heard`` (the last answer or text, or
    None), ``task_id`` (a live outreach task); ``count``: how many accounts in all."""
    from kizuna.kpis.models import AccountMetrics
    from kizuna.voc.models import VocEntry

    since = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(), tzinfo=dt.UTC)
    # correlated NOT EXISTS on the (account_id, time) indexes of the answers and the texts
    answered = exists().where(
        SurveyResponse.account_id == AccountMetrics.account_id, SurveyResponse.responded_at >= since
    )
    spoke = exists().where(VocEntry.account_id == AccountMetrics.account_id, VocEntry.recorded_at >= since)
    silent = select(AccountMetrics.account_id, AccountMetrics.arr_minor).where(
        AccountMetrics.arr_minor > 0, ~answered, ~spoke
    )

    def silent_accounts() -> tuple[int, list[tuple[int, int]]]:
        count = session.scalar(select(func.count()).select_from(silent.subquery())) or 0
        order = silent.order_by(AccountMetrics.arr_minor.desc(), AccountMetrics.account_id).limit(limit)
        return int(count), [(int(a), int(arr)) for a, arr in session.execute(order)]

    # two index seeks per account of the portfolio (100,000 on the 50,000-account demo): kept a minute; the
    # accounts' outreach tasks below are read live
    count, shown = _silent.get(session, (today, days, limit), silent_accounts)
    ids = [a for a, _ in shown]
    names = dict(session.execute(select(Account.id, Account.name).where(Account.id.in_(ids))).all())
    last_answer = dict(
        session.execute(
            select(SurveyResponse.account_id, func.max(SurveyResponse.responded_at))
            .where(SurveyResponse.account_id.in_(ids))
            .group_by(SurveyResponse.account_id)
        ).all()
    )
    last_text = dict(
        session.execute(
            select(VocEntry.account_id, func.max(VocEntry.recorded_at))
            .where(VocEntry.account_id.in_(ids))
            .group_by(VocEntry.account_id)
        ).all()
    )
    unanswered = dict(
        session.execute(
            select(SurveyInvitation.account_id, func.count())
            .where(SurveyInvitation.account_id.in_(ids), SurveyInvitation.response_id.is_(None))
            .group_by(SurveyInvitation.account_id)
        ).all()
    )
    tasks = _live_tasks(session, [f"silent-customer:{a}" for a in ids])
    return {
        "rows": [
            {
                "account_id": a,
                "name": names.get(a, ""),
                "arr_minor": arr,
                "unanswered": int(unanswered.get(a, 0)),
                "last_heard": max((x for x in (last_answer.get(a), last_text.get(a)) if x is not None), default=None),
                "task_id": tasks.get(f"silent-customer:{a}"),
            }
            for a, arr in shown
        ],
        "count": int(count),
    }


def outreach_task(session: Session, *, actor: str, account_id: int, today: dt.date) -> tuple[int, bool]:
    """Open an outreach task for a silent customer (owner: its CSM; due within the week). Returns ``(task id,
    created)``; the live outreach task of the account is returned as it is."""
    from kizuna.tasks.service import create_task

    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}", account_id=account_id)
    task, created = create_task(
        session,
        actor=actor,
        title=f"声の聞こえない顧客へのアウトリーチ: {account.name}",
        account_id=account_id,
        owner_id=account.owner_id,
        reason="アンケートの回答も声もない顧客です(グッドマンの法則: 不満な顧客の多くは何も言わずに去ります)。",
        priority="normal",
        due_on=today + dt.timedelta(days=5),
        dedupe_key=f"silent-customer:{account_id}",
        source="survey",
    )
    return task.id, created


def nps_trend(session: Session, *, today: dt.date, months: int = 12) -> list[dict[str, Any]]:
    """NPS and its number of answers per month of the last ``months`` months: the KPI snapshot's ``nps`` series
    (the refresh computes it; reading it keeps the page fast on any number of answers), or before the first
    refresh :func:`nps_by_month` from the answers themselves."""
    from kizuna.kpis.service import load_kpi

    try:
        series = load_kpi(session, names=["nps", "nps_responses"])
    except NotFound:
        return nps_by_month(session, today=today, months=months)
    if series.empty:
        return nps_by_month(session, today=today, months=months)
    wide = series.pivot_table(index="month", columns="metric", values="value", aggfunc="first")
    first = _add_months(today.replace(day=1), -(months - 1))
    rows = []
    for month, row in wide.sort_index().iterrows():
        nps, responses = row.get("nps"), row.get("nps_responses")
        if month < first or nps is None or nps != nps or responses is None or not responses > 0:  # NaN != NaN
            continue
        rows.append({"month": month, "nps": float(nps), "responses": int(responses)})
    return rows
