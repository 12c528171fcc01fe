"""The demo company's hidden world: accounts, a latent health process per account, and their contract history.

The simulation runs month by month, vectorised over accounts with numpy. Each account has a latent health ``h``
(an AR(1) process around its own mean ``mu`` with shocks such as a champion leaving). Low health raises the hazard of a
*churn intent*; an account with intent disengages further (usage falls), gives notice (monthly contracts: within a
month or two; annual contracts: before the renewal) and churns; some recover. Independent "noise" churns and
involuntary churns after failed payments keep churn foreseeable but not a deterministic function of the signals.

Everything downstream (usage events, tickets, surveys, VoC, billing, the funnel) is drawn from this world, and the
world itself is written apart as the hidden truth (``<data_dir>/demo/truth*.parquet``).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from kizuna.demo import catalog as c
from kizuna.platform.clock import today

PHI = 0.85  # AR(1) persistence of the latent health, per month
SIGMA = 0.35  # monthly innovation of the latent health
INTENT_DRIFT = 0.45  # monthly fall of health while an account intends to leave
INTENT_RECOVERY = 0.12  # monthly chance that an intent fades
SEGMENT_INTENT = (1.0, 0.7, 0.45)
NOISE_CHURN = 0.0015  # monthly, unrelated to health (budget cuts, mergers)
INVOLUNTARY = 0.0035  # monthly, monthly contracts (card payments that finally fail)
REACTIVATION = 0.12  # share of churned accounts that come back 3-12 months later


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible random stream per component (adding one component never shifts another)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


def choice_by_row(
    rng: np.random.Generator, probs: np.ndarray[Any, Any], rows: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """One draw per element from the categorical distribution ``probs[rows[k]]`` (vectorised ``rng.choice``)."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    drawn: np.ndarray[Any, Any] = np.minimum((u[:, None] >= cum[rows]).sum(axis=1), cum.shape[1] - 1)
    return drawn


