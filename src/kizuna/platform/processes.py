"""Child Python processes that take one JSON job on stdin and report failure through their exit status.

The SQLite hub readers (:mod:`kizuna.hub.sqlite_reader`) and the KPI worker (:mod:`kizuna.kpis.worker`) run this way:
:func:`start` them, :func:`hand_job` each its job (at once, so that they work side by side; the child reads it with
:func:`read_job`), then :func:`finish` each, which waits for it and returns the exception it ended with, if any.

A child that needs more from its parent later (the KPI worker waits for the account outcomes of the revenue part) is
handed its job with ``more=True``, then :func:`send` messages, which it reads with :func:`read_message`; a child
started with ``replies=True`` may answer before it ends (:func:`reply`, read with :func:`read_reply`: the KPI worker
hands over its usage part while it computes the funnel). Each job and message is one line of JSON; tables go
between them as Arrow IPC files (:func:`write_table`, :func:`read_table`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kizuna.errors import KizunaError

if TYPE_CHECKING:
    import pyarrow as pa


def start(module: str, *, replies: bool = False) -> subprocess.Popen[str]:
    """``python -m module`` with this interpreter, stdin for its job, stderr kept for its error, stdout for its
    :func:`reply` messages if it sends any (``replies``)."""
    return subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE if replies else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def hand_job(child: subprocess.Popen[str], job: dict[str, Any], *, more: bool = False) -> None:
    """Write the job, then close stdin unless ``more`` messages are to follow (:func:`send`, then :func:`close`).
    A child that already ended is left to :func:`finish` to report."""
    send(child, job)
    if not more:
        close(child)


def send(child: subprocess.Popen[str], message: dict[str, Any]) -> None:
    """Write one message (a line of JSON) to the child at once."""
    assert child.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        child.stdin.write(json.dumps(message) + "\n")
        child.stdin.flush()


def close(child: subprocess.Popen[str]) -> None:
    """Close the child's stdin: no more messages (its :func:`read_message` then returns None)."""
    assert child.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        child.stdin.close()


def read_job() -> dict[str, Any]:
    """In the child: its job (the first message)."""
    job = read_message()
    if job is None:
        raise KizunaError("no job on stdin: the parent ended before handing it")
    return job


def read_message() -> dict[str, Any] | None:
    """In the child: the next message from the parent (the job is the first), waiting for it; None once the parent
    closed stdin."""
    line = sys.stdin.readline()
    return json.loads(line) if line else None


def reply(message: dict[str, Any]) -> None:
    """In the child: send the parent a message (a line of JSON on stdout) at once."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def read_reply(child: subprocess.Popen[str]) -> dict[str, Any] | None:
    """The child's next :func:`reply`, waiting for it; None if it ended first (:func:`finish` then says why). Lines
    that are not a message (a library printing) are passed over."""
    assert child.stdout is not None
    while line := child.stdout.readline():
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    return None


def finish(child: subprocess.Popen[str]) -> str | None:
    """Wait for the child; None if it succeeded, else the exception it ended with (:func:`failure`)."""
    if child.stdin is not None:
        close(child)  # (a child still waiting for a message would wait for ever)
        child.stdin = None  # (closed: communicate() would flush it)
    _, stderr = child.communicate()  # (stderr: a few lines at most; stdout: nothing left, unless a library printed)
    return None if child.returncode == 0 else failure(stderr)


def failure(stderr: str) -> str:
    """The exception a child Python process ended with, from its stderr: the lines after its traceback's last
    indented one (the exception and any notes)."""
    lines = stderr.strip().splitlines()
    indented = [i for i, line in enumerate(lines) if line.startswith(" ")]
    return "; ".join(lines[indented[-1] + 1 :] if indented else lines[-1:])


def write_table(path: str | Path, table: pa.Table) -> None:
    """Write ``table`` as an Arrow IPC file for another process to :func:`read_table`."""
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_table(path: str | Path) -> pa.Table:
    """An Arrow IPC file another process wrote (:func:`write_table`), memory-mapped."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()
