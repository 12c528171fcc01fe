"""The leader lock: one holder per installation, on SQLite (a file lock) and PostgreSQL (an advisory lock), freed when
its process dies however it dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from kizuna.platform.leader import LeaderLock
from kizuna.runtime import Runtime

HOLD_THE_LOCK = """
import sys, time
from kizuna.platform.leader import LeaderLock
from kizuna.db import make_engine
lock = LeaderLock(make_engine(sys.argv[1]))
print("held" if lock.acquire() else "refused", flush=True)
time.sleep(600)
"""


def test_one_holder_at_a_time_and_the_next_takes_over(db_runtime: Runtime) -> None:
    first, second = LeaderLock(db_runtime.engine), LeaderLock(db_runtime.engine)
    try:
        assert first.acquire() and first.acquire()  # asking again while holding keeps it
        assert not second.acquire()
        first.release()
        assert second.acquire()
        assert not first.acquire()
        other = LeaderLock(db_runtime.engine, name="another-duty")
        assert other.acquire()  # a lock of another name is independent
        other.release()
    finally:
        first.release()
        second.release()


def test_a_killed_holder_frees_the_lock(db_runtime: Runtime) -> None:
    url = db_runtime.engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lock = LeaderLock(db_runtime.engine)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not lock.acquire()
        holder.send_signal(signal.SIGKILL)  # no clean-up, no unlock: the process is gone
        holder.wait(30)
        deadline = time.monotonic() + 30
        while not lock.acquire() and time.monotonic() < deadline:  # PostgreSQL notices the closed connection
            time.sleep(0.1)
        assert lock.held
    finally:
        lock.release()
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
