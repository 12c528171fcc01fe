"""The import history: one ``ImportRun`` row (and its audit entry) per file imported, whatever its entity."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kizuna.audit.service import record_audit
from kizuna.imports.models import ImportRun
from kizuna.imports.schemas import ImportSummary


def record_import_run(
    session: Session, summary: ImportSummary, *, actor: str, status: str = "done", message: str | None = None
) -> ImportRun:
    """Write the ``ImportRun`` row and its audit entry for ``summary`` (flushes)."""
    run = ImportRun(
        entity=summary.entity,
        file_name=summary.file[:500],
        file_sha256=summary.file_sha256,
        encoding=summary.encoding,
        actor=actor,
        finished_at=dt.datetime.now(dt.UTC),
        status=status,
        rows_read=summary.rows_read,
        imported=summary.imported,
        updated=summary.updated,
        unchanged=summary.unchanged,
        rejected=summary.rejected,
        rejects_path=summary.rejects_path,
        message=None if message is None else message[:2000],
    )
    session.add(run)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="import",
        entity=summary.entity,
        entity_id=run.id,
        after={
            "file": summary.file,
            "status": status,
            "imported": summary.imported,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
        },
    )
    session.flush()
    return run
