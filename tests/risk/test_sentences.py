"""Behaviour drivers in words, in Japanese and English: the product's own event names, a trend as a percentage,
absence said as absence; behaviour holding up is never a reason to act."""

from __future__ import annotations

import pytest

from kizuna.analytics.risk.features import reassuring
from kizuna.risk.sentences import sentence


@pytest.mark.parametrize(
    ("feature", "value", "ja", "en"),
    [
        (
            "ev__report_created__trend30",
            -0.6931,
            "report createdが前の30日比50%減",
            "report created down 50% on the 30 days before",
        ),
        ("ev__api_call__since", 181, "180日間api callなし", "No api call in 180 days"),
        (
            "ev__export_run__per_seat30",
            0.25,
            "export run: 30日で1シートあたり0.2回",
            "0.2 × export run per seat in 30 days",
        ),
        (
            "ev_all__breadth_change",
            -2,
            "使われた機能の種類が前の30日より2減",
            "2 fewer kinds of activity than the 30 days before",
        ),
        (
            "ev_pair__export_run__report_created",
            0.0,
            "直近30日のreport createdあたりのexport run: 1.00",
            "export run per report created in the last 30 days: 1.00",
        ),
    ],
)
def test_behaviour_drivers_read_as_sentences(feature: str, value: float, ja: str, en: str) -> None:
    driver = {"feature": feature, "kind": "signal", "value": value, "contribution": 0.4}
    assert sentence(driver, "ja") == ja
    assert sentence(driver, "en") == en


def test_behaviour_that_holds_up_is_never_a_signal() -> None:
    assert reassuring("ev__api_call__trend30", 0.1)
    assert reassuring("ev__api_call__vs_base", 0.0)
    assert not reassuring("ev__api_call__trend30", -0.1)
    assert not reassuring("ev__api_call__n30", 0.0)  # a count alone says nothing either way
