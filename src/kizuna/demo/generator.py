"""``generate_demo``: build the demo company into the configured data directory and app database.

Order: migrate (``init``'s upgrade), refuse a non-empty hub unless ``reset``, simulate the hidden world, bulk insert the
hub tables with SQLAlchemy Core (``insert()`` executemany in large batches, one transaction), write usage events to
Parquet month by month, and write the hidden truth apart under ``<data_dir>/demo/``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import MetaData, delete, func, insert, select
from sqlalchemy.engine import Connection, Engine

from kizuna import models as m
from kizuna.demo import catalog as c
from kizuna.demo.bulk_insert import insert_rows
from kizuna.demo.records import write_records
from kizuna.demo.simulate import DemoOptions, World, add_months, sigmoid, simulate, stream
from kizuna.errors import Conflict
from kizuna.hub.warehouse import ANALYTICS_TABLES
from kizuna.settings import Settings
from kizuna.usage.store import EventStore

log = logging.getLogger(__name__)

MAX_CONTACTS = 20  # named contacts per account; further users appear in events only
HUB_TABLES = (*ANALYTICS_TABLES, "import_runs")  # what the demo fills: the analytics inputs and its import runs


@dataclass
class DemoSummary:
    """What ``generate_demo`` wrote: rows per table, events, seconds per step."""

    rows: dict[str, int] = field(default_factory=dict)
    events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    truth_dir: str = ""


def _utc(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def hub_is_empty(engine: Engine, store: EventStore) -> tuple[bool, str]:
    with engine.connect() as conn:
        accounts = conn.scalar(select(func.count()).select_from(m.Account.__table__)) or 0
    events = len(store.files())
    if accounts or events:
        return False, f"{accounts:,} accounts and {events:,} event files"
    return True, ""


def reset_hub(engine: Engine, store: EventStore) -> None:
    """Empty the hub tables, every table that refers to them (derived data), and the event files."""
    meta = MetaData()
    meta.reflect(engine)
    doomed = {name for name in HUB_TABLES if name in meta.tables}
    grew = True
    while grew:
        grew = False
        for table in meta.tables.values():
            if table.name not in doomed and any(fk.column.table.name in doomed for fk in table.foreign_keys):
                doomed.add(table.name)
                grew = True
    with engine.begin() as conn:
        for table in reversed(meta.sorted_tables):
            if table.name in doomed:
                conn.execute(delete(table))
    for path in store.files():
        path.unlink()


def generate_demo(
    settings: Settings,
    *,
    options: DemoOptions,
    reset: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Generate the demo company; raises :class:`Conflict` on a non-empty hub unless ``reset``."""
    from kizuna.db import make_engine
    from kizuna.migrations import upgrade

    say = progress or (lambda _msg: None)
    summary = DemoSummary()
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.seconds[step] = round(now - clock, 2)
        clock = now

    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    store = EventStore(settings.events_dir)
    try:
        empty, what = hub_is_empty(engine, store)
        if not empty:
            if not reset:
                raise Conflict(
                    f"the data hub is not empty ({what}); `kizuna demo --reset` empties it and builds the demo "
                    "company in its place"
                )
            say("emptying the data hub")
            reset_hub(engine, store)
        lap("prepare")
        say(f"simulating {options.accounts:,} accounts over {options.years} years (seed {options.seed})")
        world = simulate(options)
        lap("simulate")
        with engine.begin() as conn:
            ids = write_hub(conn, world, summary, say)
            _record_kizuna_in_use(conn, options)
            lap("hub")
            say("writing usage events")
            from kizuna.demo.events import write_events

            try:
                summary.events = write_events(world, store, ids["accounts"])
            except BaseException:
                for path in store.files():
                    if path.name.startswith("demo-"):
                        path.unlink()
                raise
            lap("events")
        truth_dir = settings.data_dir / "demo"
        write_truth(world, truth_dir)
        summary.truth_dir = str(truth_dir)
        lap("truth")
    finally:
        engine.dispose()
    return summary


def _record_kizuna_in_use(conn: Connection, options: DemoOptions) -> None:
    """The demo company has run kizuna since its first day (its CS team acted on every signal as it came), so its
    first ``kizuna refresh`` acts on the present instead of being quiet as a back-filled hub's is
    (:mod:`kizuna.hub.watermark`)."""
    from kizuna.hub.models import RefreshRun

    first = options.end_date - dt.timedelta(days=366 * options.years)
    conn.execute(delete(RefreshRun))
    at = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
    # every value from the options: the same seed and end date give the same database
    conn.execute(insert(RefreshRun).values(as_of=first, ran_at=at, acted=True, created_at=at))