def sigmoid(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = 1.0 / (1.0 + np.exp(-x))
    return out


@dataclass(frozen=True)
class DemoOptions:
    """What to generate: ``accounts`` created over ``years`` years ending on ``end_date`` ("today"), from ``seed``.

    ``end_date`` defaults to the clock's today, so a demo built now is current on every page; the events stop at
    00:00 UTC of ``end_date``, which is what ``kizuna refresh`` reads "as of" that day. The same seed and end date
    give the same company.
    """

    accounts: int = 2000
    years: int = 3
    seed: int = 42
    end_date: dt.date = field(default_factory=today)

    @property
    def months(self) -> int:
        return self.years * 12

    @cached_property
    def first_month(self) -> dt.date:
        return add_months(dt.date(self.end_date.year, self.end_date.month, 1), -(self.months - 1))

    def month_start(self, t: int) -> dt.date:
        return add_months(self.first_month, t)


@dataclass
class Line:
    """An open contract line (one version being written)."""

    contract_id: str
    plan_key: str
    tier: int
    addon: int  # -1 for the base plan, else index into ADDONS
    quantity: int
    discount: float
    period: int
    start: dt.date
    term_end: dt.date | None
    version: int = 1
    status: str = "active"


@dataclass
class World:
    """The simulated company. Arrays are per account (``N``) or per month x account (``M x N``)."""

    options: DemoOptions
    # per account
    segment: np.ndarray[Any, Any]
    industry: np.ndarray[Any, Any]
    region: np.ndarray[Any, Any]
    band: list[str]
    names: list[str]
    created_at: list[dt.datetime]
    created_month: np.ndarray[Any, Any]
    trial: np.ndarray[Any, Any]
    paid_month: np.ndarray[Any, Any]
    annual: np.ndarray[Any, Any]
    mu: np.ndarray[Any, Any]
    onboarding_quality: np.ndarray[Any, Any]
    hidden_reason: np.ndarray[Any, Any]
    # per month x account
    health: np.ndarray[Any, Any]  # latent h
    live: np.ndarray[Any, Any]  # 0 none, 1 trial, 2 paid
    seats: np.ndarray[Any, Any]
    intent: np.ndarray[Any, Any]
    plan_tier: np.ndarray[Any, Any]
    has_api: np.ndarray[Any, Any]
    mrr: np.ndarray[Any, Any]
    # outcomes
    versions: list[dict[str, Any]] = field(default_factory=list)
    churns: list[dict[str, Any]] = field(default_factory=list)  # account, month, date, kind, reason, notice
    reactivations: list[tuple[int, int]] = field(default_factory=list)
    champion_left: dict[int, dt.datetime] = field(default_factory=dict)
    payment_failures: list[tuple[int, int, bool]] = field(default_factory=list)  # account, month, final (written off)
    changes: list[dict[str, Any]] = field(default_factory=list)  # expansion/contraction/cross_sell for opportunities
    final_state: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def external_ids(self) -> list[str]:
        return [f"ACC-{i + 1:06d}" for i in range(self.n)]


def plan_key(tier: int, period: int, addon: int = -1) -> str:
    spec = c.BASE_PLANS[tier] if addon < 0 else c.ADDONS[addon]
    return f"{spec.key}-{'m' if period == 1 else 'y'}"


def price_per_period(tier: int, period: int, addon: int = -1) -> int:
    spec = c.BASE_PLANS[tier] if addon < 0 else c.ADDONS[addon]
    return spec.monthly_price * (1 if period == 1 else c.ANNUAL_FACTOR)


def line_mrr(line: Line) -> int:
    price = price_per_period(line.tier, line.period, line.addon)
    return round(line.quantity * price * (1.0 - line.discount) / line.period)


def company_names(rng: np.random.Generator, industries: np.ndarray[Any, Any]) -> list[str]:
    seen: set[str] = set()
    names: list[str] = []
    forms = c.LEGAL_FORMS
    form_p = np.array([[f[2] for f in forms]])
    form_draw = choice_by_row(rng, form_p, np.zeros(len(industries) * 20, dtype=np.int64))
    for k, ind in enumerate(industries):
        suffixes = c.INDUSTRY_SUFFIXES[c.INDUSTRIES[int(ind)]]
        for attempt in range(20):
            stem = c.NAME_STEMS[int(rng.random() * len(c.NAME_STEMS))]
            prefix = c.NAME_PREFIXES[int(rng.random() * len(c.NAME_PREFIXES))] if attempt < 10 else "新"
            suffix = suffixes[int(rng.random() * len(suffixes))]
            form, where, _ = forms[int(form_draw[k * 20 + attempt])]
            core = (
                f"{prefix}{stem}{suffix}" if prefix in ("新", "大", "") or attempt >= 10 else f"{stem}{prefix}{suffix}"
            )
            if attempt >= 15:
                core = f"{core}{attempt}"
            name = f"{form}{core}" if where == "prefix" else f"{core}{form}"
            if name not in seen:
                break
        seen.add(name)
        names.append(name)
    return names


def simulate(options: DemoOptions) -> World:
    """Run the hidden world month by month; deterministic for a given ``options``."""
    n, months, seed = options.accounts, options.months, options.seed
    rng = stream(seed, "accounts")

    segment = rng.choice(3, size=n, p=c.SEGMENT_WEIGHTS)
    industry = rng.choice(len(c.INDUSTRIES), size=n, p=np.array(c.INDUSTRY_WEIGHTS) / sum(c.INDUSTRY_WEIGHTS))
    region = rng.choice(len(c.REGIONS), size=n, p=np.array(c.REGION_WEIGHTS) / sum(c.REGION_WEIGHTS))
    # growth: the rate of new accounts triples over the period
    growth = np.exp(np.log(3.0) * np.arange(months) / max(months - 1, 1))
    created_month = np.sort(rng.choice(months, size=n, p=growth / growth.sum()))
    first = options.first_month
    created_at: list[dt.datetime] = []
    day_u = rng.random(n)
    sec_u = rng.integers(0, 9 * 3600, size=n)  # 09:00-18:00 JST
    for a, t in enumerate(created_month):
        ms = options.month_start(int(t))
        last_day = (add_months(ms, 1) - dt.timedelta(days=1)).day
        if t == months - 1:
            last_day = min(last_day, options.end_date.day - 1) if options.end_date.day > 1 else 1
        day = 1 + int(day_u[a] * last_day)
        created_at.append(dt.datetime(ms.year, ms.month, day, tzinfo=dt.UTC) + dt.timedelta(seconds=int(sec_u[a])))
    trial = rng.random(n) < np.take(c.TRIAL_SHARE, segment)
    paid_month = np.empty(n, dtype=np.int64)
    for a in range(n):
        signup = created_at[a].date()
        if trial[a]:
            ready = signup + dt.timedelta(days=14)
            start = dt.date(ready.year, ready.month, 1)
            if start < ready:
                start = add_months(start, 1)
        else:
            start = add_months(dt.date(signup.year, signup.month, 1), 1)
        paid_month[a] = (start.year - first.year) * 12 + start.month - first.month
    # contracts that would only start after "today" are still trials today
    trial |= paid_month >= months
    annual = rng.random(n) < np.take(c.ANNUAL_SHARE, segment)
    tiers = choice_by_row(rng, np.array(c.PLAN_MIX), segment)
    seats0 = np.maximum(
        1,
        np.round(
            np.exp(np.log(np.take(c.SEAT_MEDIAN, segment)) + rng.normal(0, 1, n) * np.take(c.SEAT_SIGMA, segment))
        ),
    ).astype(np.int64)
    disc_levels = np.array([0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30])
    disc_p = {
        0: [0.8, 0.12, 0.08, 0, 0, 0, 0],
        1: [0.45, 0.2, 0.2, 0.15, 0, 0, 0],
        2: [0.1, 0.1, 0.25, 0.2, 0.2, 0.1, 0.05],
    }
    discount = disc_levels[choice_by_row(rng, np.array([disc_p[0], disc_p[1], disc_p[2]]), segment)]
    hidden_reason = choice_by_row(rng, np.array(c.CHURN_REASON_MIX), segment)
    mu = rng.normal(0.7, 0.75, n) + 0.15 * (segment == 2)
    mu -= 0.25 * (hidden_reason == 1)  # hard to use: lower engagement all along
    onboarding_quality = rng.normal(0, 1, n) - 0.6 * (hidden_reason == 2)  # support not enough to adopt
    trend = np.where(hidden_reason == 0, -0.02, 0.0)  # expected results slowly not achieved
    names = company_names(rng, industry)
    band = [c.EMPLOYEE_BANDS[s][int(rng.random() * len(c.EMPLOYEE_BANDS[s]))] for s in segment]

    health = np.zeros((months, n), dtype=np.float32)
    live = np.zeros((months, n), dtype=np.int8)
    seats_m = np.zeros((months, n), dtype=np.int32)
    intent_m = np.zeros((months, n), dtype=bool)
    tier_m = np.zeros((months, n), dtype=np.int8)
    api_m = np.zeros((months, n), dtype=bool)
    mrr_m = np.zeros((months, n), dtype=np.int64)

    world = World(
        options=options,
        segment=segment,
        industry=industry,
        region=region,
        band=band,
        names=names,
        created_at=created_at,
        created_month=created_month,
        trial=trial,
        paid_month=paid_month,
        annual=annual,
        mu=mu,
        onboarding_quality=onboarding_quality,
        hidden_reason=hidden_reason,
        health=health,
        live=live,
        seats=seats_m,
        intent=intent_m,
        plan_tier=tier_m,
        has_api=api_m,
        mrr=mrr_m,
    )
    ext = world.external_ids
    sim = stream(seed, "months")

    h = (mu + 0.5 * onboarding_quality).astype(np.float64)
    state = np.zeros(n, dtype=np.int8)  # 0 not started, 1 trial, 2 paid, 3 churned
    tier = tiers.copy()
    seats = seats0.copy()
    intent = np.zeros(n, dtype=bool)
    end_month = np.full(n, -1, dtype=np.int64)
    react_month = np.full(n, -1, dtype=np.int64)
    term_start = np.full(n, -1, dtype=np.int64)
    contract_no = np.zeros(n, dtype=np.int64)
    lines: list[dict[int, Line]] = [{} for _ in range(n)]  # addon index (-1 base) -> open line
    trial_line: dict[int, Line] = {}
    pending: dict[int, dict[str, Any]] = {}  # account -> notice info
    touched: set[int] = set()  # accounts whose lines changed this month
    mrr_now = np.zeros(n, dtype=np.int64)
    api_now = np.zeros(n, dtype=bool)

    def close(i: int, line: Line, end: dt.date, status: str = "active", **extra: Any) -> None:
        touched.add(i)
        world.versions.append(_version(i, ext[i], line, end=end, status=status, **extra))

    def open_line(i: int, addon: int, qty: int, start: dt.date, t: int) -> Line:
        contract_no[i] += 1
        cid = f"C-{ext[i][4:]}-{contract_no[i]:02d}"
        period = 12 if annual[i] else 1
        line = Line(
            contract_id=cid,
            plan_key=plan_key(int(tier[i]), period, addon),
            tier=int(tier[i]),
            addon=addon,
            quantity=qty,
            discount=float(discount[i]),
            period=period,
            start=start,
            term_end=add_months(start, 12) if period == 12 else None,
        )
        lines[i][addon] = line
        touched.add(i)
        return line

    def change(i: int, addon: int, start: dt.date, **new: Any) -> None:
        line = lines[i][addon]
        if line.start < start:  # a second change on the same day amends the version just opened
            close(i, line, end=start)
            line.version += 1
            line.start = start
        for k, v in new.items():
            setattr(line, k, v)
        touched.add(i)

    for t in range(months):
        ms = options.month_start(t)
        u = sim.random((10, n))
        eps = sim.normal(0, 1, n)

        # --- start of month t: churns, reactivations, conversions, renewals, changes
        for i in np.nonzero((end_month == t) & (state == 2))[0]:
            info = pending.pop(int(i))
            for line in list(lines[i].values()):
                close(
                    int(i),
                    line,
                    end=ms,
                    status="churned",
                    cancelled_at=info["notice"],
                    cancellation_reason=info["reason_code"],
                )
            lines[i].clear()
            state[i] = 3
            intent[i] = False
            world.churns.append({"account": int(i), "month": t, "date": ms, **info})
            if u[0, i] < REACTIVATION:
                react_month[i] = t + 3 + int(u[1, i] * 10)
        for i in np.nonzero((react_month == t) & (state == 3))[0]:
            state[i] = 2
            annual[i] = False
            seats[i] = max(1, int(seats[i] * (0.6 + 0.4 * u[2, i])))
            h[i] = mu[i] + 0.4
            mu[i] += 0.2
            open_line(int(i), -1, int(seats[i]), ms, t)
            world.reactivations.append((int(i), t))
            react_month[i] = -1
        for i in np.nonzero((created_month == t) & trial)[0]:
            state[i] = 1
            trial_line[int(i)] = Line(
                contract_id=f"C-{ext[i][4:]}-00",
                plan_key=plan_key(int(tier[i]), 1),
                tier=int(tier[i]),
                addon=-1,
                quantity=int(seats[i]),
                discount=0.0,
                period=1,
                start=created_at[i].date(),
                term_end=None,
                status="trial",
            )
        for i in np.nonzero(paid_month == t)[0]:
            tl = trial_line.pop(int(i), None)
            if tl is not None:
                close(int(i), tl, end=ms, status="trial")
            state[i] = 2
            term_start[i] = t
            open_line(int(i), -1, int(seats[i]), ms, t)
            if segment[i] == 2 and u[3, i] < 0.25:
                open_line(int(i), 1, int(seats[i]), ms, t)
        active_paid = (state == 2) & (end_month < 0)
        e_prev = sigmoid(h)
        # annual renewals (not ending): seats re-based, contraction allowed, some price increases
        renewing = active_paid & annual & (term_start >= 0) & (t - term_start >= 12) & ((t - term_start) % 12 == 0)
        for i in np.nonzero(renewing)[0]:
            ii = int(i)
            new_seats = int(seats[i])
            if e_prev[i] < 0.4 and u[4, i] < 0.5:
                new_seats = max(1, int(seats[i] * (0.7 + 0.2 * u[5, i])))
            elif e_prev[i] > 0.65 and u[4, i] < 0.4:
                new_seats = int(np.ceil(seats[i] * (1.1 + 0.3 * u[5, i])))
            new_disc = max(0.0, float(discount[i]) - 0.05) if u[6, i] < 0.2 else float(discount[i])
            for addon, line in lines[ii].items():
                qty = new_seats if addon in (-1, 1) else line.quantity
                change(ii, addon, ms, quantity=qty, discount=new_disc, term_end=add_months(ms, 12))
            if new_seats != seats[i]:
                world.changes.append(
                    {
                        "account": ii,
                        "month": t,
                        "kind": "upsell" if new_seats > seats[i] else "contraction",
                        "delta_seats": new_seats - int(seats[i]),
                    }
                )
            seats[i] = new_seats
            discount[i] = new_disc
            term_start[i] = t
        can_change = active_paid & ~intent & (paid_month < t) & ~renewing
        # expansion (any contract), contraction and downgrades (monthly contracts only)
        expand = can_change & (e_prev > 0.65) & (u[4] < np.where(segment == 0, 0.035, 0.05))
        contract = can_change & ~annual & (e_prev < 0.4) & (u[4] < 0.06)
        upgrade = can_change & (e_prev > 0.7) & (tier < 2) & (u[6] < 0.012) & ~expand
        downgrade = can_change & ~annual & (e_prev < 0.35) & (tier > 0) & (u[6] < 0.012) & ~contract
        cross = can_change & (e_prev > 0.6) & (u[7] < 0.014)
        for i in np.nonzero(expand | contract | upgrade | downgrade | cross)[0]:
            ii = int(i)
            if expand[i] or contract[i]:
                factor = (1.1 + 0.35 * u[5, i]) if expand[i] else (0.7 + 0.2 * u[5, i])
                new_seats = int(np.ceil(seats[i] * factor)) if expand[i] else max(1, int(seats[i] * factor))
                if new_seats != seats[i]:
                    change(ii, -1, ms, quantity=new_seats)
                    if 1 in lines[ii]:
                        change(ii, 1, ms, quantity=new_seats)
                    world.changes.append(
                        {
                            "account": ii,
                            "month": t,
                            "kind": "upsell" if expand[i] else "contraction",
                            "delta_seats": new_seats - int(seats[i]),
                        }
                    )
                    seats[i] = new_seats
            if upgrade[i] or downgrade[i]:
                tier[i] += 1 if upgrade[i] else -1
                line = lines[ii][-1]
                change(ii, -1, ms, plan_key=plan_key(int(tier[i]), line.period), tier=int(tier[i]))
                world.changes.append(
                    {"account": ii, "month": t, "kind": "upgrade" if upgrade[i] else "downgrade", "delta_seats": 0}
                )
            if cross[i]:
                missing = [a for a in range(len(c.ADDONS)) if a not in lines[ii]]
                if missing:
                    addon = missing[int(u[8, i] * len(missing))]
                    qty = int(seats[i]) if c.ADDONS[addon].per_seat else 1 + int(u[9, i] * 3)
                    open_line(ii, addon, qty, ms, t)
                    world.changes.append(
                        {"account": ii, "month": t, "kind": "cross_sell", "addon": addon, "delta_seats": 0}
                    )
        # add-ons dropped by unhappy monthly accounts
        drop = can_change & ~annual & (e_prev < 0.35) & (u[8] < 0.02)
        for i in np.nonzero(drop)[0]:
            addons = [a for a in lines[int(i)] if a >= 0]
            if addons:
                line = lines[int(i)].pop(addons[0])
                close(
                    int(i),
                    line,
                    end=ms,
                    status="churned",
                    cancelled_at=add_months(ms, -1) + dt.timedelta(days=20),
                    cancellation_reason="downgrade",
                )

        # --- during month t: the latent process, intents and notices
        started = state > 0
        champ = started & (state < 3) & (u[9] < 0.006) & ~np.isin(np.arange(n), list(world.champion_left))
        for i in np.nonzero(champ)[0]:
            day = 1 + int(u[2, i] * 27)
            world.champion_left[int(i)] = dt.datetime(ms.year, ms.month, min(day, 28), 9, tzinfo=dt.UTC)
        mu[champ] -= 0.3
        h = mu + PHI * (h - mu) + SIGMA * eps + trend - INTENT_DRIFT * intent - 0.9 * champ
        # CSM attention in the first months helps (onboarding quality fades out)
        tenure = t - paid_month
        h += np.where((tenure >= 0) & (tenure < 4), 0.12 * onboarding_quality, 0.0)
        in_force = (state == 2) & (end_month < 0)
        p_intent = sigmoid(-3.7 - 1.5 * h) * np.take(SEGMENT_INTENT, segment)
        p_intent *= np.where(hidden_reason == 4, 1.3, 1.0)
        new_intent = in_force & ~intent & (u[0] < p_intent) & (tenure >= 1)
        recover = intent & (u[1] < INTENT_RECOVERY) & (h > mu - 0.5)
        intent = (intent | new_intent) & ~recover
        months_to_renewal = np.where(term_start >= 0, 12 - ((t - term_start) % 12), 99)
        notice_monthly = in_force & ~annual & intent & ~new_intent & (u[2] < 0.5)
        notice_annual = in_force & annual & intent & (months_to_renewal <= 2)
        # annual renewals also lose some price-sensitive accounts without a long intent
        notice_annual |= (
            in_force & annual & (months_to_renewal == 2) & (u[3] < np.where(hidden_reason == 3, 0.06, 0.02))
        )
        noise = in_force & (u[5] < NOISE_CHURN) & ~notice_monthly & ~notice_annual
        invol = in_force & ~annual & (u[6] < INVOLUNTARY * (1.5 - sigmoid(h))) & ~notice_monthly & ~noise
        day_u = u[7]
        for kind, mask in (("voluntary", notice_monthly | notice_annual), ("noise", noise), ("involuntary", invol)):
            for i in np.nonzero(mask)[0]:
                ii = int(i)
                last_day = (add_months(ms, 1) - dt.timedelta(days=1)).day
                notice = dt.date(ms.year, ms.month, 1 + int(day_u[i] * min(last_day, 28)))
                end = t + int(months_to_renewal[i]) if annual[i] else t + 1
                reason = "payment_failed" if kind == "involuntary" else c.CHURN_REASONS[int(hidden_reason[i])]
                pending[ii] = {
                    "notice": notice,
                    "kind": kind,
                    "reason": reason,
                    "reason_code": "payment_failed" if kind == "involuntary" else reason,
                }
                end_month[i] = end
                for line in lines[ii].values():
                    line.status = "cancelled"
                if kind == "involuntary":
                    world.payment_failures.append((ii, t, True))
        # failed payments that were collected on retry
        soft_fail = in_force & ~invol & (u[8] < np.where(annual, 0.002, 0.02))
        for i in np.nonzero(soft_fail)[0]:
            world.payment_failures.append((int(i), t, False))

        health[t] = h
        live[t] = np.where(state == 2, 2, np.where(state == 1, 1, 0))
        seats_m[t] = np.where(state > 0, seats, 0)
        intent_m[t] = intent
        tier_m[t] = tier
        for a in touched:
            ls = lines[a]
            api_now[a] = 0 in ls
            mrr_now[a] = sum(line_mrr(x) for x in ls.values())
        touched.clear()
        api_m[t] = api_now
        mrr_m[t] = mrr_now

    # close nothing more: open lines are current versions
    end_date = options.end_date
    for a in range(n):
        for line in lines[a].values():
            pend = pending.get(a)
            if pend is not None:
                world.versions.append(
                    _version(
                        a,
                        ext[a],
                        line,
                        end=options.month_start(int(end_month[a])),
                        status="cancelled",
                        cancelled_at=pend["notice"],
                        cancellation_reason=pend["reason_code"],
                    )
                )
            else:
                world.versions.append(_version(a, ext[a], line, end=None, status="active", today=end_date))
        tl = trial_line.get(a)
        if tl is not None:
            world.versions.append(
                _version(a, ext[a], tl, end=None, status="trial", renewal=options.month_start(int(paid_month[a])))
            )
        if a in pending:
            pend = pending[a]
            world.churns.append(
                {
                    "account": a,
                    "month": int(end_month[a]),
                    "date": options.month_start(int(end_month[a])),
                    "planned": True,
                    **pend,
                }
            )
    world.final_state = {
        "state": state,
        "intent": intent,
        "tier": tier,
        "seats": seats,
        "term_start": term_start,
        "end_month": end_month,
        "discount": discount,
    }
    return world


def _version(
    i: int,
    ext: str,
    line: Line,
    *,
    end: dt.date | None,
    status: str,
    cancelled_at: dt.date | None = None,
    cancellation_reason: str | None = None,
    today: dt.date | None = None,
    renewal: dt.date | None = None,
) -> dict[str, Any]:
    if renewal is None:
        if line.period == 12:
            renewal = line.term_end
        elif end is None and today is not None:
            renewal = add_months(dt.date(today.year, today.month, 1), 1)
    return {
        "account": i,
        "external_id": f"{line.contract_id}-v{line.version}",
        "contract_id": line.contract_id,
        "plan_key": line.plan_key,
        "quantity": line.quantity,
        "mrr_minor": line_mrr(line),
        "billing_period_months": line.period,
        "term_months": line.period,
        "status": status,
        "start_date": line.start,
        "end_date": end,
        "renewal_date": renewal,
        "cancelled_at": cancelled_at,
        "cancellation_reason": cancellation_reason,
    }
