"""Importing a file into the data hub: read, map columns, validate every row, upsert by external id, reject the rest.

``import_file`` is the one entry point (CLI and web upload). It takes the caller's session and never commits; all its
database writes happen inside one savepoint, so an error or Ctrl-C half-way leaves the database as it was before the
import, and a dry run is the same import rolled back. Product usage events go to Parquet files instead
(:mod:`kizuna.imports.events`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from kizuna.accounts.models import Contact
from kizuna.billing.models import Invoice, Plan
from kizuna.db import Base
from kizuna.errors import ImportRejected, InvalidInput, KizunaError, NotFound
from kizuna.imports import created, runs
from kizuna.imports.entities import ENTITY_NAMES, EVENTS, EntitySpec, FieldSpec, ReferenceSpec, entity_spec
from kizuna.imports.mapping import (
    NAMED_MAPPINGS,
    ColumnPlan,
    MappingFile,
    check_timezone,
    named_mapping,
    plan_columns,
    value_key,
)
from kizuna.imports.models import ImportRun
from kizuna.imports.readers import read_rows
from kizuna.imports.rejects import RejectsWriter, rejects_path, remove_dead_rejects
from kizuna.imports.schemas import ImportSummary, Rejection
from kizuna.imports.values import (
    INT64,
    CellError,
    OutOfRange,
    check_text,
    employee_band,
    is_blank,
    out_of_range,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
    parse_minor_units,
    parse_money,
    parse_number,
    parse_text,
)
from kizuna.platform.paging import Paging, page_of
from kizuna.settings import Settings
from kizuna.voc.models import SCORE_RANGE

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)
FLUSH_EVERY = 1000
_AMBIGUOUS = -1


def _before_row(row_number: int) -> None:
    """Called before each accepted row is written (a seam for tests that interrupt an import half-way)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    session: Session,
    *,
    entity: str,
    path: Path | str,
    settings: Settings,
    actor: str,
    encoding: str | None = None,
    mapping: MappingFile | Path | str | None = None,
    dry_run: bool = False,
    file_format: str | None = None,
    sheet: str | None = None,
    display_name: str | None = None,
    progress: ProgressCallback | None = None,
    timezone: str | None = None,
    currency: str | None = None,
) -> ImportSummary:
    """Import ``path`` into ``entity``; returns what was imported, updated, unchanged and rejected.

    Naive timestamps (and dates given for timestamps) are read in ``timezone``, else the mapping's ``timezone``, else
    the company's (``settings.timezone``). ``currency`` is the currency of rows that have no currency cell (else the
    mapping's default, else that of the row updated; a new row's money without any is rejected, never defaulted).

    Rows are upserted by ``external_id`` (marketing spend: by month and channel); rows that fail validation go to a
    rejects CSV under ``settings.rejects_dir``. Raises :class:`~kizuna.errors.ImportRejected` when the whole file is
    refused (unreadable, undecodable, required columns missing) — then nothing is written. Flushes, never commits.
    ``display_name`` names the file in messages and rejects (the web upload's original name).
    """
    if entity not in ENTITY_NAMES:
        raise InvalidInput(f"unknown entity {entity!r}; one of: {', '.join(ENTITY_NAMES)}")
    path = Path(path)
    if not path.is_file():
        raise ImportRejected(f"{path}: no such file", file=str(path))
    mapping_file = load_mapping(mapping, entity=entity)
    zone = timezone or (mapping_file.timezone if mapping_file else None)
    import_currency = None
    if currency:
        import_currency = currency.strip().upper()
        if len(import_currency) != 3 or not import_currency.isalpha():
            raise ImportRejected(f"--currency {currency!r}: not an ISO 4217 currency code (e.g. JPY, USD)")
    company_zone = settings.timezone
    if zone and zone != settings.timezone:
        # this file's naive timestamps only: the business calendar (months, created_at by rule) stays the company's
        settings = settings.model_copy(update={"timezone": check_timezone(zone, source="--timezone")})
    started = time.perf_counter()
    remove_dead_rejects(settings.rejects_dir)  # a killed import's half-written rejects file
    sha = file_sha256(path)
    name = display_name or path.name
    if file_format is None and display_name and path.suffix.lower() != Path(display_name).suffix.lower():
        file_format = Path(display_name).suffix.lstrip(".") or None  # an upload saved under a temporary name
    if entity == EVENTS:
        from kizuna.imports.events import import_events

        summary = import_events(
            session,
            path=path,
            sha256=sha,
            settings=settings,
            actor=actor,
            encoding=encoding,
            mapping=mapping_file,
            dry_run=dry_run,
            file_format=file_format,
            display_name=name,
            progress=progress,
        )
    else:
        summary = _import_rows(
            session,
            spec=entity_spec(entity),
            path=path,
            sha256=sha,
            settings=settings,
            actor=actor,
            encoding=encoding,
            mapping=mapping_file,
            dry_run=dry_run,
            file_format=file_format,
            sheet=sheet,
            display_name=name,
            progress=progress,
            company_tz=ZoneInfo(company_zone),
            currency=import_currency,
        )
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.timezone = settings.timezone
    if settings.timezone != company_zone:
        summary.notes.append(f"naive timestamps read in {settings.timezone} (the company's time zone: {company_zone})")
    log.info(
        "import %s %s: %s imported, %s updated, %s unchanged, %s rejected",
        entity,
        name,
        summary.imported,
        summary.updated,
        summary.unchanged,
        summary.rejected,
    )
    return summary


