"""Product usage events of the demo company, drawn from the hidden health, month by month and block by block.

Per account and month: active users ~ Binomial(seats, 0.2 + 0.7 x engagement), sessions per active user ~ Poisson,
each session a ``login`` plus feature events (``report_viewed``, ``dashboard_created``, ``export``, ``api_call`` with
the API add-on, ``invite_user``). Engagement is the logistic of the latent health, so usage falls before most churns.
Events go straight to Parquet through :class:`kizuna.usage.store.EventStore`, one month x block at a time, so memory
stays bounded at any size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kizuna.demo import catalog as c
from kizuna.demo.simulate import World, add_months, sigmoid, stream
from kizuna.usage.store import EVENT_SCHEMA, EventStore

SESSIONS_PER_ACTIVE_USER = 2.0  # at full engagement; calibrated to ~1,000 events per account over 3 years
FEATURE_EVENTS_PER_SESSION = 1.1
BLOCK = 20_000  # accounts per event batch
FEATURE_WEIGHTS = np.array([0.0, 0.52, 0.07, 0.2, 0.17, 0.04])  # per EVENT_NAMES; api_call needs the API add-on
PROPERTIES = (
    '{"format": "csv"}',
    '{"format": "xlsx"}',
    '{"format": "pdf"}',
    '{"client": "web"}',
    '{"client": "mobile"}',
)


def user_external_id(account_external_id: str, index: int) -> str:
    """The end user's id, shared by contacts (the first users of each account) and events."""
    return f"{account_external_id}-U{index:04d}"


