"""One small demo company (150 accounts, 2 years, seed 3) shared by the VoC tests of this package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kizuna.demo.generator import generate_demo
from kizuna.demo.simulate import DemoOptions
from kizuna.settings import Settings


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("voc-demo")))
    generate_demo(settings, options=DemoOptions(accounts=150, years=2, seed=3, end_date=dt.date(2026, 11, 22)))
    return settings