def load_mapping(mapping: MappingFile | Path | str | None, *, entity: str) -> MappingFile | None:
    """The mapping an import uses: a ready mapping by name (``"stripe"``, one of ``NAMED_MAPPINGS``, its section for
    ``entity``), a YAML mapping file by path, or the one given."""
    if isinstance(mapping, str) and mapping in NAMED_MAPPINGS:
        return named_mapping(mapping, entity)
    if isinstance(mapping, (str, Path)):
        return MappingFile.load(Path(mapping))
    return mapping


def record_failed_import(
    session: Session, *, entity: str, path: Path, actor: str, message: str, display_name: str | None = None
) -> ImportRun:
    """Record an import that was refused or failed (in a transaction of its own, after the import's rolled back)."""
    sha = file_sha256(path) if path.is_file() else ""
    summary = ImportSummary(entity=entity, file=display_name or path.name, format="", file_sha256=sha)
    return runs.record_import_run(session, summary, actor=actor, status="failed", message=message)


def recover_interrupted_imports(session: Session, settings: Settings) -> dict[str, int]:
    """Finish what imports killed half-way left behind (a kill -9, a power cut): their half-written rejects files
    and their hidden event files go, and an events batch put in place stays only if its import-history row committed
    (:func:`kizuna.imports.events.recover_event_batches`). Imports that are running are left alone (their files are
    locked). Every import runs it first; so does every start of the app and of a worker, so a folder does not keep a
    dead import's files until the next import. Returns what was done."""
    from kizuna.imports.events import recover_event_batches

    rejects = remove_dead_rejects(settings.rejects_dir)
    events = recover_event_batches(session, settings)
    return {"rejects_files": rejects, **dataclasses.asdict(events)}


# --- the web upload and the imports page ------------------------------------------------------------------------


def import_runs(session: Session, *, paging: Paging) -> tuple[list[ImportRun], int]:
    """One page of the import history, newest first, and how many runs it holds."""
    rows, total = page_of(session, select(ImportRun).order_by(ImportRun.id.desc()), paging)
    return [run for (run,) in rows], total


def get_import_run(session: Session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(f"no import run {run_id}", entity="import_run", id=run_id)
    return run


def rejects_file(session: Session, *, run_id: int, rejects_dir: Path) -> Path:
    """The rejects CSV of import run ``run_id`` (only files inside ``rejects_dir`` are ever served)."""
    run = session.get(ImportRun, run_id)
    if run is None or not run.rejects_path:
        raise NotFound(f"import run {run_id} has no rejected rows", entity="import_run", id=run_id)
    path = Path(run.rejects_path).resolve()
    if not path.is_relative_to(rejects_dir.resolve()) or not path.is_file():
        raise NotFound(f"the rejects file of import run {run_id} is gone", entity="import_run", id=run_id)
    return path


@dataclasses.dataclass
class UploadOutcome:
    summary: Any | None
    error: str | None


def upload_name(filename: str | None) -> str | None:
    """The name an uploaded file is shown by: its last path component (``../../x.csv`` is ``x.csv``, ``C:\\a\\b.csv``
    is ``b.csv``) without control characters, at most 200 characters; None when nothing is left to name it by (``..``,
    ``/``, an empty name)."""
    last = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(c for c in last if c.isprintable()).strip()[:200]
    return None if name.strip(".") == "" else name


def upload_import(
    session: Session,
    *,
    settings: Settings,
    actor: str,
    entity: str,
    filename: str,
    stream: BinaryIO,
    dry_run: bool = False,
    mapping: str | None = None,
) -> UploadOutcome:
    """Import an uploaded file in a savepoint of the request's transaction (which holds the write lock on SQLite);
    a file refused as a whole is rolled back and recorded as a failed run. ``mapping`` names a ready mapping
    (``NAMED_MAPPINGS``; an upload never reads a mapping file from the server's disk)."""
    if mapping and mapping not in NAMED_MAPPINGS:
        return UploadOutcome(summary=None, error=f"no ready mapping {mapping!r} (ready: {', '.join(NAMED_MAPPINGS)})")
    safe_name = upload_name(filename)
    if safe_name is None:
        return UploadOutcome(
            summary=None,
            error=f"the uploaded file's name {filename!r} is not a file name: give it its own name and extension, such "
            "as accounts.csv",
        )
    with tempfile.TemporaryDirectory(prefix="kizuna-upload-") as tmp:
        # saved under a name of ours: the browser's name is only shown, never a path (".." once gave IsADirectoryError)
        path = Path(tmp) / ("upload" + re.sub(r"[^A-Za-z0-9.]", "", Path(safe_name).suffix)[:16])
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out)
        try:
            with session.begin_nested():
                summary = import_file(
                    session,
                    entity=entity,
                    path=path,
                    settings=settings,
                    actor=actor,
                    dry_run=dry_run,
                    display_name=safe_name,
                    mapping=mapping or None,
                )
        except KizunaError as exc:
            if not dry_run:
                record_failed_import(
                    session, entity=entity, path=path, actor=actor, message=str(exc), display_name=safe_name
                )
            return UploadOutcome(summary=None, error=str(exc))
    return UploadOutcome(summary=summary, error=None)


