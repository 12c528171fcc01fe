"""From a file's headers to kizuna's columns.

A header is matched, in this order, by: the user's YAML mapping file; kizuna's own column name; the headers of
Salesforce and HubSpot exports (``mappings/*.yaml``, English and Japanese UI labels). Matching ignores case, spaces,
underscores and full-width/half-width differences (``都道府県（請求先）`` is ``都道府県(請求先)``).

A mapping file::

    columns:
      顧客コード: external_id            # header: kizuna column
      ステータス:
        column: lifecycle_stage
        values: {導入中: onboarding, 活用中: adoption, "*": adoption}   # "*": anything else
      契約日:
        column: start_date
        date_format: "%Y.%m.%d"
    defaults:                          # values for columns the file does not have
      currency: JPY
    timezone: America/New_York         # naive timestamps of this file (default: the company's time zone)
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kizuna.errors import ImportRejected

BUILTIN_MAPPINGS = ("salesforce", "hubspot", "analytics")
IGNORE = ""  # the target of a header that is known and deliberately not imported (``Lifecycle Stage: null``)


def check_timezone(name: str, *, source: str) -> str:
    """``name`` if it is an IANA time zone (``Asia/Tokyo``, ``UTC``); else the import is refused, naming it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportRejected(
            f"{source}: unknown time zone {name!r} (an IANA name such as Asia/Tokyo, America/New_York or UTC)",
            timezone=name,
        ) from None
    return name


def header_key(header: str) -> str:
    """The form headers are compared in: NFKC, case-folded, without spaces and underscores."""
    text = unicodedata.normalize("NFKC", str(header)).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch != "_")


def value_key(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


@dataclass
class MappingFile:
    """A parsed mapping: header → column, value maps and date formats per column, defaults."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, object] = field(default_factory=dict)
    timezone: str | None = None  # the zone naive timestamps of the file are read in (None: the company's)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str) -> MappingFile:
        mapping = cls()
        sections = ("defaults", "values", "date_formats", "timezone")
        columns = data.get("columns", data if not any(k in data for k in sections) else {})
        if not isinstance(columns, dict):
            raise ImportRejected(f"{source}: 'columns' must map headers to kizuna columns")
        for header, target in columns.items():
            if target is None or target == "":
                mapping.columns[str(header)] = IGNORE  # a header known not to be imported
            elif isinstance(target, str):
                mapping.columns[str(header)] = target
            elif isinstance(target, dict) and isinstance(target.get("column"), str):
                column = target["column"]
                mapping.columns[str(header)] = column
                if isinstance(target.get("values"), dict):
                    mapping.values.setdefault(column, {}).update(
                        {value_key(k): str(v) for k, v in target["values"].items()}
                    )
                if target.get("date_format"):
                    mapping.date_formats[column] = str(target["date_format"])
            else:
                raise ImportRejected(f"{source}: the mapping of {header!r} must be a column name or {{column: ...}}")
        for column, values in (data.get("values") or {}).items():
            mapping.values.setdefault(str(column), {}).update({value_key(k): str(v) for k, v in values.items()})
        for column, fmt in (data.get("date_formats") or {}).items():
            mapping.date_formats[str(column)] = str(fmt)
        mapping.defaults.update(data.get("defaults") or {})
        if data.get("timezone") is not None:
            mapping.timezone = check_timezone(str(data["timezone"]), source=f"{source}: timezone")
        return mapping

    @classmethod
    def load(cls, path: Path) -> MappingFile:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ImportRejected(f"{path}: no such mapping file") from None
        except yaml.YAMLError as exc:
            raise ImportRejected(f"{path.name}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ImportRejected(f"{path.name}: a mapping file is a YAML mapping of headers to columns")
        return cls.from_dict(data, source=path.name)


def builtin_mapping(entity: str) -> MappingFile:
    """The Salesforce and HubSpot headers known for ``entity``, merged."""
    merged = MappingFile()
    for name in BUILTIN_MAPPINGS:
        text = resources.files("kizuna.imports").joinpath(f"mappings/{name}.yaml").read_text(encoding="utf-8")
        section = (yaml.safe_load(text) or {}).get(entity)
        if section:
            part = MappingFile.from_dict(section, source=f"{name}.yaml")
            merged.columns.update(part.columns)
            for column, values in part.values.items():
                merged.values.setdefault(column, {}).update(values)
    return merged


@dataclass
class ColumnPlan:
    """Where each kizuna column comes from in one file."""

    positions: dict[str, int]  # kizuna column -> index in the row
    recognised: dict[str, str]  # file header -> kizuna column
    ignored: list[str]
    values: dict[str, dict[str, str]]
    date_formats: dict[str, str]
    defaults: dict[str, object]


def plan_columns(header: list[str], *, known: set[str], entity: str, mapping: MappingFile | None) -> ColumnPlan:
    """Match ``header`` to the ``known`` kizuna columns of ``entity``; the first header to claim a column wins."""
    user = mapping or MappingFile()
    unknown_targets = sorted(set(user.columns.values()) - known - {IGNORE})
    if unknown_targets:
        raise ImportRejected(
            f"the mapping names columns {entity} does not have: {', '.join(unknown_targets)} "
            f"(known: {', '.join(sorted(known))})"
        )
    builtin = builtin_mapping(entity)
    user_keys = {header_key(h): c for h, c in user.columns.items()}
    own_exact = {c: c for c in known}
    builtin_keys = {header_key(h): c for h, c in builtin.columns.items() if c in known or c == IGNORE}
    own_keys = {header_key(c): c for c in known}
    positions: dict[str, int] = {}
    recognised: dict[str, str] = {}
    claimed: set[str] = set()
    # The user's mapping, then kizuna's own names as written, then export headers, then kizuna's names loosely.
    for tier, exact in ((user_keys, False), (own_exact, True), (builtin_keys, False), (own_keys, False)):
        for index, name in enumerate(header):
            if name in claimed or not name:
                continue
            column = tier.get(name.strip() if exact else header_key(name))
            if column == IGNORE:
                claimed.add(name)
            elif column is not None and column not in positions:
                positions[column] = index
                recognised[name] = column
                claimed.add(name)
    ignored = [name for name in header if name and name not in recognised]
    values = {column: dict(v) for column, v in builtin.values.items()}
    for column, v in user.values.items():
        values.setdefault(column, {}).update(v)
    return ColumnPlan(
        positions=positions,
        recognised=recognised,
        ignored=ignored,
        values=values,
        date_formats=dict(user.date_formats),
        defaults=dict(user.defaults),
    )
