"""HubSpot through its own client (``hubspot-api-client``): CRM v3 search of companies, contacts and deals changed
since a cursor (``hs_lastmodifieddate`` / ``lastmodifieddate``, ascending, paged by ``paging.next.after``), the
deals' companies from the v4 associations batch read, and CS values written with the companies batch update."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsError
from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput
from hubspot.crm.companies import PublicObjectSearchRequest as CompanySearch
from hubspot.crm.companies.exceptions import ApiException as CompaniesError
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearch
from hubspot.crm.contacts.exceptions import ApiException as ContactsError
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearch
from hubspot.crm.deals.exceptions import ApiException as DealsError
from hubspot.crm.owners.exceptions import ApiException as OwnersError
from hubspot.crm.properties import BatchInputPropertyCreate, PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesError
from urllib3.exceptions import HTTPError as TransportError

from kizuna.connectors.service import RunLog
from kizuna.crm.backoff import Backoff
from kizuna.crm.records import Company, CsUpdate, Deal, Page, Person, Record
from kizuna.errors import ConfigurationError

VENDOR = "hubspot"
API_ERRORS = (CompaniesError, ContactsError, DealsError, AssociationsError, PropertiesError, OwnersError)

#: kizuna's CS fields as HubSpot company properties, created in the group ``kizuna`` by the first push
PROPERTIES = {
    "health_score": "kizuna_health_score",
    "health_band": "kizuna_health_band",
    "churn_risk": "kizuna_churn_risk",
    "churn_risk_band": "kizuna_churn_risk_band",
    "lifecycle_stage": "kizuna_lifecycle_stage",
    "next_renewal_date": "kizuna_next_renewal_date",
    "csm": "kizuna_csm",
    "csm_owner": "kizuna_csm_owner",
}
PROPERTY_GROUP = "kizuna"
#: each property's label, type and field type (HubSpot's properties API); ``kizuna_csm_owner`` is a "HubSpot user"
#: property (an enumeration of the portal's owners), so the CSM shows as a user, beside the company's own owner
DEFINITIONS = {
    "kizuna_health_score": ("kizuna: health score", "number", "number"),
    "kizuna_health_band": ("kizuna: health band", "string", "text"),
    "kizuna_churn_risk": ("kizuna: churn risk (%)", "number", "number"),
    "kizuna_churn_risk_band": ("kizuna: churn risk band", "string", "text"),
    "kizuna_lifecycle_stage": ("kizuna: lifecycle stage", "string", "text"),
    "kizuna_next_renewal_date": ("kizuna: next renewal", "date", "date"),
    "kizuna_csm": ("kizuna: CSM (e-mail or name)", "string", "text"),
    "kizuna_csm_owner": ("kizuna: CSM", "enumeration", "select"),
}
#: the property each object's search filters and sorts on: contacts keep their own name for it
MODIFIED = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
READ = {
    "companies": ["name", "industry", "domain", "website", "country", "numberofemployees", "hs_lastmodifieddate"],
    "contacts": ["firstname", "lastname", "email", "jobtitle", "associatedcompanyid", "lastmodifieddate"],
    "deals": [
        "dealname",
        "dealstage",
        "amount",
        "deal_currency_code",
        "closedate",
        "createdate",
        "dealtype",
        "hs_is_closed",
        "hs_is_closed_won",
        "hs_lastmodifieddate",
    ],
}
PAGE_SIZE = 100  # the search API's most
SEARCH_LIMIT = 10_000  # results one search query pages through at most (HubSpot answers 400 past it)
BATCH_SIZE = 100  # the batch update's most


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _seconds(text: str | None, scale: float = 1.0) -> float | None:
    try:
        return max(0.0, float(text) * scale) if text else None
    except ValueError:
        return None


def retry_after(error: Exception) -> float | None:
    """How long to wait before trying ``error``'s request again, None for not at all.

    A 429 waits as HubSpot's headers say: ``Retry-After`` when sent; else, with the window's calls used up
    (``X-HubSpot-RateLimit-Remaining: 0``), the window's length (``X-HubSpot-RateLimit-Interval-Milliseconds``);
    else the back-off (0). With the day's calls used up (``X-HubSpot-RateLimit-Daily-Remaining: 0``) it is not tried
    again: the daily limit resets at midnight in the portal's time zone. 5xx and dropped connections are tried
    again after the back-off; any other error is not."""
    if isinstance(error, TransportError):
        return 0
    if not isinstance(error, API_ERRORS):
        return None
    status = error.status or 0
    if status >= 500:
        return _seconds(_header(error.headers, "Retry-After")) or 0
    if status != 429:
        return None
    headers = error.headers
    asked = _seconds(_header(headers, "Retry-After"))
    if asked is not None:
        return asked
    if _header(headers, "X-HubSpot-RateLimit-Daily-Remaining") == "0":
        return None
    if _header(headers, "X-HubSpot-RateLimit-Remaining") == "0":
        return _seconds(_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"), 0.001) or 0
    return 0


def _definition(name: str) -> PropertyCreate:
    label, kind, field_type = DEFINITIONS[name]
    owner = {"referenced_object_type": "OWNER", "external_options": True} if name == "kizuna_csm_owner" else {}
    return PropertyCreate(
        name=name,
        label=label,
        type=kind,
        field_type=field_type,
        group_name=PROPERTY_GROUP,
        description="Written by kizuna on each sync; edits here are overwritten (docs/connectors.md).",
        **owner,
    )


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


class HubSpotAdapter:
    """A HubSpot portal, reached with a private app's access token; ``host`` points the client elsewhere (tests)."""

    vendor = VENDOR

    def __init__(
        self,
        *,
        access_token: str,
        host: str | None = None,
        currency: str = "JPY",
        backoff: Backoff | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        options: dict[str, Any] = {"access_token": access_token}
        if host:
            options["host"] = host.rstrip("/")
        self.client = HubSpot(**options)
        self.currency = currency
        self.backoff = backoff or Backoff()
        self.timeout_seconds = timeout_seconds  # a request that takes longer is dropped and tried again
        self.search_limit = SEARCH_LIMIT
        self.properties_ready = False
        self.owners: dict[str, str | None] = {}  # lower-cased e-mail -> owner id (None: no owner has it)

    def _call(self, fn: Callable[[], Any], what: str, log: RunLog) -> Any:
        return self.backoff.call(fn, retry_after=retry_after, what=f"hubspot {what}", run_log=log)

    def pages(self, stream: str, since: dt.datetime | None, log: RunLog) -> Iterator[Page]:
        api = {
            "companies": self.client.crm.companies,
            "contacts": self.client.crm.contacts,
            "deals": self.client.crm.deals,
        }
        search = {"companies": CompanySearch, "contacts": ContactSearch, "deals": DealSearch}[stream]
        modified = MODIFIED[stream]
        properties = READ[stream] + (list(PROPERTIES.values()) if stream == "companies" else [])
        after: str | None = None
        while True:
            filters = []
            if since is not None:
                millis = int(since.timestamp() * 1000)
                filters = [{"filters": [{"propertyName": modified, "operator": "GTE", "value": str(millis)}]}]
            request = search(
                filter_groups=filters,
                sorts=[{"propertyName": modified, "direction": "ASCENDING"}],
                properties=properties,
                limit=PAGE_SIZE,
                after=after,
            )
            answer = self._call(
                partial(api[stream].search_api.do_search, request, _request_timeout=self.timeout_seconds),
                f"search {stream}",
                log,
            )
            objects = list(answer.results or [])
            companies = self._deal_companies([o.id for o in objects], log) if stream == "deals" else {}
            records = [self._record(stream, o, companies) for o in objects]
            resume = max((r.modified_at for r in records), default=None)
            yield Page(stream=stream, records=records, resume_from=resume)
            paging = answer.paging
            after = paging.next.after if paging is not None and paging.next is not None else None
            if not after or not objects:
                return
            if int(after) + len(objects) > self.search_limit and resume is not None and resume != since:
                # the search answers at most search_limit results a query: start a new one at the latest change
                # read (GTE, so records of that instant come again and are found unchanged)
                since, after = resume, None

    def _deal_companies(self, deal_ids: list[str], log: RunLog) -> dict[str, str]:
        if not deal_ids:
            return {}
        request = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in deal_ids]
        )
        answer = self._call(
            lambda: self.client.crm.associations.v4.batch_api.get_page(
                "deals", "companies", request, _request_timeout=self.timeout_seconds
            ),
            "deal companies",
            log,
        )
        out = {}
        for row in answer.results or []:
            if row.to:
                out[str(row._from.id)] = str(row.to[0].to_object_id)
        return out

    def _record(self, stream: str, obj: Any, companies: dict[str, str]) -> Record:
        p: dict[str, str | None] = dict(obj.properties or {})
        modified = _instant(p.get(MODIFIED[stream])) or obj.updated_at
        if stream == "companies":
            return Company(
                remote_id=str(obj.id),
                modified_at=modified,
                name=p.get("name"),
                industry=p.get("industry"),
                website=p.get("website") or p.get("domain"),
                region=p.get("country"),
                employees=p.get("numberofemployees"),
                cs_values={name: p.get(prop) for name, prop in PROPERTIES.items()},
            )
        if stream == "contacts":
            name = " ".join(x for x in (p.get("lastname"), p.get("firstname")) if x)  # 姓 名, as Japanese write it
            return Person(
                remote_id=str(obj.id),
                modified_at=modified,
                company_id=p.get("associatedcompanyid"),
                name=name or None,
                email=p.get("email"),
                title=p.get("jobtitle"),
                company_field="associatedcompanyid",
            )
        if p.get("hs_is_closed_won") == "true" or p.get("dealstage") == "closedwon":
            outcome = "won"
        elif p.get("hs_is_closed") == "true" or p.get("dealstage") == "closedlost":
            outcome = "lost"
        else:
            outcome = "open"
        return Deal(
            remote_id=str(obj.id),
            modified_at=modified,
            company_id=companies.get(str(obj.id)),
            name=p.get("dealname"),
            outcome=outcome,
            amount=p.get("amount"),
            currency=p.get("deal_currency_code") or self.currency,
            created_at=_instant(p.get("createdate")) or obj.created_at,
            close_date=p.get("closedate"),
            kind="upsell" if p.get("dealtype") == "existingbusiness" else "new",
        )

    def prepare_push(self, log: RunLog) -> None:
        """Create the property group ``kizuna`` and the company properties a push writes, where missing (once per
        adapter). A private app without the scope ``crm.schemas.companies.write`` is refused: ConfigurationError."""
        if self.properties_ready:
            return
        properties = self.client.crm.properties
        try:
            groups = self._call(
                lambda: properties.groups_api.get_all("companies", _request_timeout=self.timeout_seconds),
                "property groups",
                log,
            )
            if PROPERTY_GROUP not in {g.name for g in groups.results or []}:
                group = PropertyGroupCreate(name=PROPERTY_GROUP, label="kizuna", display_order=-1)
                self._call(
                    lambda: properties.groups_api.create("companies", group, _request_timeout=self.timeout_seconds),
                    "create property group",
                    log,
                )
                log.count("property_group_created")
            existing = self._call(
                lambda: properties.core_api.get_all("companies", _request_timeout=self.timeout_seconds),
                "company properties",
                log,
            )
            names = {p.name for p in existing.results or []}
            missing = [name for name in DEFINITIONS if name not in names]
            if missing:
                request = BatchInputPropertyCreate(inputs=[_definition(name) for name in missing])
                self._call(
                    lambda: properties.batch_api.create("companies", request, _request_timeout=self.timeout_seconds),
                    "create company properties",
                    log,
                )
                log.count("properties_created", len(missing))
        except PropertiesError as e:
            if e.status in (401, 403):
                raise ConfigurationError(
                    "HubSpot refused to create the company properties kizuna writes "
                    f"({', '.join(DEFINITIONS)}; HTTP {e.status}): give the private app the scope "
                    "crm.schemas.companies.write, or create them by hand in the group 'kizuna' "
                    "(docs/connectors.md, Quick start: HubSpot)",
                    vendor=VENDOR,
                ) from e
            raise
        self.properties_ready = True

    def owner_ids(self, emails: list[str], log: RunLog) -> dict[str, str]:
        """The HubSpot owner of each e-mail (owners API, ``email=``), asked once per e-mail per adapter."""
        for email in sorted({e.lower() for e in emails} - set(self.owners)):
            answer = self._call(
                partial(
                    self.client.crm.owners.owners_api.get_page,
                    email=email,
                    limit=1,
                    _request_timeout=self.timeout_seconds,
                ),
                "owners",
                log,
            )
            found = [o for o in answer.results or [] if (o.email or "").lower() == email]
            self.owners[email] = str(found[0].id) if found else None
            if not found:
                log.count("csm_not_an_owner")
        return {e: o for e, o in self.owners.items() if o is not None}

    def push(self, updates: list[CsUpdate], log: RunLog) -> set[str]:
        taken: set[str] = set()
        for start in range(0, len(updates), BATCH_SIZE):
            batch = updates[start : start + BATCH_SIZE]
            request = BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(
                        id=u.remote_id, properties={PROPERTIES[k]: v or "" for k, v in u.values.items()}
                    )
                    for u in batch
                ]
            )
            try:
                answer = self._call(
                    partial(self.client.crm.companies.batch_api.update, request, _request_timeout=self.timeout_seconds),
                    "update companies",
                    log,
                )
            except CompaniesError as e:
                if e.status is None or e.status >= 500 or e.status == 429:
                    raise
                for u in batch:  # HubSpot refuses the whole batch (a missing property, a bad value)
                    log.reject(f"company {u.remote_id}", "properties", None, f"HubSpot refused the update: {e.body}")
                continue
            done = {str(r.id) for r in answer.results or []}
            for u in batch:
                if u.remote_id in done:
                    log.count("pushed")
                    taken.add(u.remote_id)
                else:
                    log.reject(
                        f"company {u.remote_id}", "id", u.remote_id, "HubSpot did not update it (no such company)"
                    )
        return taken
