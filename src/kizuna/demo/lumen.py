"""A second, differently built demo company: *Lumen*, a US analytics SaaS billed in US dollars.

It exists to hold kizuna's models and refresh steps to data they were not built on. Nothing here shares the Japanese
demo's world: no logins, tickets, surveys, VoC, onboarding milestones, invoices or CSM activities; eight product event
types of its own; other plans, seat prices and currency; and churn that is driven by other mechanics:

* **Jobs to be done.** Each account hires the product for one job (reporting, a data platform behind its API, or team
  collaboration); the job sets which event types are its *core* and how much of each it produces per active seat.
* **Episodes.** At random times an account enters an episode: a competitor trial (its core event types fade over
  weeks), the loss of its champion (invites and dashboards drop, the rest halves), or a budget review (no change in
  behaviour at all: churn that no usage model can see). Competitor and champion episodes may end in recovery.
* **Breadth and integrations.** Accounts that use few event types beyond their core are more fragile; each connected
  integration makes them stickier.
* **Seasons.** Usage dips in the US summer and in late December; reports and exports peak at quarter ends; budget
  decisions cluster at the fiscal year start (January).
* **Contracts.** Monthly contracts can end at any month boundary (notice about 10 days before), annual ones only at
  the anniversary (notice about 45 days before); renewals of busy annual accounts add seats.

The churn decision is made at each contract boundary from the account's *hidden* state (its core activity relative
to its own first months, breadth, integrations, episode, season) plus noise; events are Poisson draws around that
state, so what the data shows is a noisy view of what drives churn. The hidden truth goes to ``<data_dir>/demo/``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kizuna.demo.simulate import add_months, stream
from kizuna.usage.store import EVENT_SCHEMA, EventStore

CURRENCY = "USD"
PRODUCT_NAME = "Lumen Analytics"
EVENT_TYPES = (
    "report_created",
    "export_run",
    "api_call",
    "dashboard_viewed",
    "invite_sent",
    "integration_connected",
    "alert_configured",
    "file_uploaded",
)
JOBS = ("reporting", "platform", "collaboration")
JOB_SHARE = (0.45, 0.25, 0.30)
#: events per active seat per week at full strength, per job (rows) and event type (columns, as EVENT_TYPES)
RATES = 0.55 * np.array(
    [
        [1.0, 0.7, 0.03, 1.6, 0.02, 0.0, 0.05, 0.35],
        [0.15, 0.15, 4.0, 0.6, 0.01, 0.0, 0.25, 0.08],
        [0.3, 0.15, 0.02, 2.2, 0.07, 0.0, 0.04, 0.9],
    ]
)
#: the event types each job depends on (its core)
CORE = np.array(
    [
        [1, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 1, 0],
        [0, 0, 0, 1, 1, 0, 0, 1],
    ],
    dtype=bool,
)
# plans: (key, name, USD cents per seat per month on a monthly contract, seat range)
PLANS = (
    ("team", "Team", 2_500, (3, 12)),
    ("business", "Business", 4_500, (10, 60)),
    ("scale", "Scale", 7_000, (40, 250)),
)
PLAN_SHARE = (0.55, 0.33, 0.12)
ANNUAL_SHARE = (0.25, 0.55, 0.85)
ANNUAL_FACTOR = 10  # an annual contract lists at 10 months of the monthly price
INDUSTRIES = ("Software", "Retail", "Healthcare", "Finance", "Media", "Manufacturing", "Education", "Logistics")
REGIONS = ("US-West", "US-East", "US-Central", "Canada", "EMEA")
NAME_STEMS = (
    "Acorn",
    "Apex",
    "Arbor",
    "Atlas",
    "Beacon",
    "Birch",
    "Bold",
    "Bright",
    "Cascade",
    "Cedar",
    "Cobalt",
    "Copper",
    "Crest",
    "Delta",
    "Ember",
    "Evergreen",
    "Falcon",
    "Fjord",
    "Forge",
    "Granite",
    "Harbor",
    "Haven",
    "Helix",
    "Horizon",
    "Indigo",
    "Iron",
    "Juniper",
    "Keystone",
    "Lark",
    "Linden",
    "Maple",
    "Meridian",
    "Mosaic",
    "Nimbus",
    "Northstar",
    "Oak",
    "Onyx",
    "Orbit",
    "Pine",
    "Prairie",
    "Quarry",
    "Quill",
    "Raven",
    "Ridge",
    "River",
    "Sable",
    "Sage",
    "Sierra",
    "Spruce",
    "Summit",
    "Sycamore",
    "Tandem",
    "Timber",
    "Trail",
    "Union",
    "Vale",
    "Vertex",
    "Willow",
    "Zenith",
)
NAME_SUFFIXES = ("Labs", "Systems", "Health", "Capital", "Media", "Works", "Logistics", "Foods", "Partners", "Group")
FIRST_NAMES = (
    "Alex",
    "Avery",
    "Blake",
    "Casey",
    "Dana",
    "Drew",
    "Emery",
    "Jordan",
    "Kai",
    "Logan",
    "Morgan",
    "Parker",
    "Quinn",
    "Reese",
    "Riley",
    "Rowan",
    "Sam",
    "Taylor",
)
LAST_NAMES = (
    "Adams",
    "Baker",
    "Brooks",
    "Carter",
    "Diaz",
    "Evans",
    "Foster",
    "Garcia",
    "Hayes",
    "Kim",
    "Lopez",
    "Miller",
    "Nguyen",
    "Patel",
    "Reed",
    "Shaw",
    "Wong",
)
EPISODES = ("none", "competitor", "champion_left", "budget_review")


@dataclass
class LumenOptions:
    """What to generate: ``accounts`` signed up over ``years`` years ending on ``end_date``, from ``seed``."""

    accounts: int = 2300
    years: int = 3
    seed: int = 7
    end_date: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())


@dataclass
class LumenWorld:
    """The simulated company: hub rows, the weekly event counts and the hidden truth."""

    options: LumenOptions
    start: dt.date  # Monday of week 0
    weeks: int
    external_ids: list[str]
    signup: np.ndarray[Any, Any]  # week of sign-up
    job: np.ndarray[Any, Any]
    seats: np.ndarray[Any, Any]  # weeks x accounts (0 = not a customer)
    counts: np.ndarray[Any, Any]  # weeks x accounts x event types
    versions: list[dict[str, Any]]
    churn_rows: list[dict[str, Any]]
    plan: np.ndarray[Any, Any]
    annual: np.ndarray[Any, Any]


def _sigmoid(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]


def _season(day: dt.date) -> float:
    """Usage multiplier of the week starting ``day``: US summer and year-end holidays are quiet."""
    if day.month in (7, 8):
        return 0.82
    if day.month == 12 and day.day >= 18:
        return 0.6
    if day.month == 1 and day.day <= 7:
        return 0.75
    return 1.0


def _quarter_end(day: dt.date) -> bool:
    return day.month in (3, 6, 9, 12) and day.day >= 15


def simulate_lumen(options: LumenOptions) -> LumenWorld:
    """Simulate Lumen week by week (vectorised over accounts); see the module docstring for the mechanics."""
    rng = stream(options.seed, "lumen")
    end = options.end_date
    weeks = options.years * 52
    start = end - dt.timedelta(days=7 * weeks)
    start -= dt.timedelta(days=start.weekday())
    weeks = (end - start).days // 7 + 1
    n = options.accounts
    # sign-ups: a fifth in the first two months, the rest growing over time, none in the last four weeks
    early = rng.random(n) < 0.2
    later = np.sqrt(rng.random(n))  # density rising with time
    signup = np.where(early, rng.integers(0, 9, n), (9 + later * (weeks - 13)).astype(np.int64))
    job = rng.choice(len(JOBS), n, p=JOB_SHARE)
    plan = rng.choice(len(PLANS), n, p=PLAN_SHARE)
    annual = rng.random(n) < np.take(ANNUAL_SHARE, plan)
    lo = np.array([p[3][0] for p in PLANS])[plan]
    hi = np.array([p[3][1] for p in PLANS])[plan]
    seat0 = np.clip(np.round(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 1, None).astype(np.int64)
    adoption = rng.beta(5, 3, n)  # share of seats active in a normal week
    ramp = rng.uniform(3, 10, n)  # weeks to reach full use
    # breadth: which non-core event types an account uses at all
    uses = (rng.random((n, len(EVENT_TYPES))) < rng.beta(2, 2, n)[:, None]) | CORE[job]
    uses[:, EVENT_TYPES.index("integration_connected")] = False
    integrations_wanted = rng.poisson(np.where(job == 1, 2.0, 0.7))
    breadth = (uses & ~CORE[job]).sum(axis=1)
    account_rate = RATES[job] * uses * rng.lognormal(0.0, 0.35, (n, len(EVENT_TYPES)))
    # contract calendar: boundaries at sign-up + k terms; notice ahead of a boundary
    term = np.where(annual, 12, 1)
    signup_day = [
        start + dt.timedelta(days=7 * int(w) + int(d)) for w, d in zip(signup, rng.integers(0, 5, n), strict=True)
    ]

    seats = np.zeros((weeks, n), dtype=np.int64)
    counts = np.zeros((weeks, n, len(EVENT_TYPES)), dtype=np.int32)
    alive = np.zeros(n, dtype=bool)
    gone = np.zeros(n, dtype=bool)
    cur_seats = seat0.copy()
    integrations = np.zeros(n, dtype=np.int64)
    episode = np.zeros(n, dtype=np.int64)
    episode_age = np.zeros(n, dtype=np.int64)
    fade = np.ones((n, len(EVENT_TYPES)))
    noticed = np.zeros(n, dtype=bool)
    next_boundary = [add_months_day(d, int(t)) for d, t in zip(signup_day, term, strict=True)]
    versions: list[dict[str, Any]] = []
    churn_rows: list[dict[str, Any]] = []
    open_version: dict[int, dict[str, Any]] = {}
    ext = [f"LUM-{k + 1:05d}" for k in range(n)]
    frailty = rng.normal(0.0, 0.6, n)  # unobserved differences between accounts
    plan_keys = [p[0] for p in PLANS]

    def open_line(i: int, day: dt.date, k: int) -> None:
        period = int(term[i])
        price = PLANS[int(plan[i])][2]
        monthly = price * int(cur_seats[i]) * (ANNUAL_FACTOR if period == 12 else 12) // 12
        row = {
            "account": i,
            "external_id": f"{ext[i]}-C1-v{k}",
            "contract_id": f"{ext[i]}-C1",
            "plan_key": f"{plan_keys[int(plan[i])]}-{'y' if period == 12 else 'm'}",
            "quantity": int(cur_seats[i]),
            "mrr_minor": int(monthly),
            "billing_period_months": period,
            "term_months": period,
            "status": "active",
            "start_date": day,
            "end_date": None,
            "renewal_date": add_months_day(day, period),
            "cancelled_at": None,
            "cancellation_reason": None,
        }
        versions.append(row)
        open_version[i] = row

    version_no = np.zeros(n, dtype=np.int64)
    for w in range(weeks):
        week_start = start + dt.timedelta(days=7 * w)
        week_end = week_start + dt.timedelta(days=7)
        joining = np.nonzero((signup == w) & ~alive & ~gone)[0]
        for new in joining:
            alive[new] = True
            version_no[new] = 1
            open_line(int(new), signup_day[new], 1)
        idx = np.nonzero(alive)[0]
        if idx.size == 0:
            continue
        age = w - signup[idx]
        # episodes start and end
        calm = episode[idx] == 0
        starts = calm & (rng.random(idx.size) < 0.006 * np.exp(0.5 * frailty[idx]))
        kinds = rng.choice([1, 2, 3], idx.size, p=[0.5, 0.3, 0.2])
        episode[idx[starts]] = kinds[starts]
        episode_age[idx[starts]] = 0
        episode_age[idx[~calm]] += 1
        recovers = ~calm & np.isin(episode[idx], (1, 2)) & (rng.random(idx.size) < 0.03)
        episode[idx[recovers]] = 0
        ended_budget = (episode[idx] == 3) & (episode_age[idx] > 20)
        episode[idx[ended_budget]] = 0
        # behaviour this week
        target = np.ones((idx.size, len(EVENT_TYPES)))
        comp = episode[idx] == 1
        core = CORE[job[idx]]
        fading = np.clip(1.0 - episode_age[idx] / rng.uniform(6, 16, idx.size), 0.15, 1.0)
        target[comp] = np.where(core[comp], fading[comp, None], 0.85)
        champ = episode[idx] == 2
        champ_drop = np.array([1, 1, 1, 0.35, 0.1, 1, 1, 1], dtype=float) * 0.55
        target[champ] = champ_drop
        target[noticed[idx]] *= 0.45
        fade[idx] = 0.7 * fade[idx] + 0.3 * target  # behaviour moves towards its target over a few weeks
        season = _season(week_start)
        ramp_level = 1.0 - np.exp(-(age + 1) / ramp[idx])
        active_seats = rng.binomial(cur_seats[idx], np.clip(adoption[idx] * ramp_level * season, 0.02, 1.0))
        lam = account_rate[idx] * fade[idx] * active_seats[:, None]
        if _quarter_end(week_start):
            lam[:, :2] *= 1.35
        drawn = rng.poisson(lam)
        # integrations: connected in the first months, one event each
        connect = (integrations[idx] < integrations_wanted[idx]) & (age < 20) & (rng.random(idx.size) < 0.15)
        integrations[idx[connect]] += 1
        drawn[:, EVENT_TYPES.index("integration_connected")] = connect.astype(np.int64)
        counts[w, idx] = drawn
        seats[w, idx] = cur_seats[idx]
        # contract boundaries inside this week: renew, grow or end
        for i in (int(j) for j in idx):
            boundary = next_boundary[i]
            lead = dt.timedelta(days=45 if term[i] == 12 else 10)
            if not noticed[i] and week_start <= boundary - lead < week_end:
                core_now = float(fade[i][CORE[job[i]]].mean())
                hazard = (
                    -4.2
                    + (1.1 if term[i] == 12 else 0.0)
                    + 3.2 * (1.0 - core_now)
                    + 0.45 * max(0, 2 - int(breadth[i]))
                    - 0.6 * min(int(integrations[i]), 3)
                    + (2.6 if episode[i] == 3 else 0.0)
                    + (0.6 if boundary.month == 1 else 0.0)
                    + (0.8 if w - signup[i] < 26 else 0.0)
                    + frailty[i]
                )
                if rng.random() < _sigmoid(np.array(hazard)):
                    noticed[i] = True
                    # notice is given in the week the account decides; the contract then ends at the boundary
                    notice_day = min(
                        week_start + dt.timedelta(days=int(rng.integers(0, 7))), boundary - dt.timedelta(days=1)
                    )
                    notice_day = max(notice_day, open_version[i]["start_date"])
                    open_version[i]["cancelled_at"] = notice_day
                    open_version[i]["status"] = "cancelled"
                    open_version[i]["end_date"] = boundary
                    open_version[i]["renewal_date"] = None
                    cause = EPISODES[int(episode[i])]
                    churn_rows.append(
                        {"external_id": ext[i], "churned_on": boundary, "notice_on": notice_day, "episode": cause}
                    )
            if week_start <= boundary < week_end:
                if noticed[i]:
                    alive[i] = False
                    gone[i] = True
                    continue
                grow = term[i] == 12 and fade[i].mean() > 0.8 and rng.random() < 0.35
                if grow:
                    cur_seats[i] = int(np.ceil(cur_seats[i] * rng.uniform(1.1, 1.35)))
                    open_version[i]["end_date"] = boundary
                    open_version[i]["renewal_date"] = None
                    version_no[i] += 1
                    open_line(i, boundary, int(version_no[i]))
                next_boundary[i] = add_months_day(boundary, int(term[i]))
                if open_version[i]["end_date"] is None:
                    open_version[i]["renewal_date"] = next_boundary[i]
    return LumenWorld(
        options=options,
        start=start,
        weeks=weeks,
        external_ids=ext,
        signup=signup,
        job=job,
        seats=seats,
        counts=counts,
        versions=versions,
        churn_rows=churn_rows,
        plan=plan,
        annual=annual,
    )


def add_months_day(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, on the same day of the month (clipped to the month's last day)."""
    first = add_months(dt.date(day.year, day.month, 1), months)
    last = (add_months(first, 1) - dt.timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def write_lumen_events(world: LumenWorld, store: EventStore, account_ids: np.ndarray[Any, Any]) -> int:
    """Spread each week's counts over its days (weekdays mostly, US working hours) and write them to the store."""
    opts = world.options
    rng = stream(opts.seed, "lumen-events")
    names = pa.array(list(EVENT_TYPES), pa.string())
    ext = pa.array(world.external_ids, pa.string())
    end_us = _micros(opts.end_date)
    first_us = np.zeros(opts.accounts, dtype=np.int64)
    for v in world.versions:
        if v["external_id"].endswith("-v1"):
            first_us[v["account"]] = _micros(v["start_date"])
    week_us = np.array([_micros(world.start + dt.timedelta(days=7 * k)) for k in range(world.weeks)], dtype=np.int64)
    day_weights = np.array([0.2, 0.21, 0.21, 0.2, 0.14, 0.02, 0.02])
    total = 0
    chunk = 8  # weeks per batch
    for w0 in range(0, world.weeks, chunk):
        block = world.counts[w0 : w0 + chunk]  # weeks x accounts x types
        w_idx, a_idx, t_idx = np.nonzero(block)
        per = block[w_idx, a_idx, t_idx].astype(np.int64)
        if per.sum() == 0:
            continue
        week = np.repeat(w_idx + w0, per)
        acc = np.repeat(a_idx, per)
        kind = np.repeat(t_idx, per)
        count = int(per.sum())
        start_us = week_us[week]
        day = rng.choice(7, count, p=day_weights)
        hour = np.clip(rng.normal(19.0, 2.8, count), 12.0, 27.0)  # 13:00-22:00 UTC is the US working day
        ts = start_us + ((day * 86_400 + hour * 3_600) * 1_000_000).astype(np.int64) + rng.integers(0, 1_000_000, count)
        ts = np.maximum(ts, first_us[acc])
        keep = ts < end_us
        acc, kind, ts, week = acc[keep], kind[keep], ts[keep], week[keep]
        count = int(keep.sum())
        if count == 0:
            continue
        seats = np.maximum(world.seats[week, acc], 1)
        user = (rng.random(count) ** 1.6 * seats).astype(np.int64)  # a few power users do most of the work
        order = np.argsort(ts, kind="stable")
        acc, kind, ts, user = acc[order], kind[order], ts[order], user[order]
        seq = pc.cast(pa.array(np.arange(total, total + count)), pa.string())
        table = pa.table(
            {
                "event_id": pc.binary_join_element_wise(f"lumen-{opts.seed}-", seq, ""),
                "account_id": pa.array(account_ids[acc], pa.int64()),
                "user_id": pc.binary_join_element_wise(
                    ext.take(pa.array(acc)), pc.utf8_lpad(pc.cast(pa.array(user), pa.string()), 4, "0"), "-U"
                ),
                "event_name": names.take(pa.array(kind)),
                "feature": pa.nulls(count, pa.string()),
                "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "properties": pa.nulls(count, pa.string()),
            },
            schema=EVENT_SCHEMA,
        )
        total += store.write_batch(table, batch_key=f"lumen-{w0 // chunk:04d}")
    return total


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _micros(day: dt.date) -> int:
    return int(_utc(day).timestamp()) * 1_000_000


def write_lumen_hub(conn: Any, world: LumenWorld, rows: dict[str, int]) -> np.ndarray[Any, Any]:
    """Insert Lumen's products, plans, team, accounts, contacts and subscriptions; returns index -> accounts.id."""
    from sqlalchemy import select

    from kizuna import models as m
    from kizuna.demo.bulk_insert import insert_rows

    opts = world.options
    rng = stream(opts.seed, "lumen-hub")
    n = opts.accounts
    ext = world.external_ids
    today = _utc(opts.end_date)
    rows["products"] = insert_rows(
        conn, m.Product.__table__, [{"external_id": "LUM-PROD", "name": PRODUCT_NAME, "is_addon": False}]
    )
    product_id = conn.scalar(select(m.Product.__table__.c.id).where(m.Product.__table__.c.external_id == "LUM-PROD"))
    plans = [
        {
            "external_id": f"LUM-PLAN-{key}-{'y' if period == 12 else 'm'}".upper(),
            "product_id": product_id,
            "name": f"{name} ({'annual' if period == 12 else 'monthly'})",
            "is_addon": False,
            "list_price_minor": price * (ANNUAL_FACTOR if period == 12 else 1),
            "currency": CURRENCY,
            "billing_period_months": period,
        }
        for key, name, price, _seats in PLANS
        for period in (1, 12)
    ]
    rows["plans"] = insert_rows(conn, m.Plan.__table__, plans)
    plan_table = m.Plan.__table__
    plan_ids = {
        e.removeprefix("LUM-PLAN-").lower(): i
        for e, i in conn.execute(select(plan_table.c.external_id, plan_table.c.id))
    }
    team = [
        {
            "external_id": f"LUM-TM-{k:02d}",
            "name": f"{FIRST_NAMES[k % len(FIRST_NAMES)]} {LAST_NAMES[(3 * k) % len(LAST_NAMES)]}",
            "email": f"csm{k}@lumen-demo.example",
            "role": "lead" if k == 0 else "csm",
            "capacity_accounts": None if k == 0 else max(40, n // 6),
            "active": True,
            "created_at": _utc(world.start),
        }
        for k in range(7)
    ]
    rows["team_members"] = insert_rows(conn, m.TeamMember.__table__, team)
    tm = m.TeamMember.__table__
    csms = [
        i
        for e, r, i in conn.execute(select(tm.c.external_id, tm.c.role, tm.c.id))
        if e.startswith("LUM-") and r == "csm"
    ]
    last_mrr = np.zeros(n, dtype=np.int64)
    ended = np.zeros(n, dtype=bool)
    for v in world.versions:
        last_mrr[v["account"]] = v["mrr_minor"]
        ended[v["account"]] = v["end_date"] is not None and v["end_date"] <= opts.end_date
    acv = last_mrr * 12
    tier = np.where(acv >= 5_000_000, "high", np.where(acv >= 1_000_000, "low", "tech"))
    first_start = {v["account"]: v["start_date"] for v in world.versions if v["external_id"].endswith("-v1")}
    used_names: set[str] = set()
    accounts = []
    for i in range(n):
        name = (
            f"{NAME_STEMS[int(rng.integers(len(NAME_STEMS)))]} {NAME_SUFFIXES[int(rng.integers(len(NAME_SUFFIXES)))]}"
        )
        if name in used_names:
            name = f"{name} {i}"
        used_names.add(name)
        accounts.append(
            {
                "external_id": ext[i],
                "name": name,
                "industry": INDUSTRIES[int(rng.integers(len(INDUSTRIES)))],
                "employee_band": ("1-50", "51-200", "201-1000")[int(world.plan[i])],
                "region": REGIONS[int(rng.integers(len(REGIONS)))],
                "owner_id": int(csms[i % len(csms)]),
                "lifecycle_stage": "churned" if ended[i] else "adoption",
                "touch_tier": str(tier[i]),
                "website": f"https://{ext[i].lower()}.example.com",
                "created_at": _utc(first_start[i]) - dt.timedelta(days=int(rng.integers(1, 20))),
                "updated_at": today,
            }
        )
    rows["accounts"] = insert_rows(conn, m.Account.__table__, accounts)
    at = m.Account.__table__
    amap = {e: i for e, i in conn.execute(select(at.c.external_id, at.c.id))}
    account_ids = np.array([amap[e] for e in ext], dtype=np.int64)
    contacts = []
    for i in range(n):
        for k in range(int(min(5, max(1, world.seats[:, i].max())))):
            first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
            last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
            contacts.append(
                {
                    "external_id": f"{ext[i]}-U{k:04d}",
                    "account_id": int(account_ids[i]),
                    "name": f"{first} {last}",
                    "email": f"{first.lower()}.{last.lower()}.{k}@{ext[i].lower()}.example.com",
                    "title": ("Head of Data", "Analyst", "Engineer", "Operations Manager", "Analyst")[k],
                    "role": ("admin", "decision_maker", "end_user", "billing", "end_user")[k],
                    "is_champion": k == 0,
                    "is_active": True,
                    "language": "en",
                    "deactivated_at": None,
                    "created_at": _utc(first_start[i]) + dt.timedelta(hours=k),
                }
            )
    rows["contacts"] = insert_rows(conn, m.Contact.__table__, contacts)
    subs = [
        {
            **{k: v for k, v in ver.items() if k not in ("account", "plan_key")},
            "account_id": int(account_ids[ver["account"]]),
            "plan_id": plan_ids[ver["plan_key"]],
            "currency": CURRENCY,
            "created_at": _utc(ver["start_date"]),
        }
        for ver in world.versions
    ]
    rows["subscriptions"] = insert_rows(conn, m.Subscription.__table__, subs)
    return account_ids


def write_lumen_truth(world: LumenWorld, folder: Any) -> None:
    """The hidden truth (job, sign-up, churns with the episode behind each), for evaluating models only."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    churned = {r["external_id"]: r for r in world.churn_rows}
    pq.write_table(
        pa.table(
            {
                "external_id": world.external_ids,
                "job": [JOBS[int(j)] for j in world.job],
                "churned": [e in churned for e in world.external_ids],
                "true_churn_date": pa.array(
                    [churned.get(e, {}).get("churned_on") for e in world.external_ids], pa.date32()
                ),
                "churn_episode": [churned.get(e, {}).get("episode") for e in world.external_ids],
            }
        ),
        folder / "truth.parquet",
    )


def generate_lumen(
    settings: Any, *, options: LumenOptions, reset: bool = False, progress: Callable[[str], None] | None = None
) -> Any:
    """Build Lumen into the configured data hub (refusing a non-empty hub unless ``reset``); returns a summary."""
    from kizuna.db import make_engine
    from kizuna.demo.generator import DemoSummary, hub_is_empty, reset_hub
    from kizuna.errors import Conflict
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
                raise Conflict(f"the data hub is not empty ({what}); `kizuna demo --company lumen --reset` replaces it")
            say("emptying the data hub")
            reset_hub(engine, store)
        lap("prepare")
        say(f"simulating Lumen: {options.accounts:,} accounts over {options.years} years (seed {options.seed})")
        world = simulate_lumen(options)
        lap("simulate")
        with engine.begin() as conn:
            ids = write_lumen_hub(conn, world, summary.rows)
            lap("hub")
            say("writing usage events")
            summary.events = write_lumen_events(world, store, ids)
            lap("events")
        truth_dir = settings.data_dir / "demo"
        write_lumen_truth(world, truth_dir)
        summary.truth_dir = str(truth_dir)
        lap("truth")
    finally:
        engine.dispose()
    return summary
