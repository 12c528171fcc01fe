"""platform.processes: results and exceptions cross the process boundary as themselves."""

from __future__ import annotations

import os
import time

import pytest

from kizuna.errors import KizunaError, NotFound
from kizuna.platform import processes


def _not_found(name: str) -> None:
    raise NotFound(f"no account {name!r}", name=name)


class _Unrebuildable(Exception):
    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


def _unrebuildable() -> None:
    raise _Unrebuildable("the driver said no", code=7)


def test_a_result_comes_back_from_another_process() -> None:
    with processes.Pool(2) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(2)}
        assert pool.submit(sorted, [3, 1, 2], reverse=True).result() == [3, 2, 1]
    assert os.getpid() not in pids


def test_an_exception_arrives_as_its_own_type_with_its_message_and_attributes() -> None:
    with processes.Pool(1) as pool, pytest.raises(NotFound, match="no account 'acme'") as raised:
        pool.submit(_not_found, "acme").result()
    assert raised.value.context == {"name": "acme"}
    assert "_not_found" in str(raised.value.__cause__)  # the child's traceback


def test_an_exception_that_cannot_be_rebuilt_arrives_as_a_kizuna_error_naming_it() -> None:
    with processes.Pool(1) as pool, pytest.raises(KizunaError, match=r"_Unrebuildable: the driver said no"):
        pool.submit(_unrebuildable).result()


def test_a_pool_left_by_an_exception_kills_its_processes() -> None:
    with pytest.raises(RuntimeError), processes.Pool(1) as pool:
        pool.submit(os.getpid).result()
        (process,) = pool._processes.values()
        busy = pool.submit(time.sleep, 60)
        raise RuntimeError("the caller failed")
    assert not process.is_alive() and (busy.cancelled() or busy.exception() is not None)
