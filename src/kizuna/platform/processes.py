"""The one boundary between kizuna's processes: a pool of fresh Python processes that run functions.

The SQLite hub readers (:mod:`kizuna.hub.sqlite_reader`) and the KPI worker (:mod:`kizuna.kpis.worker`) run in a
:class:`Pool`, a :class:`~concurrent.futures.ProcessPoolExecutor` whose processes start by *spawn*: a new
interpreter that imports what it runs, never a fork of the caller (which would copy its threads, its open database
connections and DuckDB's state). ``pool.submit(function, *args)`` pickles a module-level function and its arguments
and gives a :class:`~concurrent.futures.Future`; its ``result()`` is the function's return value, unpickled, or
raises the exception the function raised: the same type with the same message and attributes, the child's traceback
as its ``__cause__``. An exception that cannot be pickled arrives as a :class:`~kizuna.errors.KizunaError` naming its
type and message.

A pool left by an exception cancels the tasks not yet started and kills its processes, so that no child outlives a
caller that failed; left normally, it waits for them as any executor does.

Large Arrow tables go between processes as Arrow IPC files (:func:`write_table`, :func:`read_table`): the reader
memory-maps the file instead of copying the table out of a pipe and unpickling it.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from kizuna.errors import KizunaError

if TYPE_CHECKING:
    import pyarrow as pa

P = ParamSpec("P")
R = TypeVar("R")


class Pool(ProcessPoolExecutor):
    """``workers`` spawned processes (started as tasks are submitted, at most one per task).

    With one worker the tasks run one after the other in the same process, in the order submitted: a later task
    may use what an earlier one left in that process (the KPI worker keeps its DuckDB connection between tasks).
    """

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        return super().submit(_call, fn, args, kwargs)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        if error is not None:
            self.stop()
        return super().__exit__(kind, error, trace)

    def stop(self) -> None:
        """Cancel the tasks not started and kill the processes, those running a task too."""
        # (Python 3.14's kill_workers(); before it, the executor's own table of its processes)
        processes = list((self._processes or {}).values())
        for process in processes:
            process.kill()
        self.shutdown(wait=True, cancel_futures=True)
        for process in processes:
            process.join()


def _call(fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
    """In the child: ``fn(*args, **kwargs)``; an exception that would not reach the parent intact (one whose
    constructor wants more than its message back, as the ADBC driver's errors do) is replaced by a KizunaError
    naming it."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:
            kind = type(error)
            raise KizunaError(f"{kind.__module__}.{kind.__qualname__}: {error}") from error
        raise


def write_table(path: str | Path, table: pa.Table) -> None:
    """Write ``table`` as an Arrow IPC file for another process to :func:`read_table`."""
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_table(path: str | Path) -> pa.Table:
    """An Arrow IPC file another process wrote (:func:`write_table`), memory-mapped."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()