# --- rows kept in the app database -------------------------------------------------------------------------------


class _Lookups:
    """Source keys → kizuna ids of referenced rows, loaded once per import."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._maps: dict[tuple[type[Base], str], dict[str, int]] = {}
        self.invoice_accounts: dict[int, int] | None = None
        self.contact_accounts: dict[int, int] | None = None
        self.plan_periods: dict[int, int] | None = None

    @staticmethod
    def normalise(attr: str, value: str) -> str:
        if attr == "email":
            return value.strip().casefold()
        if attr == "name":
            return "".join(value_key(value).split())
        return value.strip()

    def get(self, target: type[Base], attr: str) -> dict[str, int]:
        key = (target, attr)
        if key not in self._maps:
            column = getattr(target, attr)
            found: dict[str, int] = {}
            for value, ident in self.session.execute(select(column, target.id)):  # type: ignore[attr-defined]
                if value is None:
                    continue
                k = self.normalise(attr, str(value))
                found[k] = _AMBIGUOUS if k in found and found[k] != ident else ident
            self._maps[key] = found
        return self._maps[key]

    def plan_period(self, plan_id: int) -> int | None:
        if self.plan_periods is None:
            self.plan_periods = dict(self.session.execute(select(Plan.id, Plan.billing_period_months)).all())
        return self.plan_periods.get(plan_id)

    def account_of_contact(self, contact_id: int) -> int | None:
        if self.contact_accounts is None:
            self.contact_accounts = dict(self.session.execute(select(Contact.id, Contact.account_id)).all())
        return self.contact_accounts.get(contact_id)

    def account_of_invoice(self, invoice_id: int) -> int | None:
        if self.invoice_accounts is None:
            self.invoice_accounts = dict(self.session.execute(select(Invoice.id, Invoice.account_id)).all())
        return self.invoice_accounts.get(invoice_id)


def _missing_columns(spec: EntitySpec, plan: ColumnPlan) -> list[str]:
    present = set(plan.positions) | set(plan.defaults)
    present |= {minor for alias, minor in spec.amount_columns.items() if alias in present}
    if plan.external_id_from:
        present.add("external_id")
    if spec.name == "tickets" and "body" in present:
        present.add("subject")  # the first line of the body
    if spec.name == "subscriptions" and "price" in present:
        present.add("mrr_minor")  # price x quantity / billing period (kizuna.imports.service._RowValidator)
    missing = [c for c in spec.required_columns if c not in present]
    if spec.name == "contacts" and not present & {"name", "first_name", "last_name"}:
        missing.append("name (or last_name/first_name)")
    for ref in spec.references:
        if ref.required and not present & {s for s, _ in ref.sources}:
            if spec.name == "payments" and ref.column == "account_id":
                continue  # taken from the invoice
            if spec.name in ACCOUNT_VIA_CONTACT and ref.column == "account_id" and "contact_email" in present:
                continue  # the contact's account
            missing.append(f"{ref.sources[0][0]} (or {', '.join(s for s, _ in ref.sources[1:])})")
    return missing


#: entities whose rows may name their account through their contact (a ticket's requester, a survey's respondent,
#: by e-mail); their contact, when unknown, is left empty if the row names its account otherwise
ACCOUNT_VIA_CONTACT = frozenset({"tickets", "survey_responses"})
#: the lines Salesforce writes under a report exported as CSV ("Generated By", the copyright, "Confidential
#: Information - Do Not Distribute", in the UI's language): not records
REPORT_FOOTER = re.compile(
    r"^(?:Copyright \(c\) \d{4}-\d{4} salesforce\.com|Confidential Information - Do Not Distribute|Generated By:|"
    r"作成者:|作成者 :|機密情報 - 配布禁止)",
    re.IGNORECASE,
)


def made_external_id(mapping_name: str, cells: Sequence[object]) -> str:
    """The id of a row whose source writes none (a form's response): the same cells always give the same id, so a
    re-import updates instead of duplicating."""
    text = "\x1f".join("" if is_blank(c) else str(c).strip() for c in cells)
    return f"{mapping_name or 'row'}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:20]}"


#: the characters of a ticket's subject taken from its first message
SUBJECT_FROM_BODY = 120


def ticket_subject(body: str) -> str:
    """A subject for a ticket that has none: the first line of its first message, without markup, shortened."""
    text = re.sub(r"<[^>]+>", " ", body.replace("<br>", "\n").replace("</p>", "\n"))
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= SUBJECT_FROM_BODY else line[: SUBJECT_FROM_BODY - 1] + "…"


def is_report_footer(cells: Sequence[object]) -> bool:
    filled = [c for c in cells if not is_blank(c)]
    return len(filled) == 1 and isinstance(filled[0], str) and REPORT_FOOTER.match(filled[0].strip()) is not None


#: why a money cell of a row whose currency nobody said is refused (never a silent default)
NO_CURRENCY = (
    "no currency for this money: the file has no currency (column or cell); add a currency column, or say the "
    "import's currency (--currency JPY, or the mapping's defaults: currency: JPY)"
)


class _RowValidator:
    def __init__(
        self,
        session: Session,
        spec: EntitySpec,
        plan: ColumnPlan,
        settings: Settings,
        file: str,
        *,
        currency: str | None = None,
        excel: bool = False,
    ) -> None:
        self.spec = spec
        self.plan = plan
        self.file = file
        self.excel = excel  # a number in a date column is an Excel serial date only in an Excel workbook
        self.tz = ZoneInfo(settings.timezone)
        # an entity with no currency column (team members' capacity) holds the company's currency
        self.company_currency = settings.currency
        self.import_currency = currency
        self.lookups = _Lookups(session)
        # Where a row says no currency, its money is read in the import's currency, else in that of the row updated.
        self.existing_currency: dict[str, str] = {}
        if "currency" in spec.fields and spec.key == ("external_id",):
            model: Any = spec.model
            rows = session.execute(select(model.external_id, model.currency))
            self.existing_currency = {key: code for key, code in rows}
        #: money read, by (file column, kizuna column, currency, read as an amount): (row, minor units), for the
        #: x100 check
        self.money: dict[tuple[str, str, str, bool], list[tuple[int, int]]] = {}
        self.header_of = {column: header for header, column in plan.recognised.items()}
        #: rows whose contact (by e-mail) is not in kizuna, kept without one (their account named otherwise)
        self.unknown_contacts: list[int] = []

    def _fail(self, errors: list[Rejection], row: int, column: str, value: object, reason: str) -> None:
        errors.append(
            Rejection(file=self.file, row=row, column=column, value="" if value is None else str(value), reason=reason)
        )

    def _map_value(self, column: str, value: object, field: FieldSpec | None) -> object:
        values = self.plan.values.get(column)
        if not values or is_blank(value):
            return value
        key = value_key(value)
        if field is not None and field.choices and key in field.choices:
            return key
        if key in values:
            return values[key]
        return values.get("*", value)

    def parse(self, row: int, cells: list[object]) -> tuple[dict[str, Any], list[Rejection]]:
        spec, plan = self.spec, self.plan
        raw: dict[str, object] = dict(plan.defaults)
        for column, index in plan.positions.items():
            raw[column] = cells[index] if index < len(cells) else None
        errors: list[Rejection] = []
        values: dict[str, Any] = {}
        # text no column can store (a NUL, a lone surrogate) refuses the row here, naming its column, the same on
        # SQLite and PostgreSQL; the cell is then left out of the rest of the row's checks
        for column, value in list(raw.items()):
            if isinstance(value, str):
                try:
                    check_text(value)
                except CellError as exc:
                    self._fail(errors, row, column, value, str(exc))
                    del raw[column]
        if plan.external_id_from and is_blank(raw.get("external_id")):
            key_cells = [raw.get(c) for c in plan.external_id_from]
            if all(is_blank(cell) for cell in key_cells):
                self._fail(errors, row, plan.external_id_from[0], "", "required (the row's id is made from it)")
            else:
                raw["external_id"] = made_external_id(plan.mapping_name, key_cells)

        has_currency = "currency" in spec.fields
        currency: str | None = None if has_currency else self.company_currency
        bad_currency = False
        if has_currency and "currency" in raw and not is_blank(raw["currency"]):
            code = parse_text(raw["currency"]).upper()
            if len(code) != 3 or not code.isalpha():
                self._fail(errors, row, "currency", raw["currency"], "not an ISO 4217 currency code (e.g. JPY)")
                bad_currency = True
            else:
                currency = code
        elif has_currency and self.import_currency:
            currency = self.import_currency
        elif has_currency and not is_blank(raw.get("external_id")):
            currency = self.existing_currency.get(str(raw["external_id"]).strip())
        # an amount column (mrr) fills its *_minor field (mrr_minor) when the file has not that one too
        amounts = {minor: alias for alias, minor in spec.amount_columns.items() if alias in raw and minor not in raw}

        # derived columns
        if "employees" in raw and "employee_band" not in raw and not is_blank(raw["employees"]):
            try:
                raw["employee_band"] = employee_band(parse_int(raw["employees"]))
            except CellError as exc:
                self._fail(errors, row, "employees", raw["employees"], str(exc))
        if spec.name == "tickets" and is_blank(raw.get("subject")) and not is_blank(raw.get("body")):
            raw["subject"] = ticket_subject(str(raw["body"]))  # a chat (Intercom) has a first message, no subject
        name_column = {"contacts": "name", "leads": "contact_name"}.get(spec.name)
        if name_column and is_blank(raw.get(name_column)) and ("last_name" in raw or "first_name" in raw):
            parts = [parse_text(raw[p]) for p in ("last_name", "first_name") if not is_blank(raw.get(p))]
            raw[name_column] = " ".join(parts) if parts else None

        for column, field in spec.fields.items():
            source = amounts.get(column, column)
            if source not in raw:
                continue
            value = self._map_value(column, raw[source], field)
            if is_blank(value):
                if field.required:
                    self._fail(errors, row, source, value, "required")
                elif field.nullable:
                    values[column] = None
                continue
            if field.kind == "money" and currency is None:
                if not bad_currency:
                    self._fail(errors, row, source, raw[source], NO_CURRENCY)
                continue
            try:
                values[column] = self._parse_cell(field, value, currency or "", amount=source != column)
            except CellError as exc:
                self._fail(errors, row, source, raw[source], str(exc))
                continue
            except (ValueError, TypeError, ArithmeticError) as exc:  # a value no parser foresaw: this row, not the file
                log.warning("row %s, %s: unreadable %s: %s", row, source, type(exc).__name__, exc)
                self._fail(errors, row, source, raw[source], f"cannot be read ({type(exc).__name__}: {exc})")
                continue
            if field.kind == "money" and currency:
                header = self.header_of.get(source, source)
                key = (header, column, currency, source != column)
                self.money.setdefault(key, []).append((row, values[column]))
        if has_currency and currency and "currency" not in values and not bad_currency:
            values["currency"] = currency
        if spec.name == "contacts" and values.get("name") is None and not any(e.column == "name" for e in errors):
            self._fail(errors, row, "name", "", "required")

        for ref in spec.references:
            self._resolve(ref, raw, values, errors, row)

        self._entity_rules(raw, values, errors, row, currency or self.company_currency)
        return values, errors

    def _parse_cell(self, field: FieldSpec, value: object, currency: str, *, amount: bool = False) -> Any:
        date_format = self.plan.date_formats.get(field.name)
        parsed: Any
        if field.kind == "text":
            parsed = parse_text(value, max_length=field.max_length)
            if field.choices is not None:
                parsed = value_key(parsed)
                if parsed not in field.choices:
                    raise CellError(f"not one of: {', '.join(field.choices)}")
            elif field.name == "currency":
                parsed = parsed.upper()
            return parsed
        if field.kind == "number":
            return parse_number(value)
        if field.kind == "bool":
            return parse_bool(value)
        if field.kind == "date":
            return parse_date(value, tz=self.tz, date_format=date_format, excel=self.excel)
        if field.kind == "datetime":
            return parse_datetime(value, tz=self.tz, date_format=date_format, excel=self.excel)
        storage = field.storage
        try:
            if field.kind == "int":
                parsed = parse_int(value)
            elif amount:
                parsed = parse_money(value, currency=currency)
            else:
                parsed = parse_minor_units(value, currency=currency)
        except OutOfRange:
            raise out_of_range(field.name, storage or INT64) from None
        if storage is not None and not storage[0] <= parsed <= storage[1]:
            raise out_of_range(field.name, storage)
        if field.minimum is not None and parsed < field.minimum:
            raise CellError("must not be negative" if field.minimum == 0 else f"must be at least {field.minimum}")
        if field.maximum is not None and parsed > field.maximum:
            raise CellError(f"must be at most {field.maximum}")
        return parsed

    def _resolve(
        self, ref: ReferenceSpec, raw: dict[str, object], values: dict[str, Any], errors: list[Rejection], row: int
    ) -> None:
        given = [(source, attr) for source, attr in ref.sources if source in raw]
        if not given:
            return
        label = ref.column.removesuffix("_id")
        for source, attr in given:
            value = raw[source]
            if is_blank(value):
                continue
            text = parse_text(value)
            if ";" in text and attr == "external_id":  # HubSpot association lists: the first is the primary
                text = text.split(";")[0].strip()
            found = self.lookups.get(ref.target, attr).get(self.lookups.normalise(attr, text))
            if found is None and ref.column == "contact_id" and self.spec.name in ACCOUNT_VIA_CONTACT:
                values[ref.column] = None  # an end user kizuna does not know: the row stays, without its contact
                self.unknown_contacts.append(row)
                return
            if found == _AMBIGUOUS:
                self._fail(errors, row, source, value, f"ambiguous {label}: several match {attr} {text!r}")
            elif found is None:
                table = ref.target.__tablename__
                self._fail(errors, row, source, value, f"unknown {label}: no {table} with {attr} {text!r}")
            else:
                values[ref.column] = found
            return
        via = self.spec.name == "payments" or self.spec.name in ACCOUNT_VIA_CONTACT
        if ref.required and not (via and ref.column == "account_id"):
            self._fail(errors, row, given[0][0], "", "required")
        else:
            values[ref.column] = None

    def _entity_rules(
        self, raw: dict[str, object], values: dict[str, Any], errors: list[Rejection], row: int, currency: str
    ) -> None:
        name = self.spec.name
        if name == "subscriptions":
            if values.get("contract_id") is None and values.get("external_id"):
                values["contract_id"] = values["external_id"]
            start, end = values.get("start_date"), values.get("end_date")
            if start and end and end < start:
                self._fail(errors, row, "end_date", raw.get("end_date"), "before start_date")
        if name == "payments" and values.get("account_id") is None and values.get("invoice_id"):
            account = self.lookups.account_of_invoice(values["invoice_id"])
            if account is not None:
                values["account_id"] = account
        if name in ACCOUNT_VIA_CONTACT and values.get("account_id") is None and not errors:
            if values.get("contact_id"):
                values["account_id"] = self.lookups.account_of_contact(values["contact_id"])
            else:
                column = next((c for c in ("contact_email", "account_name", "account_external_id") if c in raw), "")
                self._fail(
                    errors,
                    row,
                    column or "account_external_id",
                    raw.get(column, ""),
                    "no account: the row names none, and its contact (by e-mail) is not in kizuna",
                )
        if name in ("plans", "subscriptions") and not is_blank(raw.get("interval_count")):
            try:  # Stripe's "Interval" (month, year) counts this many times: a quarter is 3 x month
                count = parse_int(raw["interval_count"])
                if count < 1:
                    raise CellError("must be at least 1")
            except CellError as exc:
                self._fail(errors, row, "interval_count", raw["interval_count"], str(exc))
            else:
                values["billing_period_months"] = (values.get("billing_period_months") or 1) * count
        if name == "subscriptions":
            self._subscription_rules(raw, values, errors, row, currency)
        if name == "tickets" and not is_blank(raw.get("first_response_minutes")) and values.get("opened_at"):
            try:
                minutes = float(parse_text(raw["first_response_minutes"]).replace(",", ""))
            except ValueError:
                self._fail(errors, row, "first_response_minutes", raw["first_response_minutes"], "not a number")
            else:
                values["first_response_at"] = values["opened_at"] + dt.timedelta(minutes=minutes)
        if name == "survey_responses" and values.get("kind") and values.get("score") is not None:
            lo, hi = SCORE_RANGE[values["kind"]]
            if not lo <= values["score"] <= hi:
                self._fail(errors, row, "score", raw.get("score"), f"{values['kind']} scores run {lo}..{hi}")
        if name == "marketing_spend" and isinstance(values.get("month"), dt.date):
            values["month"] = values["month"].replace(day=1)
        if name == "fx_rates":
            self._fx_rules(raw, values, errors, row)

    def _fx_rules(self, raw: dict[str, object], values: dict[str, Any], errors: list[Rejection], row: int) -> None:
        """A rate is the worth of one unit of ``currency`` in the company's base currency: positive, and exactly 1
        for the base currency itself (docs/imports.md)."""
        rate = values.get("rate")
        if rate is None:
            return
        if rate <= 0:
            self._fail(errors, row, "rate", raw.get("rate"), "must be more than 0")
        elif values.get("currency") == self.company_currency and rate != 1:
            base = self.company_currency
            self._fail(errors, row, "rate", raw.get("rate"), f"{base} is the base currency: its rate is 1")

    def _subscription_rules(
        self, raw: dict[str, object], values: dict[str, Any], errors: list[Rejection], row: int, currency: str
    ) -> None:
        """Billing exports (Stripe) give a line's unit price per billing period, not its MRR: MRR = price x quantity
        / months of the period. A trial that converted (its trial end before today's status) pays from its trial's
        end, not from the subscription's start."""
        if "price" in raw and "mrr_minor" not in values and "mrr" not in raw and "mrr_minor" not in raw:
            price = raw["price"]
            if is_blank(price):
                self._fail(errors, row, "price", price, "required")
            elif values.get("quantity") is None:
                self._fail(errors, row, "quantity", raw.get("quantity"), "required: the MRR is price x quantity")
            else:
                try:
                    unit = parse_money(price, currency=currency)
                except CellError as exc:
                    self._fail(errors, row, "price", price, str(exc))
                else:
                    if "interval_count" not in raw and values.get("plan_id"):
                        # Stripe's subscriptions export says "month" for a quarterly price (no Interval Count):
                        # the price's own period, from its prices export, is the line's
                        plan_months = self.lookups.plan_period(values["plan_id"])
                        if plan_months:
                            values["billing_period_months"] = plan_months
                    months = values.get("billing_period_months") or 1
                    values["mrr_minor"] = round(unit * values["quantity"] / months)
        trial_end = raw.get("trial_end")
        start = values.get("start_date")
        if not is_blank(trial_end) and start is not None and values.get("status") != "trial":
            try:
                ends = parse_date(trial_end, tz=self.tz, date_format=self.plan.date_formats.get("trial_end"))
            except CellError as exc:
                self._fail(errors, row, "trial_end", trial_end, str(exc))
            else:
                if ends > start:
                    values["start_date"] = ends


#: a money value this many times the column's median (or that fraction of it) looks like the x100 trap
HUNDREDFOLD = 50
#: the rows a x100 note names at most
NOTE_ROWS = 10


def hundredfold_notes(money: dict[tuple[str, str, str, bool], list[tuple[int, int]]]) -> list[str]:
    """A warning for each money column whose values, in one currency, hold some about 100 times the others: minor
    units written in an amount column (4900 for $49.00) or amounts in a ``*_minor`` column (49 for $49.00) — the
    "x100 trap". Names the rows (the first ``NOTE_ROWS``); the rows are imported as they are."""
    notes = []
    for (header, column, currency, amount), values in money.items():
        positive = sorted(v for _, v in values if v > 0)
        if len(positive) < 3:
            continue
        median = positive[(len(positive) - 1) // 2]  # the lower median: a value of the column
        odd = [row for row, v in values if v > 0 and (v >= median * HUNDREDFOLD or v * HUNDREDFOLD <= median)]
        if odd:
            shown = ", ".join(str(r) for r in odd[:NOTE_ROWS])
            if len(odd) > NOTE_ROWS:
                shown += f" and {len(odd) - NOTE_ROWS:,} more"
            what = f"amounts (not minor units: else name it {column})" if amount else "minor units (not amounts)"
            notes.append(
                f"{header} ({currency}): rows {shown} are about 100 times larger or smaller than the column's other "
                f"values (median {median:,} minor units): check that the column holds {what} (the x100 trap, "
                "docs/imports.md)"
            )
    return notes


def _unique_key(columns: tuple[str, ...], values: dict[str, Any]) -> tuple[Any, ...]:
    """The values of a unique constraint as compared: e-mail addresses case-insensitively (``dup@x`` and ``DUP@x`` are
    one address, which a lookup by address finds once), everything else as stored."""
    key = [values.get(c) for c in columns]
    return tuple(v.casefold() if c == "email" and isinstance(v, str) else v for c, v in zip(columns, key, strict=True))


def _key_of(spec: EntitySpec, values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values.get(k) for k in spec.key)


def _import_rows(
    session: Session,
    *,
    spec: EntitySpec,
    path: Path,
    sha256: str,
    settings: Settings,
    actor: str,
    encoding: str | None,
    mapping: MappingFile | None,
    dry_run: bool,
    file_format: str | None,
    sheet: str | None,
    display_name: str,
    progress: ProgressCallback | None = None,
    company_tz: ZoneInfo | None = None,
    currency: str | None = None,
) -> ImportSummary:
    source = read_rows(
        path, fmt=file_format, encoding=encoding, sheet=sheet, header_rows=mapping.header_rows if mapping else 1
    )
    size = path.stat().st_size
    plan = plan_columns(source.header, known=spec.known_columns(), entity=spec.name, mapping=mapping)
    missing = _missing_columns(spec, plan)
    if missing:
        raise ImportRejected(
            f"{display_name}: missing required columns for {spec.name}: {', '.join(missing)}. "
            f"Found: {', '.join(h for h in source.header if h) or 'no headers'}"
            + (f" (recognised: {', '.join(f'{h}→{c}' for h, c in plan.recognised.items())})" if plan.recognised else "")
            + ". Rename the headers or give a mapping file (--mapping).",
            file=display_name,
            columns=missing,
        )
    summary = ImportSummary(
        entity=spec.name,
        file=display_name,
        format=source.format,
        encoding=source.encoding,
        file_sha256=sha256,
        dry_run=dry_run,
        recognised_columns=plan.recognised,
        ignored_columns=plan.ignored,
    )
    validator = _RowValidator(
        session, spec, plan, settings, display_name, currency=currency, excel=source.format == "xlsx"
    )
    writer = RejectsWriter(rejects_path(settings.rejects_dir, entity=spec.name, source=Path(display_name)))
    with writer:
        accepted: list[tuple[int, tuple[Any, ...], dict[str, Any]]] = []
        first_row_of: dict[tuple[Any, ...], int] = {}
        unique_seen: dict[tuple[str, ...], dict[tuple[Any, ...], tuple[int, tuple[Any, ...]]]] = {
            u: {} for u in spec.unique_together
        }
        footer_rows = 0
        for row, cells in source.rows:
            if is_report_footer(cells):
                footer_rows += 1
                continue
            summary.rows_read += 1
            if progress is not None and summary.rows_read % 1000 == 0:
                progress(int(source.done() * size), size)
            values, errors = validator.parse(row, cells)
            key = _key_of(spec, values)
            if not errors and key in first_row_of:
                shown = ", ".join(f"{k} {v}" for k, v in zip(spec.key, key, strict=True))
                errors.append(
                    Rejection(
                        file=display_name,
                        row=row,
                        column=spec.key[0],
                        value=str(key[0]),
                        reason=f"duplicate {shown}: already in row {first_row_of[key]}",
                    )
                )
            if not errors:
                for columns, seen in unique_seen.items():
                    if columns == ("email",) and values.get("email") is None:
                        continue
                    ukey = _unique_key(columns, values)
                    if any(v is None for v in ukey) or any(c not in values for c in columns):
                        continue
                    if ukey in seen and seen[ukey][1] != key:
                        errors.append(
                            Rejection(
                                file=display_name,
                                row=row,
                                column=columns[-1],
                                value=str(values.get(columns[-1])),
                                reason=f"same {' + '.join(columns)} as row {seen[ukey][0]}",
                            )
                        )
                    else:
                        seen[ukey] = (row, key)
            if errors:
                for rejection in errors:
                    writer.add(rejection)
                summary.rejected += 1
                continue
            first_row_of[key] = row
            accepted.append((row, key, values))
        summary.notes.extend(hundredfold_notes(validator.money))
        if footer_rows:
            summary.notes.append(f"{footer_rows} lines of a Salesforce report's footer skipped (not records)")
        if validator.unknown_contacts:
            shown = ", ".join(str(r) for r in validator.unknown_contacts[:NOTE_ROWS])
            more = len(validator.unknown_contacts) - NOTE_ROWS
            summary.notes.append(
                f"rows {shown}{f' and {more:,} more' if more > 0 else ''}: their contact (by e-mail) is not in kizuna; "
                "imported with their account and no contact"
            )

        # One savepoint for every write of this import: an error or Ctrl-C rolls all of it back; a dry run too.
        savepoint = session.begin_nested()
        try:
            _upsert(
                session,
                spec,
                accepted,
                unique_seen,
                summary,
                writer,
                default_currency=settings.currency,
                tz=company_tz or validator.tz,
            )
            if spec.name == "subscriptions":
                touched = {values["account_id"] for _, _, values in accepted if values.get("account_id")}
                summary.created_at_dated_back = created.date_back(
                    session, created.earliest_lines(session, touched, company_tz or validator.tz)
                )
            created.add_notes(summary)
            if not dry_run:
                summary.import_run_id = runs.record_import_run(session, summary, actor=actor).id
        except BaseException:
            savepoint.rollback()
            raise
        if dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
        kept = writer.close()
    summary.rejects_path = str(kept) if kept else None
    summary.sample_rejections = writer.sample
    if kept and summary.import_run_id is not None:
        session.get_one(ImportRun, summary.import_run_id).rejects_path = str(kept)
        session.flush()
    return summary


def _upsert(
    session: Session,
    spec: EntitySpec,
    accepted: list[tuple[int, tuple[Any, ...], dict[str, Any]]],
    unique_seen: dict[tuple[str, ...], dict[tuple[Any, ...], tuple[int, tuple[Any, ...]]]],
    summary: ImportSummary,
    writer: RejectsWriter,
    *,
    default_currency: str,
    tz: ZoneInfo,
) -> None:
    model: Any = spec.model
    # an account the file does not date starts with the import's day, never its clock time (kizuna.imports.created)
    undated = created.undated_account(tz) if spec.name == "accounts" else None
    key_columns = [getattr(model, k) for k in spec.key]
    existing: dict[tuple[Any, ...], Any] = {}
    keys = [key for _, key, _ in accepted]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        if len(key_columns) == 1:
            query = select(model).where(key_columns[0].in_([k[0] for k in chunk]))
        else:
            query = select(model).where(tuple_(*key_columns).in_(chunk))
        for obj in session.scalars(query):
            existing[tuple(getattr(obj, k) for k in spec.key)] = obj

    # Unique columns other than the key (a contact's email at an account, a team member's email, a milestone kind per
    # account) must not collide with a *different* existing row.
    taken: dict[tuple[str, ...], dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for columns in unique_seen:
        cols = [getattr(model, c) for c in columns]
        taken[columns] = {
            _unique_key(columns, dict(zip(columns, r[: len(columns)], strict=True))): tuple(r[len(columns) :])
            for r in session.execute(select(*cols, *key_columns))
            if all(v is not None for v in r[: len(columns)])
        }

    pending = 0
    inserts: list[dict[str, Any]] = []
    for row, key, values in accepted:
        _before_row(row)
        clash = next(
            (
                columns
                for columns, owners in taken.items()
                if all(c in values and values[c] is not None for c in columns)
                and owners.get(_unique_key(columns, values), key) != key
            ),
            None,
        )
        if clash is not None:
            owner = taken[clash][_unique_key(clash, values)]
            writer.add(
                Rejection(
                    file=summary.file,
                    row=row,
                    column=clash[-1],
                    value=str(values[clash[-1]]),
                    reason=f"same {' + '.join(clash)} as the existing {spec.name} {owner[0]}",
                )
            )
            summary.rejected += 1
            continue
        obj = existing.get(key)
        if obj is None:
            if "currency" in spec.fields and "currency" not in values:
                values = {**values, "currency": default_currency}  # only new rows: an update keeps its currency
            if undated is not None and values.get("created_at") is None:
                values = {**values, "created_at": undated}
                summary.created_at_assumed += 1
            inserts.append(values)
            summary.imported += 1
            pending += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
            if changed:
                for k, v in changed.items():
                    setattr(obj, k, v)
                summary.updated += 1
                pending += 1
            else:
                summary.unchanged += 1
        if pending >= FLUSH_EVERY:
            _write(session, model, inserts)
            pending = 0
    _write(session, model, inserts)


def _write(session: Session, model: Any, inserts: list[dict[str, Any]]) -> None:
    """Flush updates and insert new rows in bulk (ORM bulk INSERT: column defaults apply, no object per row)."""
    session.flush()
    if inserts:
        session.execute(insert(model), inserts)
        inserts.clear()
