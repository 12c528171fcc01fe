"""Reading cells: Japanese dates and money, Excel serials, time zones, formula-looking text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kizuna.imports.values import (
    CellError,
    check_text,
    employee_band,
    neutralize_formula,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
    parse_money,
    shown_value,
)

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05", dt.date(2026, 1, 5)),
        ("2026/01/05", dt.date(2026, 1, 5)),
        ("2026/1/5", dt.date(2026, 1, 5)),
        ("2026年1月5日", dt.date(2026, 1, 5)),
        ("２０２６年１月５日", dt.date(2026, 1, 5)),
        ("2026-01", dt.date(2026, 1, 1)),
        ("2026年3月", dt.date(2026, 3, 1)),
    ],
)
def test_dates_as_japanese_teams_write_them(text: object, expected: dt.date) -> None:
    assert parse_date(text, tz=TOKYO) == expected


def test_a_number_is_a_serial_date_only_in_an_excel_cell() -> None:
    assert parse_date(45662, tz=TOKYO, excel=True) == dt.date(2025, 1, 5)
    assert parse_datetime(45662.5, tz=TOKYO, excel=True) == dt.datetime(2025, 1, 5, 3, 0, tzinfo=dt.UTC)
    for number in ("2024", "45662", 2024, 45662.0):
        with pytest.raises(CellError, match="a number alone"):
            parse_date(number, tz=TOKYO)
        with pytest.raises(CellError, match="a number alone"):
            parse_datetime(number, tz=TOKYO)


@pytest.mark.parametrize("text", ["Infinity", "-inf", "NaN", "sNaN", "1e999999999", "1" * 25])
def test_numbers_past_every_column_are_refused_without_being_written_out(text: str) -> None:
    with pytest.raises(CellError):
        parse_int(text)
    with pytest.raises(CellError):
        parse_money(text, currency="JPY")


def test_text_no_database_stores_is_refused_and_shown_escaped() -> None:
    for text in ("a\x00b", "a\ud800b"):
        with pytest.raises(CellError):
            check_text(text)
    assert shown_value("a\x00b\ud800") == "a\\x00b\\ud800"
    assert shown_value("x" * 1000).endswith("… (1,000 characters)")


@pytest.mark.parametrize("text", ["2026-13-01", "2026/02/30", "昨日", "5 Jan", "0"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(CellError):
        parse_date(text, tz=TOKYO)


def test_naive_timestamps_are_read_in_the_business_time_zone_and_stored_utc() -> None:
    assert parse_datetime("2026-01-05 09:00", tz=TOKYO) == dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC)
    assert parse_datetime("2026年1月5日 9:30", tz=TOKYO) == dt.datetime(2026, 1, 5, 0, 30, tzinfo=dt.UTC)
    assert parse_datetime("2026-01-05T09:00:00Z", tz=TOKYO) == dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    assert parse_datetime("2026-01-05", tz=TOKYO) == dt.datetime(2026, 1, 4, 15, 0, tzinfo=dt.UTC)
    aware = parse_datetime("2026-01-05T09:00:00-05:00", tz=TOKYO)
    assert aware == dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC) and aware.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("¥1,234", "JPY", 1234),
        ("￥1,234", "JPY", 1234),
        ("1,234円", "JPY", 1234),
        ("１，２３４", "JPY", 1234),
        ("\\1,234", "JPY", 1234),  # Shift_JIS yen sign read as a backslash
        ("$12.50", "USD", 1250),
        ("USD 1,000.05", "USD", 100005),
        ("▲500円", "JPY", -500),
        (1500, "JPY", 1500),
        (12.5, "USD", 1250),
    ],
)
def test_money_becomes_integer_minor_units(text: object, currency: str, minor: int) -> None:
    assert parse_money(text, currency=currency) == minor


def test_money_with_more_decimals_than_the_currency_is_refused() -> None:
    with pytest.raises(CellError, match="decimals"):
        parse_money("1,234.5", currency="JPY")
    with pytest.raises(CellError):
        parse_money("たくさん", currency="JPY")


def test_integers_booleans_and_bands() -> None:
    assert parse_int("１，２００") == 1200
    assert parse_int("35人") == 35
    assert parse_int(10.0) == 10
    with pytest.raises(CellError):
        parse_int("1.5")
    assert parse_bool("はい") is True and parse_bool("FALSE") is False and parse_bool(1) is True
    with pytest.raises(CellError):
        parse_bool("maybe")
    assert [employee_band(n) for n in (1, 11, 120, 5001)] == ["1-10", "11-50", "51-200", "5001+"]


def test_formula_looking_text_is_neutralised_for_spreadsheets() -> None:
    assert neutralize_formula('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert neutralize_formula("+81 3 1234") == "'+81 3 1234"
    assert neutralize_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralize_formula("-5") == "'-5"
    assert neutralize_formula("株式会社") == "株式会社"


def test_google_forms_download_times_carry_their_offset() -> None:
    from kizuna.imports.values import CellError, parse_datetime

    utc = ZoneInfo("UTC")
    assert parse_datetime("2024/01/15 2:31:45 午後 GMT+9", tz=utc) == dt.datetime(2024, 1, 15, 5, 31, 45, tzinfo=dt.UTC)
    assert parse_datetime("2024/01/15 12:05:00 午前 GMT+9", tz=utc) == dt.datetime(2024, 1, 14, 15, 5, tzinfo=dt.UTC)
    assert parse_datetime("2024/01/15 12:05:00 PM GMT-5", tz=utc) == dt.datetime(2024, 1, 15, 17, 5, tzinfo=dt.UTC)
    assert parse_datetime("2024/01/15 9:00:00 AM GMT+5:30", tz=utc) == dt.datetime(2024, 1, 15, 3, 30, tzinfo=dt.UTC)
    with pytest.raises(CellError):
        parse_datetime("2024/01/15 13:00:00 PM GMT+9", tz=utc)
