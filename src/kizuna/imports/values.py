"""Reading one cell as a kizuna value: text, integers, money, dates, timestamps, booleans.

Each parser takes the raw cell (``str`` from CSV; ``int``/``float``/``datetime``/``bool`` from Excel, Parquet, JSON) and
returns the value or raises :class:`CellError` with the reason a person can act on. Japanese spellings are first-class:
full-width digits, ``¥1,234`` and ``1,234円``, ``2026/1/5`` and ``2026年1月5日``, Excel serial dates.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from kizuna.analytics.money import minor_unit_exponent


class CellError(ValueError):
    """A cell that cannot be read as the column's type; the message is the reason written to the rejects file."""


class OutOfRange(CellError):
    """A number past what any column holds; the importer restates it with the column's own range."""


#: the whole numbers an integer column holds, by its SQL type (the same bounds on SQLite and PostgreSQL: SQLite would
#: store 3,000,000,000 in an INTEGER that PostgreSQL refuses, so the importer holds both to PostgreSQL's range)
INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
#: digits of a number past every integer column (2**63 has 19): longer ones are refused before being written out, so
#: that a cell such as 1e999999999 never becomes a billion-digit integer
_MAX_DIGITS = 20


def out_of_range(column: str, bounds: tuple[int, int]) -> CellError:
    """The reason a number does not fit ``column``, the same on every database."""
    lo, hi = bounds
    return CellError(f"out of range: {column} holds whole numbers from {lo:,} to {hi:,}")


def check_text(value: str) -> None:
    """Refuse text no database column can store: a NUL character (PostgreSQL refuses it, SQLite would keep it) or a
    lone surrogate (``\\ud800`` from JSON, which is not Unicode text and cannot be written as UTF-8)."""
    if "\x00" in value:
        raise CellError("contains a NUL character (\\x00), which no text column stores")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CellError("not valid Unicode text (a lone surrogate such as \\ud800)") from None


#: characters of a value written to the rejects file and shown on pages; longer values are cut, saying their length
SHOWN_VALUE_CHARS = 200


def shown_value(value: str) -> str:
    """``value`` as a rejects file and a page can show it: NUL and lone surrogates escaped, long text cut."""
    text = value.replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > SHOWN_VALUE_CHARS:
        text = f"{text[:SHOWN_VALUE_CHARS]}… ({len(value):,} characters)"
    return text


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's 1900 date system, with its 1900-02-29 bug folded in
_EXCEL_SERIAL_MAX = 2_958_465  # 9999-12-31


def normalize_text(value: str) -> str:
    """NFKC (full-width digits and letters to ASCII, half-width kana to full-width) and trimmed."""
    return unicodedata.normalize("NFKC", value).strip()


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from Parquet/pandas
        return True
    return isinstance(value, str) and value.strip() == ""


def looks_like_formula(value: object) -> bool:
    """Text a spreadsheet would run as a formula if opened there (``=HYPERLINK(...)``, ``+1``, ``@SUM``)."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralize_formula(value: str) -> str:
    """Prefix a formula-looking text with ``'`` so that Excel shows it as text instead of running it."""
    return "'" + value if looks_like_formula(value) else value


def _refuse_formula(value: object) -> None:
    if isinstance(value, str) and value.lstrip().startswith("="):
        raise CellError("a spreadsheet formula, not a value (kizuna never evaluates formulas: paste as values)")


