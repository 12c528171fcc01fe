"""Importing a file into the data hub: read, map columns, validate every row, upsert by external id, reject the rest.

``import_file`` is the one entry point (CLI and web upload). It takes the caller's session and never commits; all its
database writes happen inside one savepoint, so an error or Ctrl-C half-way leaves the database as it was before the
import, and a dry run is the same import rolled back. Product usage events go to Parquet files instead
(:mod:`kizuna.imports.events`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from kizuna.errors import ImportRejected, InvalidInput, KizunaError, NotFound
from kizuna.imports import created, runs
from kizuna.imports.entities import ENTITY_NAMES, EVENTS, EntitySpec, entity_spec
from kizuna.imports.mapping import (
    NAMED_MAPPINGS,
    MappingFile,
    check_timezone,
    named_mapping,
    plan_columns,
)
from kizuna.imports.models import ImportRun
from kizuna.imports.readers import read_rows
from kizuna.imports.rejects import RejectsWriter, rejects_path, remove_dead_rejects
from kizuna.imports.rows import NOTE_ROWS, RowValidator, hundredfold_notes, is_report_footer, missing_columns
from kizuna.imports.schemas import ImportSummary, Rejection
from kizuna.platform.paging import Paging, page_of
from kizuna.settings import Settings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)
FLUSH_EVERY = 1000


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
    missing = missing_columns(spec, plan)
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
    validator = RowValidator(
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
