"""Salesforce through its own client (``simple-salesforce``): SOQL on ``SystemModstamp`` (ascending, paged by
``nextRecordsUrl`` / queryMore) for Accounts, Contacts and Opportunities, and CS values written to custom fields
of the Account with sObject Collections PATCH (200 records a request, each accepted or refused on its own)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceGeneralError, SalesforceRefusedRequest

from kizuna.connectors.service import RunLog
from kizuna.crm.backoff import Backoff
from kizuna.crm.records import Company, CsUpdate, Deal, Page, Person, Record
from kizuna.errors import ConfigurationError

VENDOR = "salesforce"
API_VERSION = "61.0"

#: kizuna's CS fields as custom fields of the Account (an administrator creates them once: docs/connectors.md)
FIELDS = {
    "health_score": "Kizuna_Health_Score__c",
    "health_band": "Kizuna_Health_Band__c",
    "churn_risk": "Kizuna_Churn_Risk__c",
    "churn_risk_band": "Kizuna_Churn_Risk_Band__c",
    "lifecycle_stage": "Kizuna_Lifecycle_Stage__c",
    "next_renewal_date": "Kizuna_Next_Renewal_Date__c",
    "csm": "Kizuna_CSM__c",
    "csm_owner": "Kizuna_CSM_User__c",
}
#: each field's type as Setup -> Object Manager -> Account -> Fields & Relationships -> New names it
FIELD_TYPES = {
    "Kizuna_Health_Score__c": "Number(5, 1)",
    "Kizuna_Health_Band__c": "Text(20)",
    "Kizuna_Churn_Risk__c": "Number(5, 1)",
    "Kizuna_Churn_Risk_Band__c": "Text(20)",
    "Kizuna_Lifecycle_Stage__c": "Text(40)",
    "Kizuna_Next_Renewal_Date__c": "Date",
    "Kizuna_CSM__c": "Text(255)",
    "Kizuna_CSM_User__c": "Lookup(User)",
}
SOBJECT = {"companies": "Account", "contacts": "Contact", "deals": "Opportunity"}
READ = {
    "companies": ["Id", "Name", "Industry", "Website", "BillingCountry", "NumberOfEmployees", "SystemModstamp"],
    "contacts": ["Id", "LastName", "FirstName", "Email", "Title", "AccountId", "SystemModstamp"],
    "deals": [
        "Id",
        "Name",
        "AccountId",
        "StageName",
        "IsClosed",
        "IsWon",
        "Amount",
        "CloseDate",
        "CreatedDate",
        "Type",
        "SystemModstamp",
    ],
}
BATCH_SIZE = 200  # sObject Collections' most
#: numbers the push writes as numbers (the custom fields are Number(5, 1))
NUMERIC = {"health_score", "churn_risk"}


def _error_codes(error: SalesforceError) -> set[str]:
    content: list[Any] = error.content if isinstance(error.content, list) else []
    return {str(e.get("errorCode")) for e in content if isinstance(e, dict)}


def retry_after(error: Exception, asked: float | None = None) -> float | None:
    """How long to wait before trying ``error``'s request again, None for not at all: REQUEST_LIMIT_EXCEEDED
    (403), 429 and 5xx wait ``asked`` (the response's Retry-After, in seconds) when Salesforce sent one, else the
    back-off (0); dropped connections wait the back-off; other errors are not tried again."""
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return 0
    if isinstance(error, SalesforceRefusedRequest):
        return (asked or 0) if "REQUEST_LIMIT_EXCEEDED" in _error_codes(error) else None
    if isinstance(error, SalesforceGeneralError) and (error.status == 429 or error.status >= 500):
        return asked or 0
    return None


def _seconds(text: str | None) -> float | None:
    try:
        return max(0.0, float(text)) if text else None
    except ValueError:
        return None  # an HTTP date: the back-off instead


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(dt.UTC)


def _soql_text(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped as SOQL's reference says."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class SalesforceAdapter:
    """A Salesforce org: an instance URL and an access token (OAuth), or a username, password and security token."""

    vendor = VENDOR

    def __init__(
        self,
        *,
        instance_url: str | None = None,
        access_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        security_token: str | None = None,
        domain: str | None = None,
        currency: str = "JPY",
        backoff: Backoff | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        # simple-salesforce's errors carry no headers: the session's response hook keeps each refused response's
        # Retry-After by URL, for the back-off to read
        self.http = requests.Session()
        self.http.hooks["response"].append(self._remember_retry_after)
        self.retry_after_of: dict[str, float] = {}
        if access_token:
            self.client = Salesforce(
                instance_url=instance_url, session_id=access_token, version=API_VERSION, session=self.http
            )
        else:
            self.client = Salesforce(
                session=self.http,
                username=username,
                password=password,
                security_token=security_token or "",
                domain=domain,
                version=API_VERSION,
            )
        self.currency = currency
        self.account_fields: set[str] | None = None  # the Account's field names (describe), once per adapter
        self.backoff = backoff or Backoff()
        self.timeout_seconds = timeout_seconds  # a request that takes longer is dropped and tried again

    def _remember_retry_after(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            seconds = _seconds(response.headers.get("Retry-After"))
            if seconds is None:
                self.retry_after_of.pop(response.url, None)
            else:
                self.retry_after_of[response.url] = seconds

    def _retry_after(self, error: Exception) -> float | None:
        asked = self.retry_after_of.pop(error.url, None) if isinstance(error, SalesforceError) else None
        return retry_after(error, asked)

    def _call(self, fn: Callable[[], Any], what: str, log: RunLog) -> Any:
        return self.backoff.call(fn, retry_after=self._retry_after, what=f"salesforce {what}", run_log=log)

    def _fields_of_account(self, log: RunLog) -> set[str]:
        if self.account_fields is None:
            answer = self._call(
                partial(self.client.restful, "sobjects/Account/describe", timeout=self.timeout_seconds),
                "describe Account",
                log,
            )
            self.account_fields = {str(f["name"]) for f in (answer or {}).get("fields", [])}
        return self.account_fields

    def _reads_cs_fields(self, log: RunLog) -> bool:
        """Whether the pull reads kizuna's fields back (all of them exist), to see edits made in Salesforce."""
        return not set(FIELDS.values()) - self._fields_of_account(log)

    def pages(self, stream: str, since: dt.datetime | None, log: RunLog) -> Iterator[Page]:
        fields = list(READ[stream])
        with_cs = stream == "companies" and self._reads_cs_fields(log)
        if with_cs:
            fields += list(FIELDS.values())
        where = ""
        if since is not None:
            # SOQL datetime literals are unquoted; whole seconds, so GTE reads the cursor's second again
            where = f" WHERE SystemModstamp >= {since.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
        soql = f"SELECT {', '.join(fields)} FROM {SOBJECT[stream]}{where} ORDER BY SystemModstamp, Id"
        answer = self._call(
            partial(self.client.query, soql, timeout=self.timeout_seconds), f"query {SOBJECT[stream]}", log
        )
        while True:
            records = [self._record(stream, r, with_cs=with_cs) for r in answer.get("records", [])]
            resume = max((r.modified_at for r in records), default=None)
            yield Page(stream=stream, records=records, resume_from=resume)
            next_url = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not next_url:
                return
            answer = self._call(
                partial(self.client.query_more, next_url, identifier_is_url=True, timeout=self.timeout_seconds),
                f"queryMore {SOBJECT[stream]}",
                log,
            )

    def _record(self, stream: str, r: dict[str, Any], *, with_cs: bool = False) -> Record:
        modified = _instant(r.get("SystemModstamp"))
        assert modified is not None, "Salesforce always sends SystemModstamp"
        if stream == "companies":
            return Company(
                remote_id=str(r["Id"]),
                modified_at=modified,
                name=r.get("Name"),
                industry=r.get("Industry"),
                website=r.get("Website"),
                region=r.get("BillingCountry"),
                employees=_text(r.get("NumberOfEmployees")),
                cs_values={name: _text(r.get(api)) for name, api in FIELDS.items()} if with_cs else None,
            )
        if stream == "contacts":
            name = " ".join(x for x in (r.get("LastName"), r.get("FirstName")) if x)
            return Person(
                remote_id=str(r["Id"]),
                modified_at=modified,
                company_id=r.get("AccountId"),
                name=name or None,
                email=r.get("Email"),
                title=r.get("Title"),
                company_field="AccountId",
            )
        outcome = "won" if r.get("IsWon") else "lost" if r.get("IsClosed") else "open"
        kind = str(r.get("Type") or "")
        return Deal(
            remote_id=str(r["Id"]),
            modified_at=modified,
            company_id=r.get("AccountId"),
            name=r.get("Name"),
            outcome=outcome,
            amount=_text(r.get("Amount")),
            currency=str(r.get("CurrencyIsoCode") or self.currency),
            created_at=_instant(r.get("CreatedDate")),
            close_date=r.get("CloseDate"),
            kind="renewal" if "Renewal" in kind else "upsell" if "Upgrade" in kind else "new",
            amount_field="Amount",
        )

    def prepare_push(self, log: RunLog) -> None:
        """Check with describe that the Account has every field a push writes; ConfigurationError naming each
        missing one with its type and how to add it. kizuna does not create them: that needs the Metadata API (SOAP,
        deployed asynchronously) and field-level security for the integration user's profile, an administrator's
        decision in Setup, not something a sync should do on its own."""
        missing = [api for api in FIELDS.values() if api not in self._fields_of_account(log)]
        if missing:
            listed = "; ".join(f"{api} ({FIELD_TYPES[api]})" for api in missing)
            raise ConfigurationError(
                f"Salesforce's Account has no field {listed}: kizuna cannot push its CS values. In Setup -> Object "
                "Manager -> Account -> Fields & Relationships -> New, create each with that API name and type, give "
                "the integration user's profile edit access (field-level security), then sync again "
                "(docs/connectors.md, Quick start: Salesforce). The pull is not affected.",
                vendor=VENDOR,
                missing=missing,
            )

    def owner_ids(self, emails: list[str], log: RunLog) -> dict[str, str]:
        """The active Salesforce User of each e-mail (one SOQL query per 100 e-mails)."""
        found: dict[str, str] = {}
        wanted = sorted({e.lower() for e in emails})
        for start in range(0, len(wanted), 100):
            listed = ", ".join(_soql_text(e) for e in wanted[start : start + 100])
            soql = f"SELECT Id, Email FROM User WHERE IsActive = true AND Email IN ({listed})"
            answer = self._call(partial(self.client.query_all, soql, timeout=self.timeout_seconds), "query User", log)
            for r in answer.get("records", []):
                found.setdefault(str(r.get("Email") or "").lower(), str(r["Id"]))
        unknown = set(wanted) - set(found)
        if unknown:
            log.count("csm_not_a_user", len(unknown))
        return found

    def push(self, updates: list[CsUpdate], log: RunLog) -> set[str]:
        taken: set[str] = set()
        for start in range(0, len(updates), BATCH_SIZE):
            batch = updates[start : start + BATCH_SIZE]
            body = {
                "allOrNone": False,
                "records": [
                    {
                        "attributes": {"type": "Account"},
                        "id": u.remote_id,
                        **{FIELDS[k]: (float(v) if k in NUMERIC and v is not None else v) for k, v in u.values.items()},
                    }
                    for u in batch
                ],
            }
            answer = self._call(
                partial(
                    self.client.restful, "composite/sobjects", method="PATCH", json=body, timeout=self.timeout_seconds
                ),
                "update Accounts",
                log,
            )
            for u, result in zip(batch, answer or [], strict=False):
                if result.get("success"):
                    log.count("pushed")
                    taken.add(u.remote_id)
                    continue
                for error in result.get("errors") or [{}]:
                    fields = error.get("fields") or [None]
                    log.reject(
                        f"Account {u.remote_id}",
                        fields[0],
                        None,
                        f"Salesforce refused the update: {error.get('statusCode')} {error.get('message')}",
                    )
        return taken
