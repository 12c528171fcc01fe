"""From a file's headers to kizuna's columns.

A header is matched, in this order, by: the user's YAML mapping file (or a ready mapping chosen by name,
``--mapping stripe``); kizuna's own column name; the headers of Salesforce and HubSpot exports (``mappings/*.yaml``,
English and Japanese UI labels, recognised without being chosen); the mapping's header patterns. Matching ignores
case, spaces, underscores and full-width/half-width differences (``都道府県（請求先）`` is ``都道府県(請求先)``).

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
    header_rows: 2                     # the header is two rows (SurveyMonkey: question, then its answer column)
    header_patterns:                   # a header that contains this (a regular expression, any case): the column
      "recommend|勧め|すすめ": score     # (questions whose text each form words its own way)
    external_id_from: [responded_at, contact_email]   # no id column: the row's id is made from these cells

Ready mappings (``NAMED_MAPPINGS``: Salesforce, HubSpot, Stripe, Zendesk, Intercom, Google Forms, SurveyMonkey) are
the same YAML, one section per entity, in ``mappings/<name>.yaml`` (docs/imports.md lists their columns).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kizuna.errors import ImportRejected

BUILTIN_MAPPINGS = ("salesforce", "hubspot", "analytics")  # recognised in every file, without being chosen
#: the ready mappings of the exports teams have, chosen by name (``--mapping stripe``, the upload form), in the order
#: the upload form offers them
NAMED_MAPPINGS = ("salesforce", "hubspot", "stripe", "zendesk", "intercom", "google_forms", "surveymonkey")
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
    header_rows: int = 1  # 2: the header is two rows, merged (see kizuna.imports.readers.merge_header_rows)
    header_patterns: dict[str, str] = field(default_factory=dict)  # regular expression -> column
    external_id_from: tuple[str, ...] = ()  # columns whose cells make a row's id when the file has none
    name: str = ""  # the ready mapping's name (``stripe``) or the mapping file's; prefixes ids made for rows

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str) -> MappingFile:
        mapping = cls()
        sections = (
            "defaults",
            "values",
            "date_formats",
            "timezone",
            "header_rows",
            "header_patterns",
            "external_id_from",
        )
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
        rows = data.get("header_rows", 1)
        if rows not in (1, 2):
            raise ImportRejected(f"{source}: header_rows is 1 or 2, not {rows!r}")
        mapping.header_rows = int(rows)
        for pattern, column in (data.get("header_patterns") or {}).items():
            try:
                re.compile(str(pattern))
            except re.error as exc:
                raise ImportRejected(
                    f"{source}: header pattern {pattern!r} is not a regular expression ({exc})"
                ) from None
            mapping.header_patterns[str(pattern)] = str(column)
        key_from = data.get("external_id_from") or ()
        if isinstance(key_from, str) or not all(isinstance(c, str) for c in key_from):
            raise ImportRejected(f"{source}: external_id_from is a list of kizuna columns")
        mapping.external_id_from = tuple(key_from)
        mapping.name = source.removesuffix(".yaml").removesuffix(".yml")
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


def _builtin_sections(name: str) -> dict[str, Any]:
    text = resources.files("kizuna.imports").joinpath(f"mappings/{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def named_mapping(name: str, entity: str) -> MappingFile:
    """The ready mapping ``name`` (one of ``NAMED_MAPPINGS``) for ``entity``; refused, naming the entities it maps,
    when it has none for ``entity``."""
    if name not in NAMED_MAPPINGS:
        raise ImportRejected(f"no ready mapping {name!r} (ready: {', '.join(NAMED_MAPPINGS)}; or a YAML file's path)")
    sections = _builtin_sections(name)
    if entity not in sections:
        raise ImportRejected(
            f"the {name} mapping has nothing for {entity}: it maps {', '.join(sections)}", mapping=name, entity=entity
        )
    mapping = MappingFile.from_dict(sections[entity], source=f"{name}.yaml")
    mapping.name = name
    return mapping


def mappings_for(entity: str) -> list[str]:
    """The ready mappings that have a section for ``entity``, in ``NAMED_MAPPINGS`` order."""
    return [name for name in NAMED_MAPPINGS if entity in _builtin_sections(name)]


def builtin_mapping(entity: str) -> MappingFile:
    """The Salesforce and HubSpot headers known for ``entity``, merged."""
    merged = MappingFile()
    for name in BUILTIN_MAPPINGS:
        section = _builtin_sections(name).get(entity)
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
    external_id_from: tuple[str, ...] = ()
    mapping_name: str = ""


def plan_columns(header: list[str], *, known: set[str], entity: str, mapping: MappingFile | None) -> ColumnPlan:
    """Match ``header`` to the ``known`` kizuna columns of ``entity``; the first header to claim a column wins."""
    user = mapping or MappingFile()
    targets = set(user.columns.values()) | set(user.header_patterns.values()) | set(user.external_id_from)
    unknown_targets = sorted(targets - known - {IGNORE})
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
    # Last, the headers that only a pattern recognises (a form's question, worded as its author chose).
    for pattern, column in user.header_patterns.items():
        if column in positions:
            continue
        for index, name in enumerate(header):
            if name and name not in claimed and re.search(pattern, unicodedata.normalize("NFKC", name), re.IGNORECASE):
                positions[column] = index
                recognised[name] = column
                claimed.add(name)
                break
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
        external_id_from=user.external_id_from,
        mapping_name=user.name,
    )
