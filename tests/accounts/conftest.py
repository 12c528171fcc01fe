from collections.abc import Iterator

import pytest

from kizuna.accounts import service
from tests.web.fixtures import _world_template, world  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_list_cache() -> Iterator[None]:
    """The list caches are per database URL; every test here shares one database, so start each test cold."""
    service.clear_cache()
    yield
    service.clear_cache()