def parse_text(value: object, *, max_length: int | None = None) -> str:
    """Text as given (formula-looking text included: it is stored as plain text and never evaluated)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if not isinstance(value, str) else value.strip()
    if max_length is not None and len(text) > max_length:
        raise CellError(f"too long: {len(text)} characters, at most {max_length}")
    return text


def parse_int(value: object) -> int:
    _refuse_formula(value)
    if isinstance(value, bool):
        raise CellError("not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"not a whole number: {value}")
        return int(value)
    text = normalize_text(str(value)).replace(",", "").replace("_", "")
    text = text.removesuffix("人").removesuffix("名").removesuffix("件").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError("not a whole number") from None
    if not number.is_finite():  # Infinity, NaN, sNaN
        raise CellError("not a whole number")
    if number and number.adjusted() >= _MAX_DIGITS:
        raise OutOfRange("out of range")
    if number != number.to_integral_value():
        raise CellError("not a whole number")
    return int(number)


def parse_number(value: object) -> float:
    """A decimal number (an exchange rate): ``"149.5"``, ``"1,234.5"``, ``"１４９．５"``; not a blank, not infinite."""
    _refuse_formula(value)
    if isinstance(value, bool):
        raise CellError("not a number")
    if isinstance(value, (int, float)):
        number = Decimal(repr(value))
    else:
        text = normalize_text(str(value)).replace(",", "").replace("_", "").strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError("not a number") from None
    if not number.is_finite():
        raise CellError("not a number")
    return float(number)


_MONEY_NOISE = re.compile(r"^(?:[A-Z]{3}\s*)|(?:\s*[A-Z]{3})$")


def parse_money(value: object, *, currency: str) -> int:
    """An amount in ``currency`` as integer minor units: ``"¥1,234"``, ``"1,234円"``, ``"１，２３４"``, ``"$12.50"``."""
    _refuse_formula(value)
    exponent = minor_unit_exponent(currency)
    if isinstance(value, bool):
        raise CellError("not an amount of money")
    if isinstance(value, int):
        return int(value * 10**exponent)
    negative = False
    if isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = normalize_text(str(value))
        negative = text.startswith(("-", "▲", "△")) or (text.startswith("(") and text.endswith(")"))
        text = text.strip("()").lstrip("-▲△")
        text = _MONEY_NOISE.sub("", text.upper()).strip()
        for symbol in ("¥", "￥", "\\", "$", "€", "£", "円", "JPY", ","):
            text = text.replace(symbol, "")
        text = text.strip()
        if text.startswith("-"):
            negative, text = True, text[1:]
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError("not an amount of money") from None
    if not number.is_finite():  # Infinity, NaN, sNaN
        raise CellError("not an amount of money")
    if number and number.adjusted() + exponent >= _MAX_DIGITS:
        raise OutOfRange("out of range")
    if negative:
        number = -number
    minor = number.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise CellError(f"more decimals than {currency} has ({exponent})")
    return int(minor)


def parse_minor_units(value: object, *, currency: str) -> int:
    """A ``*_minor`` cell: a whole number of ``currency``'s minor units (cents for USD, yen for JPY): ``1250``,
    ``1,250``, ``¥50,000``. A fraction is refused: it is an amount, which goes in the column without ``_minor``."""
    exponent = minor_unit_exponent(currency)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        minor = parse_money(value, currency="JPY")  # the number as written, no decimal allowed
    except CellError as exc:
        if "more decimals" not in str(exc):
            raise
        unit = "cents" if exponent == 2 else "minor units"
        raise CellError(
            f"minor units ({unit} of {currency}) are whole numbers: an amount such as this belongs in the column "
            "without _minor (mrr, list_price, amount)"
        ) from None
    return minor


_TRUE = {"true", "t", "yes", "y", "1", "はい", "○", "〇", "有", "有効", "済", "on", "✓"}
_FALSE = {"false", "f", "no", "n", "0", "いいえ", "×", "無", "無効", "未", "off", "-"}


def parse_bool(value: object) -> bool:
    _refuse_formula(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = normalize_text(str(value)).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("not yes/no (use true/false, 1/0, はい/いいえ)")


_SLASH_DATE = re.compile(
    r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$"
)
_KANJI_DATE = re.compile(
    r"^(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日(?:\s*(?:\([^)]*\))?\s*(\d{1,2})[:時](\d{2})(?:[:分](\d{2})秒?)?分?)?$"
)
# Google Forms' "Download responses (.csv)": "2024/01/15 2:31:45 PM GMT+9" (English), "2024/01/15 2:31:45 午後 GMT+9"
# (Japanese): a 12-hour clock and the form's UTC offset
_FORMS_STAMP = re.compile(
    r"^(\d{4})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s*(AM|PM|午前|午後)\s*(?:GMT|UTC)([+-]\d{1,2})(?::?(\d{2}))?$",
    re.IGNORECASE,
)
_YEAR_MONTH = re.compile(r"^(\d{4})(?:[/\-.]|年)\s*(\d{1,2})月?$")


#: why a number alone is refused as a date where only an Excel cell may be a serial date
NUMBER_NOT_A_DATE = (
    "not a date: a number alone (write the whole date, such as 2024-01-05; a number such as 45658 is an Excel serial "
    "date: format the column as a date in Excel before saving it as CSV)"
)
#: why a date and time outside what UTC can write (years 1 to 9999) is refused
DATE_OUT_OF_RANGE = "out of range: a date and time before the year 1 or after the year 9999 in UTC"


def _excel_serial(number: float) -> dt.datetime:
    if not 1 <= number <= _EXCEL_SERIAL_MAX:
        raise CellError("not a date")
    days = int(number)
    seconds = round((number - days) * 86400)
    return dt.datetime.combine(_EXCEL_EPOCH + dt.timedelta(days=days), dt.time()) + dt.timedelta(seconds=seconds)


def _parse_datetime_text(text: str, date_format: str | None) -> dt.datetime:
    """A naive or aware ``datetime`` from text (dates give midnight)."""
    text = normalize_text(text)
    if date_format:
        try:
            return dt.datetime.strptime(text, date_format)
        except ValueError:
            raise CellError(f"not a date in the format {date_format}") from None
    try:
        parsed = dt.datetime.fromisoformat(text)
        return parsed
    except ValueError:
        pass
    stamp = _FORMS_STAMP.match(text)
    if stamp:
        year, mon, mday, hour, minute, second = (int(g) for g in stamp.groups()[:6])
        if not 1 <= hour <= 12:
            raise CellError(f"not a date: hour {hour} on a 12-hour clock")
        hour = hour % 12 + (12 if stamp.group(7).upper() in ("PM", "午後") else 0)
        sign = -1 if stamp.group(8).startswith("-") else 1
        offset = dt.timedelta(hours=abs(int(stamp.group(8))), minutes=int(stamp.group(9) or 0)) * sign
        try:
            return dt.datetime(year, mon, mday, hour, minute, second, tzinfo=dt.timezone(offset))
        except ValueError as exc:
            raise CellError(f"not a date: {exc}") from None
    for pattern in (_SLASH_DATE, _KANJI_DATE):
        match = pattern.match(text)
        if match:
            parts = [int(p) if p else 0 for p in match.groups()]
            if len(parts) == 7 and match.group(7):
                parts[6] = int(match.group(7).ljust(6, "0"))
            try:
                return dt.datetime(*parts)  # type: ignore[arg-type]
            except ValueError as exc:
                raise CellError(f"not a date: {exc}") from None
    month = _YEAR_MONTH.match(text)
    if month:
        try:
            return dt.datetime(int(month.group(1)), int(month.group(2)), 1)
        except ValueError as exc:
            raise CellError(f"not a date: {exc}") from None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        # 2024 is not 1905-07-16: a number read from text is never taken for an Excel serial date (only a number cell
        # of an Excel workbook is one)
        raise CellError(NUMBER_NOT_A_DATE)
    raise CellError("not a date (use 2026-01-05, 2026/01/05 or 2026年1月5日)")


def parse_datetime(value: object, *, tz: ZoneInfo, date_format: str | None = None, excel: bool = False) -> dt.datetime:
    """A timezone-aware UTC ``datetime``. Naive values are read in the business time zone ``tz``.

    A number is an Excel serial date only when ``excel`` (the cell is a number cell of an Excel workbook); elsewhere
    (CSV text, JSON or Parquet numbers) it is refused rather than guessed."""
    _refuse_formula(value)
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    elif isinstance(value, bool):
        raise CellError("not a date")
    elif isinstance(value, (int, float)):
        if not excel:
            raise CellError(NUMBER_NOT_A_DATE)
        parsed = _excel_serial(float(value))
    else:
        parsed = _parse_datetime_text(str(value), date_format)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 00:00 in Tokyo is in the year 0 in UTC
        raise CellError(DATE_OUT_OF_RANGE) from None


def parse_date(value: object, *, tz: ZoneInfo, date_format: str | None = None, excel: bool = False) -> dt.date:
    """A calendar date. An aware timestamp is turned into the business time zone's date first. A number is an Excel
    serial date only when ``excel`` (see :func:`parse_datetime`)."""
    _refuse_formula(value)
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        return value
    elif isinstance(value, bool):
        raise CellError("not a date")
    elif isinstance(value, (int, float)):
        if not excel:
            raise CellError(NUMBER_NOT_A_DATE)
        return _excel_serial(float(value)).date()
    else:
        parsed = _parse_datetime_text(str(value), date_format)
    try:
        return parsed.astimezone(tz).date() if parsed.tzinfo else parsed.date()
    except OverflowError:
        raise CellError(DATE_OUT_OF_RANGE) from None


EMPLOYEE_BANDS = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (500, "201-500"),
    (1000, "501-1000"),
    (5000, "1001-5000"),
)


def employee_band(count: int) -> str:
    """The band of an employee count, as kizuna stores it (``"51-200"``)."""
    if count < 0:
        raise CellError("must not be negative")
    for upper, band in EMPLOYEE_BANDS:
        if count <= upper:
            return band
    return "5001+"
