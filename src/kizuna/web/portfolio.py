"""Reads behind the portfolio pages (cohorts, The Model funnel, VoC, surveys, import runs) and the web import flow.

Pure reads over the data hub; writes go through the owning domain's service (imports: ``import_file``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.accounts.models import Account
from kizuna.errors import InvalidInput, KizunaError, NotFound
from kizuna.imports.models import ImportRun
from kizuna.settings import Settings
from kizuna.surveys.models import SurveyResponse
from kizuna.voc.models import VocEntry


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


@dataclasses.dataclass
class Cohorts:
    months: list[dt.date]  # cohort start months (rows)
    offsets: list[int]  # months since start (columns)
    logo: list[list[float | None]]  # logo_retention of the stored snapshot
    revenue: list[list[float | None]]  # revenue_retention of the stored snapshot
    sizes: list[int]
    snapshot_as_of: dt.date | None = None
    currency: str | None = None


def cohorts(session: Session, *, months: int = 12) -> Cohorts:
    """The last ``months`` signup cohorts' logo and revenue retention, from the stored ``cohort_retention`` table
    (``kizuna refresh``; definitions in docs/metrics.md); empty with no ``snapshot_as_of`` before the first refresh."""
    from kizuna.kpis import service as metrics

    stamp = metrics.latest_snapshot(session)
    if stamp is None:
        return Cohorts(months=[], offsets=[], logo=[], revenue=[], sizes=[])
    table = metrics.load_table(session, name="cohort_retention", as_of=stamp[0])
    out = Cohorts(months=[], offsets=list(range(months)), logo=[], revenue=[], sizes=[], snapshot_as_of=stamp[0])
    if table.empty:
        return out
    sizes = table.groupby("currency")["cohort_customers"].sum()
    out.currency = str(sizes.idxmax())
    table = table[table.currency == out.currency].copy()
    table["cohort_month"] = pd.to_datetime(table["cohort_month"]).dt.date
    out.months = sorted(table.cohort_month.unique())[-months:]
    for cohort in out.months:
        rows = table[table.cohort_month == cohort].set_index("period")
        out.sizes.append(int(rows.cohort_customers.iloc[0]))
        out.logo.append([_ratio(rows, "logo_retention", o) for o in out.offsets])
        out.revenue.append([_ratio(rows, "revenue_retention", o) for o in out.offsets])
    return out


def _ratio(rows: pd.DataFrame, column: str, period: int) -> float | None:
    if period not in rows.index:
        return None
    value = rows.at[period, column]
    return None if value is None or pd.isna(value) else float(value)


def _count(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def funnel(session: Session) -> dict[str, Any]:
    """The Model funnel (lead -> ... -> expanded) and leads per source, from the stored ``funnel`` and
    ``funnel_by_source`` tables (``kizuna refresh``); ``snapshot_as_of`` is None before the first refresh."""
    from kizuna.kpis import service as metrics

    stamp = metrics.latest_snapshot(session)
    if stamp is None:
        return {"stages": [], "by_source": [], "snapshot_as_of": None}
    stages = metrics.load_table(session, name="funnel", as_of=stamp[0])
    by_source = metrics.load_table(session, name="funnel_by_source", as_of=stamp[0])
    out = (
        [
            {
                "stage": str(r.stage),
                "count": _count(r.leads),
                "conversion": None if pd.isna(r.conversion) else r.conversion,
            }
            for r in stages.sort_values("stage_order").itertuples()
        ]
        if not stages.empty
        else []
    )
    sources = []
    if not by_source.empty:
        wide = by_source.pivot_table(index="source", columns="stage", values="leads", aggfunc="sum", dropna=False)
        for source, row in wide.sort_values("lead", ascending=False).iterrows():
            sources.append({"source": source, "leads": _count(row.get("lead")), "sql": _count(row.get("sql"))})
    return {"stages": out, "by_source": sources, "snapshot_as_of": stamp[0]}


def voc_entries(session: Session, *, channel: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    stmt = (
        select(VocEntry, Account.name)
        .outerjoin(Account, Account.id == VocEntry.account_id)
        .order_by(VocEntry.recorded_at.desc())
        .limit(limit)
    )
    if channel:
        stmt = stmt.where(VocEntry.channel == channel)
    return [{"entry": e, "account_name": n} for e, n in session.execute(stmt).all()]


def voc_by_channel(session: Session) -> dict[str, int]:
    rows = session.execute(select(VocEntry.channel, func.count(VocEntry.id)).group_by(VocEntry.channel)).all()
    return {str(c): int(n) for c, n in rows}


def survey_responses(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    stmt = (
        select(SurveyResponse, Account.name)
        .join(Account, Account.id == SurveyResponse.account_id)
        .order_by(SurveyResponse.responded_at.desc())
        .limit(limit)
    )
    return [{"response": r, "account_name": n} for r, n in session.execute(stmt).all()]


def nps_by_month(session: Session, *, today: dt.date, months: int = 12) -> list[dict[str, Any]]:
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


def import_runs(session: Session, *, limit: int = 50) -> Sequence[ImportRun]:
    return session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)).all()


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


def upload_import(
    session: Session,
    *,
    settings: Settings,
    actor: str,
    entity: str,
    filename: str,
    stream: BinaryIO,
    dry_run: bool = False,
) -> UploadOutcome:
    """Import an uploaded file in a savepoint of the request's transaction (which holds the write lock on SQLite);
    a file refused as a whole is rolled back and recorded as a failed run."""
    from kizuna.imports.service import import_file, record_failed_import

    safe_name = Path(filename or "upload").name[:200] or "upload"
    with tempfile.TemporaryDirectory(prefix="kizuna-upload-") as tmp:
        path = Path(tmp) / safe_name
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
                )
        except KizunaError as exc:
            if not dry_run:
                record_failed_import(
                    session, entity=entity, path=path, actor=actor, message=str(exc), display_name=safe_name
                )
            return UploadOutcome(summary=None, error=str(exc))
    return UploadOutcome(summary=summary, error=None)


VOC_CACHE_TTL_S = 600.0
_voc_cache: dict[tuple[str, str, str, str | None], tuple[float, dict[str, Any]]] = {}
_voc_lock = threading.Lock()


def voc_analysis(session: Session, *, view: str, by: str = "churned", channel: str | None = None) -> dict[str, Any]:
    """One VoC analysis from the VoC domain (co-occurrence network, characteristic words, ARR-weighted feature
    requests, churn reasons by lift) as chart data and rows; a problem (no entries yet) comes back as ``error``.

    Text analyses take seconds on a large corpus, so results are kept for ten minutes per database and view."""
    key = (str(session.get_bind().engine.url), view, by, channel)
    with _voc_lock:
        hit = _voc_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < VOC_CACHE_TTL_S:
        return hit[1]
    result = _voc_analysis(session, view=view, by=by, channel=channel)
    with _voc_lock:
        _voc_cache[key] = (time.monotonic(), result)
    return result


def _voc_analysis(session: Session, *, view: str, by: str, channel: str | None) -> dict[str, Any]:
    from kizuna.voc import analyses
    from kizuna.voc.service import VocFilter, load_corpus

    where = VocFilter(channel=channel) if channel else None
    try:
        if view == "network":
            from kizuna.analytics.text import cooccurrence_network

            corpus = load_corpus(session, where=where)
            if not len(corpus.doc_ids):
                raise InvalidInput("no VoC entries match the filters")
            net = cooccurrence_network(corpus, min_df=3, top_n_edges=60)
            nodes, edges = net.nodes, net.edges
            return {
                "chart": {
                    "kind": "graph",
                    "nodes": [
                        {"name": str(n.term), "value": int(n.df), "category": int(n.community)}
                        for n in nodes.itertuples()
                    ],
                    "links": [
                        {"source": str(e.source), "target": str(e.target), "value": float(e.jaccard)}
                        for e in edges.itertuples()
                    ],
                },
                "rows": edges.head(60).to_dict("records"),
                "columns": ["source", "target", "cooccurrence", "jaccard"],
            }
        if view == "characteristic":
            frame = analyses.characteristic(session, by=by, where=where)
        elif view == "requests":
            frame = analyses.requests(session, where=where).drop(columns=["text_ids"], errors="ignore")
        else:
            frame = analyses.lift(session, where=where)
    except KizunaError as exc:
        return {"error": str(exc), "rows": [], "columns": []}
    return {"rows": frame.head(100).to_dict("records"), "columns": [str(c) for c in frame.columns]}
