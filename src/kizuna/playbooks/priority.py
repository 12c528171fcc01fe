"""What is at stake when a playbook asks a CSM to act: churn risk x ARR x urgency, and who gets a digest instead.

A generated task's ``stakes`` orders the waiting queue (the most at stake is released first) and the cockpit::

    stakes = risk x ARR x urgency
    risk    = the account's latest churn probability (risk snapshot), else DEFAULT_RISK
    ARR     = 12 x the MRR of its live subscription lines (minor units)
    urgency = PRIORITY_WEIGHT[task priority] x 14 / (14 + days until due)

so a task is worth the ARR it may save, weighted by how pressing the playbook says it is. Accounts in a
``DIGEST_TIERS`` touch tier (tech touch) are not worth a task each: their tasks go into one digest per CSM.
"""

from __future__ import annotations

from typing import Any

#: churn probability assumed where the risk model has not scored the account (no model yet, notice given, new)
DEFAULT_RISK = 0.1

#: how much more pressing a priority is than ``normal``
PRIORITY_WEIGHT = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 4.0}

#: days over which urgency halves: a task due in 14 days weighs half one due today
URGENCY_HALF_DAYS = 14

#: touch tiers whose tasks go into one digest per CSM instead of one task per account
DIGEST_TIERS = frozenset({"tech"})


#: the account attributes :func:`stakes_basis` reads
STAKES_ATTRIBUTES = frozenset({"risk.probability", "arr_minor"})


def stakes_basis(attributes: dict[str, Any]) -> dict[str, float]:
    """The account's part of the stakes (risk, ARR in minor units) from its condition attributes."""
    risk = attributes.get("risk.probability")
    return {
        "risk": float(risk) if risk is not None else DEFAULT_RISK,
        "arr_minor": float(attributes.get("arr_minor") or 0),
    }


def urgency(priority: str, due_in_days: int) -> float:
    """How pressing a task is: its priority's weight, halved every ``URGENCY_HALF_DAYS`` days of slack."""
    return PRIORITY_WEIGHT.get(priority, 1.0) * URGENCY_HALF_DAYS / (URGENCY_HALF_DAYS + max(due_in_days, 0))


def task_stakes(basis: dict[str, float], *, priority: str, due_in_days: int) -> float:
    """risk x ARR x urgency, rounded to whole minor units."""
    return round(basis["risk"] * basis["arr_minor"] * urgency(priority, due_in_days))


def in_digest(attributes: dict[str, Any]) -> bool:
    """Whether the account's tasks go into its CSM's digest (tech touch) instead of one task each."""
    return attributes.get("touch_tier") in DIGEST_TIERS