def _id_map(conn: Connection, table: Any) -> dict[str, int]:
    return {ext: i for ext, i in conn.execute(select(table.c.external_id, table.c.id))}


def write_hub(conn: Connection, world: World, summary: DemoSummary, say: Callable[[str], None]) -> dict[str, Any]:
    """Insert every hub table of ``world``; returns id maps (``accounts``: array index -> accounts.id)."""
    opts = world.options
    n = world.n
    ext = world.external_ids
    rng = stream(opts.seed, "hub")
    today = _utc(opts.end_date)

    # --- products and plans
    products = [
        {"external_id": "PROD-BASE", "name": c.PRODUCT_NAME, "is_addon": False},
        *({"external_id": f"PROD-{a.key.upper()}", "name": a.name, "is_addon": True} for a in c.ADDONS),
    ]
    summary.rows["products"] = insert_rows(conn, m.Product.__table__, products)
    product_ids = _id_map(conn, m.Product.__table__)
    plans = []
    for spec in (*c.BASE_PLANS, *c.ADDONS):
        for period in (1, 12):
            key = f"{spec.key}-{'m' if period == 1 else 'y'}"
            plans.append(
                {
                    "external_id": f"PLAN-{key.upper()}",
                    "product_id": product_ids[f"PROD-{spec.key.upper()}" if spec.is_addon else "PROD-BASE"],
                    "name": f"{spec.name} ({'月額' if period == 1 else '年額'})",
                    "is_addon": spec.is_addon,
                    "list_price_minor": spec.monthly_price * (1 if period == 1 else c.ANNUAL_FACTOR),
                    "currency": c.CURRENCY,
                    "billing_period_months": period,
                }
            )
    summary.rows["plans"] = insert_rows(conn, m.Plan.__table__, plans)
    plan_ids = {k[5:].lower(): v for k, v in _id_map(conn, m.Plan.__table__).items()}

    # --- the team
    scale = n / 2000
    team: list[dict[str, Any]] = []
    used_names: set[str] = set()
    for role, size in c.TEAM_SHAPE:
        count = max(1, round(size * scale)) if role != "csm" else max(3, round(size * scale))
        for _ in range(count):
            name, romaji = _person(rng, used_names)
            k = len(team) + 1
            team.append(
                {
                    "external_id": f"TM-{k:04d}",
                    "name": name,
                    "email": f"{romaji}.{k}@kizuna-demo.example",
                    "role": role,
                    "capacity_accounts": None,
                    "capacity_arr_minor": None,
                    "active": True,
                    "created_at": _utc(add_months(opts.first_month, -6)),
                }
            )
    csm_rows = [t for t in team if t["role"] == "csm"]
    live_accounts = max(1, int((world.live[-1] > 0).sum()))
    for row in csm_rows:
        row["capacity_accounts"] = int(np.ceil(live_accounts / len(csm_rows) * 1.25))
    summary.rows["team_members"] = insert_rows(conn, m.TeamMember.__table__, team)
    team_ids = _id_map(conn, m.TeamMember.__table__)
    by_role: dict[str, list[int]] = {}
    for row in team:
        by_role.setdefault(row["role"], []).append(team_ids[row["external_id"]])
    world.team = team  # type: ignore[attr-defined]
    world.team_ids = by_role  # type: ignore[attr-defined]

    # --- accounts
    say("writing accounts, contacts and subscriptions")
    acv = _acv(world)
    tier = np.where(acv >= 3_000_000, 0, np.where(acv >= 600_000, 1, 2))  # high, low, tech
    csms = by_role["csm"]
    high_team = csms[: max(1, len(csms) // 3)]
    other_team = csms[len(high_team) :] or csms
    owner = np.where(
        tier == 0,
        np.take(high_team, rng.integers(0, len(high_team), n)),
        np.take(other_team, rng.integers(0, len(other_team), n)),
    )
    stage = lifecycle_stages(world)
    world.owner = owner  # type: ignore[attr-defined]
    world.touch_tier = tier  # type: ignore[attr-defined]
    accounts = [
        {
            "external_id": ext[i],
            "name": world.names[i],
            "industry": c.INDUSTRIES[int(world.industry[i])],
            "employee_band": world.band[i],
            "region": c.REGIONS[int(world.region[i])],
            "owner_id": int(owner[i]),
            "lifecycle_stage": stage[i],
            "touch_tier": ("high", "low", "tech")[int(tier[i])],
            "website": f"https://www.{ext[i].lower()}.example.jp",
            "created_at": world.created_at[i],
            "updated_at": today,
        }
        for i in range(n)
    ]
    summary.rows["accounts"] = insert_rows(conn, m.Account.__table__, accounts)
    acc_map = _id_map(conn, m.Account.__table__)
    account_ids = np.array([acc_map[e] for e in ext], dtype=np.int64)

    # --- contacts (the first users of each account; the first is the admin and champion)
    max_seats = world.seats.max(axis=0)
    contacts: list[dict[str, Any]] = []
    roles = ("admin", "decision_maker", "billing")
    first_seen = _first_month_with_seats(world)
    for i in range(n):
        k_max = int(max(3, min(int(max_seats[i]), MAX_CONTACTS)))
        used: set[str] = set()
        for k in range(k_max):
            name, romaji = _person(rng, used)
            role = roles[k] if k < 3 else "end_user"
            titles = c.CONTACT_TITLES[role]
            joined_month = first_seen(i, k)
            created = world.created_at[i] + dt.timedelta(hours=2 + k)
            if joined_month is not None and joined_month > int(world.created_month[i]):
                created = _utc(opts.month_start(joined_month), 1) + dt.timedelta(hours=k % 20)
            left = world.champion_left.get(i) if k == 0 else None
            contacts.append(
                {
                    "external_id": f"{ext[i]}-U{k:04d}",
                    "account_id": int(account_ids[i]),
                    "name": name,
                    "email": f"{romaji}@{ext[i].lower()}.example.jp",
                    "title": titles[int(rng.random() * len(titles))],
                    "role": role,
                    "is_champion": k == 0,
                    "is_active": left is None,
                    "language": "ja",
                    "deactivated_at": left,
                    "created_at": created,
                }
            )
    summary.rows["contacts"] = insert_rows(conn, m.Contact.__table__, contacts)
    del contacts

    # --- subscriptions
    subs = [
        {
            **{k: v for k, v in ver.items() if k not in ("account", "plan_key")},
            "account_id": int(account_ids[ver["account"]]),
            "plan_id": plan_ids[ver["plan_key"]],
            "currency": c.CURRENCY,
            "created_at": _utc(ver["start_date"]),
        }
        for ver in world.versions
    ]
    summary.rows["subscriptions"] = insert_rows(conn, m.Subscription.__table__, subs)

    write_records(conn, world, account_ids, summary.rows, say)
    return {"accounts": account_ids, "team": team_ids}


def _person(rng: np.random.Generator, used: set[str]) -> tuple[str, str]:
    """A plausible Japanese name (family name first) and a unique romaji e-mail local part."""
    for _ in range(50):
        s = c.SURNAMES[int(rng.random() * len(c.SURNAMES))]
        g = c.GIVEN_NAMES[int(rng.random() * len(c.GIVEN_NAMES))]
        romaji = f"{g[1]}.{s[1]}"
        if romaji not in used:
            break
    else:
        romaji = f"{romaji}{len(used)}"
    used.add(romaji)
    return f"{s[0]} {g[0]}", romaji


def _first_month_with_seats(world: World) -> Callable[[int, int], int | None]:
    seats = world.seats

    def first(i: int, k: int) -> int | None:
        hits = np.nonzero(seats[:, i] > k)[0]
        return int(hits[0]) if hits.size else None

    return first


def _acv(world: World) -> np.ndarray[Any, Any]:
    """Annual contract value per account: the latest non-zero MRR x 12 (trials: their quote)."""
    mrr = world.mrr
    has = mrr > 0
    last = np.where(
        has.any(axis=0), mrr[np.maximum(has.shape[0] - 1 - np.argmax(has[::-1], axis=0), 0), np.arange(world.n)], 0
    )
    quote = world.seats[-1] * np.take([p.monthly_price for p in c.BASE_PLANS], world.plan_tier[-1])
    acv: np.ndarray[Any, Any] = np.where(last > 0, last, quote) * 12
    return acv


def lifecycle_stages(world: World) -> list[str]:
    """Each account's lifecycle stage today, consistent with its history."""
    t_last = world.options.months - 1
    state = world.final_state["state"]
    end_month = world.final_state["end_month"]
    term_start = world.final_state["term_start"]
    engagement = sigmoid(world.health[t_last].astype(np.float64))
    stages: list[str] = []
    for i in range(world.n):
        if state[i] == 3 or state[i] == 0:
            stages.append("churned" if state[i] == 3 else "onboarding")
        elif state[i] == 1 or t_last - int(world.paid_month[i]) < 3:
            stages.append("onboarding")
        elif end_month[i] >= 0 or world.final_state["intent"][i] or engagement[i] < 0.3:
            stages.append("at_risk")
        elif world.annual[i] and term_start[i] >= 0 and 12 - ((t_last - term_start[i]) % 12) <= 3:
            stages.append("renewal")
        elif engagement[i] > 0.75:
            stages.append("expansion")
        else:
            stages.append("adoption")
    return stages


def write_truth(world: World, folder: Any) -> None:
    """The hidden truth, for evaluating models only: never loaded into the app database."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    opts = world.options
    n, months = world.n, opts.months
    first_churn: dict[int, dict[str, Any]] = {}
    churn_count = np.zeros(n, dtype=np.int64)
    for ch in world.churns:
        if not ch.get("planned"):
            churn_count[ch["account"]] += 1
        first_churn.setdefault(ch["account"], ch)
    live = world.live
    h = world.health.astype(np.float64)
    masked = np.where(live > 0, h, np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            h_mean = np.nanmean(masked, axis=0)
            h_min = np.nanmin(masked, axis=0)
    last_live = np.where((live > 0).any(axis=0), months - 1 - np.argmax((live > 0)[::-1], axis=0), -1)
    h_last = np.array([h[last_live[i], i] if last_live[i] >= 0 else np.nan for i in range(n)])
    reactivated = np.zeros(n, dtype=bool)
    for i, _t in world.reactivations:
        reactivated[i] = True
    truth = pa.table(
        {
            "external_id": world.external_ids,
            "segment": [c.SEGMENTS[int(s)] for s in world.segment],
            "hidden_churn_reason": [c.CHURN_REASONS[int(r)] for r in world.hidden_reason],
            "health_mu": world.mu.astype(np.float64),
            "onboarding_quality": world.onboarding_quality.astype(np.float64),
            "health_mean": h_mean,
            "health_min": h_min,
            "health_last": h_last,
            "churned": [i in first_churn and not first_churn[i].get("planned", False) for i in range(n)],
            "churn_count": churn_count,
            "true_churn_date": pa.array(
                [first_churn[i]["date"] if i in first_churn else None for i in range(n)], pa.date32()
            ),
            "churn_notice_date": pa.array(
                [first_churn[i]["notice"] if i in first_churn else None for i in range(n)], pa.date32()
            ),
            "churn_planned": [bool(first_churn.get(i, {}).get("planned", False)) for i in range(n)],
            "churn_kind": [first_churn[i]["kind"] if i in first_churn else None for i in range(n)],
            "true_churn_reason": [first_churn[i]["reason"] if i in first_churn else None for i in range(n)],
            "reactivated": reactivated,
            "champion_left_at": pa.array([world.champion_left.get(i) for i in range(n)], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(truth, folder / "truth.parquet")
    months_idx = np.repeat(np.arange(months), n)
    acc_idx = np.tile(np.arange(n), months)
    month_dates = [opts.month_start(t) for t in range(months)]
    ext = pa.array(world.external_ids)
    monthly = pa.table(
        {
            "external_id": ext.take(pa.array(acc_idx)),
            "month": pa.array(month_dates, pa.date32()).take(pa.array(months_idx)),
            "health": h.reshape(-1),
            "engagement": sigmoid(h).reshape(-1),
            "status": pa.array(np.array(["none", "trial", "paid"])[live.reshape(-1)]),
            "seats": world.seats.reshape(-1).astype(np.int64),
            "churn_intent": world.intent.reshape(-1),
            "mrr_minor": world.mrr.reshape(-1),
        }
    )
    keep = pa.array(live.reshape(-1) > 0)
    pq.write_table(monthly.filter(keep), folder / "truth_monthly.parquet")
