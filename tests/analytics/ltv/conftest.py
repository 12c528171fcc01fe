"""Reference data sets for the lifetime-value tests.

The CDNOW data (Fader, Hardie & Lee 2005) is read from the ``lifetimes`` package, a test-only dependency: the
source tree never imports it.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest


def _lifetimes_datasets():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        # lifetimes 0.11 touches pandas options deprecated in pandas 3 when imported.
        warnings.simplefilter("ignore")
        import lifetimes.datasets

    return lifetimes.datasets


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """CDNOW 1/10th sample, 2357 customers, calibration period of 39 weeks (time unit: weeks)."""
    return _lifetimes_datasets().load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="session")
def cdnow_with_spend() -> pd.DataFrame:
    """The same customers with the mean value of their repeat transactions (dollars)."""
    return _lifetimes_datasets().load_cdnow_summary_data_with_monetary_value()
