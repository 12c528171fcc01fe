"""Segments in words: a definition as sentences a person reads (the field's label, the comparison, the value), in
the page's language, and the attributes and comparisons the segment form offers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kizuna.segments.schemas import OPERATORS, SegmentDefinition

#: the attributes the segment form offers (any attribute of :mod:`kizuna.segments.attributes` is valid in the API)
FORM_FIELDS = (
    "touch_tier",
    "lifecycle_stage",
    "industry",
    "region",
    "employee_band",
    "plan",
    "mrr_minor",
    "arr_minor",
    "seats",
    "owner_name",
    "segment",
    "health.score",
    "risk.probability",
    "metrics.seat_utilisation",
    "metrics.usage_trend",
    "rfm.segment",
    "rfm.r_score",
    "rfm.f_score",
)
#: attributes whose values are keys with labels of their own
VALUE_LABELS = {"touch_tier": "tier.", "tier": "tier.", "lifecycle_stage": "stage.", "rfm.segment": "segments.rfm."}


@dataclass(frozen=True)
class RuleWords:
    """One condition: the attribute's label (None when it has none: the page shows the attribute's name as code),
    the attribute's name, and the comparison with its value in words."""

    label: str | None
    field: str
    text: str


def rfm_key(name: str) -> str:
    """The catalogue key of an RFM segment's name (``loyal customers`` -> ``segments.rfm.loyal_customers``)."""
    return "segments.rfm." + name.replace(" ", "_")


def _value(field: str, value: Any, t: Callable[..., str], catalogue: dict[str, str]) -> str:
    if isinstance(value, list):
        return t("segments.list_sep").join(_value(field, v, t, catalogue) for v in value)
    if isinstance(value, bool):
        return t("segments.values.true" if value else "segments.values.false")
    prefix = VALUE_LABELS.get(field)
    if prefix is not None and isinstance(value, str):
        key = rfm_key(value) if prefix == "segments.rfm." else prefix + value
        if key in catalogue:
            return t(key)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    if isinstance(value, int | float):
        return f"{int(value):,}"
    return str(value)


def rule_words(definition: dict[str, Any], t: Callable[..., str], catalogue: dict[str, str]) -> list[RuleWords]:
    """Each condition of a rule segment in words (empty for an RFM segment)."""
    parsed = SegmentDefinition.model_validate(definition)
    out = []
    for condition in parsed.rules:
        op, value = condition.operator
        label_key = f"segments.field.{condition.field}"
        if op == "exists":
            text = t(f"segments.op.exists.{'true' if value else 'false'}")
        else:
            text = t(f"segments.op.{op}", value=_value(condition.field, value, t, catalogue))
        out.append(RuleWords(t(label_key) if label_key in catalogue else None, condition.field, text))
    return out


def rfm_cells(name: str) -> list[tuple[int, int]]:
    """The (R, F) score pairs that make an RFM segment."""
    from kizuna.analytics.ltv import RFM_SEGMENTS

    return list(RFM_SEGMENTS.get(name, ()))


def rfm_order(name: str | None) -> int:
    """Where an RFM segment comes in the analysis' own order (champions first, lost last)."""
    from kizuna.analytics.ltv import RFM_SEGMENTS

    names = list(RFM_SEGMENTS)
    return names.index(name) if name in names else len(names)


def parse_value(op: str, text: str) -> Any:
    """A value typed into the segment form: a list for ``in`` / ``not_in`` (comma-separated), yes/no for
    ``exists``, a number for the comparisons of numbers, else the text."""
    text = text.strip()
    if op in ("in", "not_in"):
        return [_scalar(v) for v in text.replace("、", ",").split(",") if v.strip()]
    if op == "exists":
        return text.lower() not in ("", "no", "false", "0", "いいえ")
    if op in ("gt", "gte", "lt", "lte"):
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return text  # refused by the definition's validation, with the field named
    return _scalar(text)


def _scalar(text: str) -> Any:
    text = text.strip()
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def value_choices(field: str, t: Callable[..., str]) -> list[tuple[str, str]]:
    """(stored value, label) of an attribute whose values are keys with labels (tiers, stages, RFM names)."""
    from kizuna.accounts.models import LifecycleStage
    from kizuna.analytics.ltv import RFM_SEGMENTS

    if field in ("touch_tier", "tier"):
        return [(v, t(f"tier.{v}")) for v in ("high", "low", "tech")]
    if field == "lifecycle_stage":
        return [(str(v.value), t(f"stage.{v.value}")) for v in LifecycleStage]
    if field == "rfm.segment":
        return [(name, t(rfm_key(name))) for name in RFM_SEGMENTS]
    return []


def _stored(field: str, value: Any, catalogues: list[dict[str, str]]) -> Any:
    """A label typed or picked for an attribute with labelled values (ハイタッチ, High touch) as the stored value."""
    if not isinstance(value, str):
        return value
    for lang_catalogue in catalogues:
        t = lang_catalogue.get
        for stored, label in value_choices(field, lambda key, t=t: t(key, key)):
            if value.strip().casefold() in (label.casefold(), stored.casefold()):
                return stored
    return value


def definition_from_form(
    match: str,
    fields: list[str],
    operators: list[str],
    values: list[str],
    catalogues: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A rule definition from the form's rows (rows without an attribute are skipped); a value of a labelled
    attribute may be typed as its label in either language (``catalogues``)."""
    rules = []
    for field, op, value in zip(fields, operators, values, strict=False):
        if not field.strip():
            continue
        op = op if op in OPERATORS else "eq"
        parsed = parse_value(op, value)
        if catalogues and field.strip() in VALUE_LABELS:
            parsed = (
                [_stored(field.strip(), v, catalogues) for v in parsed]
                if isinstance(parsed, list)
                else _stored(field.strip(), parsed, catalogues)
            )
        rules.append({"field": field.strip(), op: parsed})
    return {"match": match if match in ("all", "any") else "all", "rules": rules}


def rfm_reason_words(reason: str | None, t: Callable[..., str]) -> str:
    """Why an account is in an RFM segment (``rfm 325 about to sleep``) as its scores: R3・F2・M5."""
    parts = (reason or "").split()
    cell = parts[1] if len(parts) > 1 and parts[0] == "rfm" else ""
    digits = [c for c in cell if c.isdigit()]
    if len(digits) >= 3:
        return t("segments.rfm.scores", r=digits[0], f=digits[1], m=digits[2])
    if len(digits) == 2:
        return t("segments.rfm.cell", r=digits[0], f=digits[1])
    return ""


def rule_reason_words(reason: str | None, t: Callable[..., str], catalogue: dict[str, str]) -> str | None:
    """Why an account is in a rule segment (``touch_tier='high'; arr_minor=3270000``, the values it had when it
    joined) as ``タッチ区分: ハイタッチ · ARR (円): 3,270,000``; None when the reason is not in that form."""
    import ast

    parts = []
    for item in (reason or "").split("; "):
        field, sep, shown = item.partition("=")
        if not sep:
            return None
        try:
            value = ast.literal_eval(shown)
        except (ValueError, SyntaxError):
            value = shown
        label_key = f"segments.field.{field}"
        if label_key not in catalogue:
            return None
        parts.append(f"{t(label_key)}: {_value(field, value, t, catalogue)}")
    return " · ".join(parts) if parts else None