def write_events(
    world: World,
    store: EventStore,
    account_ids: np.ndarray[Any, Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every usage event of ``world`` (``account_ids``: account index -> ``accounts.id``); returns the count."""
    opts = world.options
    n = world.n
    ext = pa.array(world.external_ids, pa.string())
    created_day = np.array([d.day for d in world.created_at])
    total = 0
    names_arr = pa.array(list(c.EVENT_NAMES), pa.string())
    feature_lists = [c.EVENT_FEATURES[name] for name in c.EVENT_NAMES]
    feature_vocab = sorted({f for fl in feature_lists for f in fl if f})
    feature_arr = pa.array(feature_vocab, pa.string())
    feature_index = [[feature_vocab.index(f) if f else -1 for f in fl] for fl in feature_lists]
    props_arr = pa.array(list(PROPERTIES), pa.string())
    end_ts = dt.datetime(opts.end_date.year, opts.end_date.month, opts.end_date.day, tzinfo=dt.UTC)
    for t in range(opts.months):
        ms = opts.month_start(t)
        month_days = (add_months(ms, 1) - ms).days
        ms_us = int(dt.datetime(ms.year, ms.month, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
        for lo in range(0, n, BLOCK):
            hi = min(n, lo + BLOCK)
            rng = stream(opts.seed, f"events-{t}-{lo}")
            live = world.live[t, lo:hi]
            idx = np.nonzero(live > 0)[0]
            if idx.size == 0:
                continue
            engagement = sigmoid(world.health[t, lo:hi][idx].astype(np.float64))
            seats = np.maximum(world.seats[t, lo:hi][idx], 1)
            trial = live[idx] == 1
            users = np.where(trial, np.minimum(seats, 5), seats)
            active = rng.binomial(users, np.clip(0.2 + 0.7 * engagement, 0.0, 1.0))
            sessions = rng.poisson(active * SESSIONS_PER_ACTIVE_USER * (0.3 + 1.2 * engagement))
            features = rng.poisson(sessions * FEATURE_EVENTS_PER_SESSION * (0.4 + 1.0 * engagement))
            per_account = sessions + features
            count = int(per_account.sum())
            if count == 0:
                continue
            acc = np.repeat(idx, per_account)  # block-local index
            is_login = _login_mask(sessions, features)
            # who: one of the account's active users (a per-account offset spreads activity over the roster)
            act = np.repeat(np.maximum(active, 1), per_account)
            roster = np.repeat(users, per_account)
            offset = (np.repeat(idx, per_account) * 7919) % np.maximum(roster, 1)
            user_index = (offset + (rng.random(count) * act).astype(np.int64)) % np.maximum(roster, 1)
            # what
            has_api = np.repeat(world.has_api[t, lo:hi][idx], per_account)
            u = rng.random(count)
            w_plain = FEATURE_WEIGHTS.copy()
            w_plain[4] = 0.0
            cum_plain = np.cumsum(w_plain / w_plain.sum())
            cum_api = np.cumsum(FEATURE_WEIGHTS / FEATURE_WEIGHTS.sum())
            name_idx = np.where(
                has_api, np.searchsorted(cum_api, u, side="right"), np.searchsorted(cum_plain, u, side="right")
            )
            name_idx = np.minimum(name_idx, len(c.EVENT_NAMES) - 1)
            name_idx[is_login] = 0
            fu = rng.random(count)
            feat_idx = np.full(count, -1, dtype=np.int64)
            for k, choices in enumerate(feature_index):
                sel = name_idx == k
                if sel.any() and choices[0] >= 0:
                    feat_idx[sel] = np.take(choices, (fu[sel] * len(choices)).astype(np.int64))
            # when: a day in the month (not before sign-up, not after "today"), working hours in Japan
            first_day = np.where(
                created_day[lo:hi][idx] * (world.created_month[lo:hi][idx] == t) > 0, created_day[lo:hi][idx], 1
            )
            last_day = month_days if t < opts.months - 1 else max(opts.end_date.day - 1, 1)
            fd = np.repeat(np.minimum(first_day, last_day), per_account)
            day = fd + (rng.random(count) * (last_day - fd + 1)).astype(np.int64)
            seconds = np.clip(rng.normal(14.5, 2.5, count), 7.0, 23.5) * 3600.0 - 9 * 3600.0  # JST -> UTC
            ts = ms_us + ((day - 1) * 86_400 + seconds).astype(np.int64) * 1_000_000 + rng.integers(0, 1_000_000, count)
            ts = np.minimum(ts, int(end_ts.timestamp()) * 1_000_000 - 1)
            order = np.argsort(ts, kind="stable")
            acc, user_index, name_idx, feat_idx, ts = (
                acc[order],
                user_index[order],
                name_idx[order],
                feat_idx[order],
                ts[order],
            )
            global_acc = acc + lo
            props_idx = np.where(
                name_idx == 3,
                np.minimum((fu[order] * 3).astype(np.int64), 2),
                np.where(name_idx == 0, 3 + (fu[order] < 0.15).astype(np.int64), -1),
            )
            seq = pc.cast(pa.array(np.arange(total, total + count)), pa.string())
            table = pa.table(
                {
                    "event_id": pc.binary_join_element_wise(f"demo-{opts.seed}-", seq, ""),
                    "account_id": pa.array(account_ids[global_acc], pa.int64()),
                    "user_id": pc.binary_join_element_wise(
                        ext.take(pa.array(global_acc)),
                        pc.utf8_lpad(pc.cast(pa.array(user_index), pa.string()), 4, "0"),
                        "-U",
                    ),
                    "event_name": names_arr.take(pa.array(name_idx)),
                    "feature": _take_nullable(feature_arr, feat_idx),
                    "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
                    "properties": _take_nullable(props_arr, props_idx),
                },
                schema=EVENT_SCHEMA,
            )
            total += store.write_batch(table, batch_key=f"demo-{t:03d}-{lo // BLOCK:03d}")
            if progress is not None:
                progress(count)
    return total


def _login_mask(sessions: np.ndarray[Any, Any], features: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """True for the first ``sessions[i]`` events of each account's run of ``sessions[i] + features[i]`` events."""
    per = sessions + features
    starts = np.repeat(np.cumsum(per) - per, per)
    pos = np.arange(int(per.sum())) - starts
    return pos < np.repeat(sessions, per)  # type: ignore[no-any-return]


def _take_nullable(values: pa.Array, index: np.ndarray[Any, Any]) -> pa.Array:
    mask = index < 0
    return values.take(pa.array(np.where(mask, 0, index), mask=mask))
