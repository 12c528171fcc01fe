"""Child Python processes that take one JSON job on stdin and report failure through their exit status.

The SQLite hub readers (:mod:`kizuna.sqlite_reader`) and the KPI usage worker (:mod:`kizuna.metrics.worker`) run
this way: :func:`start` them, :func:`hand_job` each its job (at once, so that they work side by side), then
:func:`finish` each, which waits for it and returns the exception it ended with, if any.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def start(module: str) -> subprocess.Popen[str]:
    """``python -m module`` with this interpreter, stdin for its job, stderr kept for its error."""
    return subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def hand_job(child: subprocess.Popen[str], job: dict[str, Any]) -> None:
    """Write the job and close stdin (the child reads to its end). A child that already ended is left to
    :func:`finish` to report."""
    assert child.stdin is not None
    try:
        child.stdin.write(json.dumps(job))
        child.stdin.close()
    except BrokenPipeError:
        pass


def finish(child: subprocess.Popen[str]) -> str | None:
    """Wait for the child; None if it succeeded, else the exception it ended with (:func:`failure`)."""
    assert child.stderr is not None
    stderr = child.stderr.read()  # (a few lines at most: the children write nothing else)
    child.stderr.close()
    return None if child.wait() == 0 else failure(stderr)


def failure(stderr: str) -> str:
    """The exception a child Python process ended with, from its stderr: the lines after its traceback's last
    indented one (the exception and any notes)."""
    lines = stderr.strip().splitlines()
    indented = [i for i, line in enumerate(lines) if line.startswith(" ")]
    return "; ".join(lines[indented[-1] + 1 :] if indented else lines[-1:])
