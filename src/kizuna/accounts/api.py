"""REST API of the accounts domain: accounts, contacts, subscriptions, activities and notes (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from kizuna.accounts import service
from kizuna.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountPage,
    AccountQuery,
    AccountUpdate,
    BulkAssign,
    ContactCreate,
    ContactOut,
    MrrPoint,
    SubscriptionOut,
)
from kizuna.auth.deps import current_principal
from kizuna.auth.service import Principal
from kizuna.platform.clock import today
from kizuna.platform.paging import Page, Paging
from kizuna.platform.web.deps import DbSession, Id, Pages

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/accounts", response_model=AccountPage, summary="List accounts (search, filter, sort)")
def list_accounts(query: Annotated[AccountQuery, Query()], session: Session = DbSession) -> AccountPage:
    return service.list_accounts(session, query, today=today())


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED, summary="Create")
def create_account(
    data: AccountCreate, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> AccountOut:
    return AccountOut.model_validate(service.create_account(session, actor=principal.actor, data=data))


@router.post("/accounts/bulk-assign", summary="Assign many accounts to one CSM")
def bulk_assign(
    data: BulkAssign, principal: Principal = Depends(current_principal), session: Session = DbSession
) -> dict[str, int]:
    changed = service.bulk_assign(session, actor=principal.actor, account_ids=data.account_ids, owner_id=data.owner_id)
    return {"changed": changed}


@router.get("/accounts/{account_id}", response_model=AccountOut, summary="One account")
def get_account(account_id: Id, session: Session = DbSession) -> AccountOut:
    return AccountOut.model_validate(service.get_account(session, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut, summary="Update an account")
def update_account(
    account_id: Id,
    data: AccountUpdate,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> AccountOut:
    return AccountOut.model_validate(
        service.update_account(session, actor=principal.actor, account_id=account_id, data=data)
    )


@router.get("/accounts/{account_id}/contacts", response_model=list[ContactOut], tags=["contacts"])
def list_contacts(account_id: Id, session: Session = DbSession) -> list[ContactOut]:
    return [ContactOut.model_validate(c) for c in service.list_contacts(session, account_id)]


@router.post(
    "/accounts/{account_id}/contacts",
    response_model=ContactOut,
    status_code=status.HTTP_201_CREATED,
    tags=["contacts"],
)
def create_contact(
    account_id: Id,
    data: ContactCreate,
    principal: Principal = Depends(current_principal),
    session: Session = DbSession,
) -> ContactOut:
    return ContactOut.model_validate(
        service.create_contact(session, actor=principal.actor, account_id=account_id, data=data)
    )


@router.get(
    "/accounts/{account_id}/subscriptions",
    response_model=list[SubscriptionOut],
    tags=["subscriptions"],
    summary="Every version of every contract line of the account",
)
def list_subscriptions(account_id: Id, session: Session = DbSession) -> list[SubscriptionOut]:
    return [SubscriptionOut.model_validate(s) for s in service.list_subscriptions(session, account_id)]


@router.get("/accounts/{account_id}/mrr-history", response_model=list[MrrPoint], tags=["subscriptions"])
def mrr_history(account_id: Id, months: int = Query(24, ge=1, le=120), session: Session = DbSession) -> list[MrrPoint]:
    service.get_account(session, account_id)
    return service.mrr_history(session, account_id, today=today(), months=months)


@router.get(
    "/renewals",
    response_model=Page[dict[str, Any]],
    tags=["subscriptions"],
    summary="One page of the contracts renewing soon (with the total count)",
)
def renewals(
    horizon_days: int = Query(90, ge=1, le=730),
    owner_id: int | None = Query(None, ge=1, le=2**31 - 1),
    paging: Paging = Pages,
    session: Session = DbSession,
) -> Page[dict[str, Any]]:
    return service.upcoming_renewals(
        session, today=today(), horizon_days=horizon_days, owner_id=owner_id, paging=paging
    )
