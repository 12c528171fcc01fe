"""Loopback stand-ins for HubSpot's and Salesforce's REST APIs, answering in the shapes of their API references.

HubSpot CRM v3: ``POST /crm/v3/objects/{object}/search`` (filterGroups on the modified property with GTE in epoch
milliseconds, sorts, ``paging.next.after``), ``POST /crm/v4/associations/deals/companies/batch/read``,
``POST /crm/v3/objects/companies/batch/update`` (a property the portal lacks refuses the batch:
PROPERTY_DOESNT_EXIST), the properties API (``GET|POST /crm/v3/properties/companies/groups``,
``GET /crm/v3/properties/companies``, ``POST /crm/v3/properties/companies/batch/create``) and
``GET /crm/v3/owners?email=``; a 429 answers HubSpot's RATE_LIMIT body and X-HubSpot-RateLimit-* headers.

Salesforce REST: ``GET /services/data/vXX.X/query?q=`` (SOQL on SystemModstamp; a field the Account lacks is
INVALID_FIELD), queryMore through ``nextRecordsUrl``, ``SELECT Id, Email FROM User WHERE IsActive = true AND Email IN
(...)``, ``GET /services/data/vXX.X/sobjects/Account/describe`` and ``PATCH /services/data/vXX.X/composite/sobjects``;
errors are Salesforce's JSON list of ``{"message", "errorCode"}``. Each peer records the requests it served and what
was written to it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class Failure:
    """The next ``times`` requests whose path contains ``path`` (and, when given, whose page starts at ``after``)
    are answered with ``status``."""

    path: str
    status: int
    times: int = 1
    after: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    #: seconds to wait before answering normally (a slow peer: the client's timeout drops the request)
    delay: float = 0.0


def _iso_z(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _sf_instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


class Peer:
    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.requests: list[str] = []
        self.app = FastAPI()

    def _failure(self, path: str, after: str | None) -> Failure | None:
        for f in self.failures:
            if f.path in path and f.times > 0 and (f.after is None or f.after == after):
                f.times -= 1
                return f
        return None


class HubSpotPeer(Peer):
    """A HubSpot portal: ``objects[kind][id] = properties`` (strings, as HubSpot sends them)."""

    MODIFIED: ClassVar[dict[str, str]] = {
        "companies": "hs_lastmodifieddate",
        "contacts": "lastmodifieddate",
        "deals": "hs_lastmodifieddate",
    }

    def __init__(self, *, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.objects: dict[str, dict[str, dict[str, str]]] = {"companies": {}, "contacts": {}, "deals": {}}
        self.deal_company: dict[str, str] = {}
        self.updates: list[dict[str, Any]] = []  # the batch update inputs, as received
        self.now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
        #: the portal's company property groups and properties (name -> definition as HubSpot answers it)
        self.groups: dict[str, dict[str, Any]] = {
            "companyinformation": {"name": "companyinformation", "label": "Company information", "displayOrder": -1}
        }
        self.properties: dict[str, dict[str, Any]] = {
            name: self._property(name, "string", "text", "companyinformation")
            for name in ("name", "domain", "website", "industry", "country", "numberofemployees", "hubspot_owner_id")
        }
        #: the portal's users: owner id -> e-mail
        self.owners: dict[str, str] = {}
        self.now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
        app = self.app

        @app.post("/crm/v3/objects/{kind}/search")
        async def search(kind: str, request: Request) -> Response:
            body = await request.json()
            self.requests.append(f"search {kind} after={body.get('after')}")
            failed = self._failure(f"search/{kind}", body.get("after"))
            if failed and failed.delay:
                await asyncio.sleep(failed.delay)
            elif failed:
                return self._error(failed)
            modified = self.MODIFIED[kind]
            since = 0
            for group in body.get("filterGroups") or []:
                for f in group["filters"]:
                    assert f["propertyName"] == modified and f["operator"] == "GTE", f
                    since = int(f["value"])
            assert body["sorts"] == [{"propertyName": modified, "direction": "ASCENDING"}], body["sorts"]
            rows = sorted(
                ((i, p) for i, p in self.objects[kind].items() if self._millis(p[modified]) >= since),
                key=lambda r: (self._millis(r[1][modified]), int(r[0])),
            )
            start = int(body.get("after") or 0)
            size = min(int(body.get("limit", 10)), self.page_size)
            chunk = rows[start : start + size]
            wanted = body.get("properties") or []
            answer: dict[str, Any] = {
                "total": len(rows),
                "results": [
                    {
                        "id": i,
                        "properties": {k: p.get(k) for k in wanted},
                        "createdAt": p.get("createdate", "2026-01-05T00:00:00.000Z"),
                        "updatedAt": p[modified],
                        "archived": False,
                    }
                    for i, p in chunk
                ],
            }
            if start + size < len(rows):
                after = str(start + size)
                answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
            return JSONResponse(answer)

        @app.post("/crm/v4/associations/deals/companies/batch/read")
        async def associations(request: Request) -> Response:
            body = await request.json()
            self.requests.append("associations deals companies")
            results = [
                {
                    "from": {"id": x["id"]},
                    "to": [
                        {
                            "toObjectId": int(self.deal_company[x["id"]]),
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}],
                        }
                    ],
                }
                for x in body["inputs"]
                if x["id"] in self.deal_company
            ]
            stamp = _iso_z(self.now)
            return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp})

        @app.get("/crm/v3/properties/companies/groups")
        async def groups() -> Response:
            self.requests.append("property groups")
            failed = self._failure("properties/companies/groups", None)
            if failed:
                return self._error(failed)
            return JSONResponse({"results": [g | {"archived": False} for g in self.groups.values()]})

        @app.post("/crm/v3/properties/companies/groups")
        async def create_group(request: Request) -> Response:
            body = await request.json()
            self.requests.append(f"create property group {body['name']}")
            if body["name"] in self.groups:
                return JSONResponse({"status": "error", "category": "CONFLICT"}, status_code=409)
            self.groups[body["name"]] = {k: body[k] for k in ("name", "label", "displayOrder") if k in body}
            return JSONResponse(self.groups[body["name"]] | {"archived": False}, status_code=201)

        @app.get("/crm/v3/properties/companies")
        async def properties() -> Response:
            self.requests.append("company properties")
            failed = self._failure("properties/companies", None)
            if failed:
                return self._error(failed)
            return JSONResponse({"results": list(self.properties.values())})

        @app.post("/crm/v3/properties/companies/batch/create")
        async def create_properties(request: Request) -> Response:
            body = await request.json()
            self.requests.append("create company properties")
            failed = self._failure("properties/companies/batch/create", None)
            if failed:
                return self._error(failed)
            created = []
            for x in body["inputs"]:
                assert x["groupName"] in self.groups, x
                definition = self._property(x["name"], x["type"], x["fieldType"], x["groupName"])
                definition |= {k: x[k] for k in ("label", "referencedObjectType", "externalOptions") if k in x}
                self.properties[x["name"]] = definition
                created.append(definition)
            stamp = _iso_z(self.now)
            return JSONResponse(
                {"status": "COMPLETE", "results": created, "startedAt": stamp, "completedAt": stamp}, status_code=201
            )

        @app.get("/crm/v3/owners")
        @app.get("/crm/v3/owners/")
        async def owners(email: str | None = None, limit: int = 100) -> Response:
            self.requests.append(f"owners email={email}")
            stamp = _iso_z(self.now)
            results = [
                {
                    "id": owner_id,
                    "email": address,
                    "type": "PERSON",
                    "firstName": "",
                    "lastName": "",
                    "userId": int(owner_id),
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "archived": False,
                }
                for owner_id, address in self.owners.items()
                if email is None or address.lower() == email.lower()
            ]
            return JSONResponse({"results": results[:limit]})

        @app.post("/crm/v3/objects/companies/batch/update")
        async def update(request: Request) -> Response:
            body = await request.json()
            self.requests.append("batch update companies")
            failed = self._failure("batch/update", None)
            if failed:
                return self._error(failed)
            unknown = sorted({k for x in body["inputs"] for k in x["properties"] if k not in self.properties})
            if unknown:
                errors = ", ".join(
                    f'{{"isValid":false,"message":"Property \\"{k}\\" does not exist","error":"PROPERTY_DOESNT_EXIST",'
                    f'"name":"{k}"}}'
                    for k in unknown
                )
                return JSONResponse(
                    {
                        "status": "error",
                        "message": f"Property values were not valid: [{errors}]",
                        "correlationId": "7c1a9d52-0f6e-4c35-9b1e-2d8e0f3a4b5c",
                        "category": "VALIDATION_ERROR",
                    },
                    status_code=400,
                )
            results = []
            for x in body["inputs"]:
                self.updates.append(x)
                company = self.objects["companies"].get(x["id"])
                if company is None:
                    continue
                company.update(x["properties"])
                self.now += dt.timedelta(seconds=1)
                company["hs_lastmodifieddate"] = _iso_z(self.now)
                results.append(
                    {
                        "id": x["id"],
                        "properties": x["properties"],
                        "createdAt": "2026-01-05T00:00:00.000Z",
                        "updatedAt": company["hs_lastmodifieddate"],
                        "archived": False,
                    }
                )
            stamp = _iso_z(self.now)
            return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp})

    def _property(self, name: str, kind: str, field_type: str, group: str) -> dict[str, Any]:
        stamp = _iso_z(self.now)
        return {
            "name": name,
            "label": name,
            "type": kind,
            "fieldType": field_type,
            "groupName": group,
            "description": "",
            "options": [],
            "displayOrder": -1,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }

    @staticmethod
    def _millis(text: str) -> int:
        return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)

    def _error(self, failed: Failure) -> Response:
        if failed.status == 429:
            body = failed.body or {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "c6f1e1a2-3b4c-4d5e-8f90-a1b2c3d4e5f6",
                "policyName": "TEN_SECONDLY_ROLLING",
            }
            headers = {
                "X-HubSpot-RateLimit-Daily": "250000",
                "X-HubSpot-RateLimit-Daily-Remaining": "249000",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": "100",
                "X-HubSpot-RateLimit-Remaining": "0",
                **failed.headers,
            }
            return JSONResponse(body, status_code=429, headers=headers)
        body = failed.body or {
            "status": "error",
            "message": "internal error",
            "correlationId": "0d8a2c4e-1111-4222-8333-944455556666",
            "category": "INTERNAL_ERROR" if failed.status >= 500 else "VALIDATION_ERROR",
        }
        return JSONResponse(body, status_code=failed.status, headers=failed.headers)

    def touch(self, kind: str, object_id: str, **properties: str) -> None:
        """A change made in HubSpot: new property values and a later modified time."""
        self.now += dt.timedelta(minutes=1)
        row = self.objects[kind].setdefault(object_id, {})
        row.update(properties)
        row[self.MODIFIED[kind]] = _iso_z(self.now)


class SalesforcePeer(Peer):
    """A Salesforce org: ``objects[sobject][Id] = fields`` (JSON values, as the REST API sends them)."""

    VERSION = "61.0"

    def __init__(self, *, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"Account": {}, "Contact": {}, "Opportunity": {}}
        self.patches: list[dict[str, Any]] = []  # the records PATCHed, as received
        #: the Account's fields (describe); the org's users (User Id -> (e-mail, active))
        self.account_fields: set[str] = {
            "Id", "Name", "Industry", "Website", "BillingCountry", "NumberOfEmployees", "OwnerId", "SystemModstamp",
            "Kizuna_Health_Score__c", "Kizuna_Health_Band__c", "Kizuna_Churn_Risk__c", "Kizuna_Churn_Risk_Band__c",
            "Kizuna_Lifecycle_Stage__c", "Kizuna_Next_Renewal_Date__c", "Kizuna_CSM__c", "Kizuna_CSM_User__c",
        }  # fmt: skip
        self.users: dict[str, tuple[str, bool]] = {}
        self.now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        base = f"/services/data/v{self.VERSION}"
        app = self.app

        @app.get(base + "/query/")
        async def query(q: str) -> Response:
            self.requests.append(f"query {q}")
            failed = self._failure("query", None)
            if failed and failed.delay:
                await asyncio.sleep(failed.delay)
            elif failed:
                return self._error(failed)
            users = re.fullmatch(r"SELECT Id, Email FROM User WHERE IsActive = true AND Email IN \((?P<in>.*)\)", q)
            if users:
                wanted = {e.lower() for e in re.findall(r"'((?:[^'\\]|\\.)*)'", users["in"])}
                found = [
                    {"attributes": {"type": "User", "url": f"{base}/sobjects/User/{i}"}, "Id": i, "Email": email}
                    for i, (email, active) in self.users.items()
                    if active and email.lower() in wanted
                ]
                return JSONResponse({"totalSize": len(found), "done": True, "records": found})
            match = re.fullmatch(
                r"SELECT (?P<fields>.+) FROM (?P<sobject>\w+)(?: WHERE SystemModstamp >= (?P<since>\S+))?"
                r" ORDER BY SystemModstamp, Id",
                q,
            )
            assert match, q
            fields = [f.strip() for f in match["fields"].split(",")]
            since = dt.datetime.fromisoformat(match["since"].replace("Z", "+00:00")) if match["since"] else None
            sobject = match["sobject"]
            if sobject == "Account":
                unknown = [f for f in fields if f not in self.account_fields]
                if unknown:
                    return JSONResponse(
                        [
                            {
                                "message": f"No such column '{unknown[0]}' on entity 'Account'.",
                                "errorCode": "INVALID_FIELD",
                            }
                        ],
                        status_code=400,
                    )
            rows = sorted(
                (
                    r
                    for r in self.objects[sobject].values()
                    if since is None or self._instant(r["SystemModstamp"]) >= since
                ),
                key=lambda r: (r["SystemModstamp"], r["Id"]),
            )
            records = [
                {"attributes": {"type": sobject, "url": f"{base}/sobjects/{sobject}/{r['Id']}"}}
                | {f: r.get(f) for f in fields}
                for r in rows
            ]
            locator = f"01gRM00000{len(self.cursors):05d}AB"
            self.cursors[locator] = records
            return JSONResponse(self._batch(locator, 0))

        @app.get(base + "/query/{locator}-{offset}")
        async def query_more(locator: str, offset: int) -> Response:
            self.requests.append(f"queryMore {offset}")
            failed = self._failure("queryMore", str(offset))
            if failed:
                return self._error(failed)
            return JSONResponse(self._batch(locator, offset))

        @app.get(base + "/sobjects/Account/describe")
        async def describe() -> Response:
            self.requests.append("describe Account")
            kinds = {"__c": "string"}
            return JSONResponse(
                {
                    "name": "Account",
                    "label": "取引先",
                    "fields": [
                        {"name": f, "type": kinds.get(f[-3:], "string"), "updateable": f != "Id"}
                        for f in sorted(self.account_fields)
                    ],
                }
            )

        @app.patch(base + "/composite/sobjects")
        async def patch(request: Request) -> Response:
            body = await request.json()
            self.requests.append("patch composite/sobjects")
            failed = self._failure("composite", None)
            if failed:
                return self._error(failed)
            results = []
            for record in body["records"]:
                self.patches.append(record)
                sobject = record["attributes"]["type"]
                row = self.objects[sobject].get(record["id"])
                if row is None:
                    results.append(
                        {
                            "id": record["id"],
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ENTITY_IS_DELETED",
                                    "message": "entity is deleted",
                                    "fields": [],
                                }
                            ],
                        }
                    )
                    continue
                unknown = [k for k in record if k not in ("attributes", "id") and k not in self.account_fields]
                if sobject == "Account" and unknown:
                    error = {"statusCode": "INVALID_FIELD", "message": f"No such column '{unknown[0]}'", "fields": []}
                    results.append({"id": record["id"], "success": False, "errors": [error]})
                    continue
                self.now += dt.timedelta(seconds=1)
                row.update({k: v for k, v in record.items() if k not in ("attributes", "id")})
                row["SystemModstamp"] = _sf_instant(self.now)
                results.append({"id": record["id"], "success": True, "errors": []})
            return JSONResponse(results)

    def _batch(self, locator: str, offset: int) -> dict[str, Any]:
        records = self.cursors[locator]
        chunk = records[offset : offset + self.page_size]
        answer: dict[str, Any] = {"totalSize": len(records), "done": offset + self.page_size >= len(records)}
        if not answer["done"]:
            answer["nextRecordsUrl"] = f"/services/data/v{self.VERSION}/query/{locator}-{offset + self.page_size}"
        answer["records"] = chunk
        return answer

    @staticmethod
    def _instant(text: str) -> dt.datetime:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")

    def _error(self, failed: Failure) -> Response:
        body = failed.body or (
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            if failed.status == 403
            else [
                {
                    "message": "An unexpected error occurred. Please include this ErrorId: 1234-5678 (-9)",
                    "errorCode": "UNKNOWN_EXCEPTION",
                }
            ]
        )
        return JSONResponse(body, status_code=failed.status, headers=failed.headers)

    def touch(self, sobject: str, record_id: str, **values: Any) -> None:
        """A change made in Salesforce: new field values and a later SystemModstamp."""
        self.now += dt.timedelta(minutes=1)
        row = self.objects[sobject].setdefault(record_id, {"Id": record_id})
        row.update(values)
        row["SystemModstamp"] = _sf_instant(self.now)


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key (simple-salesforce speaks only HTTPS)."""
    cert, key = folder / "peer.crt", folder / "peer.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)
