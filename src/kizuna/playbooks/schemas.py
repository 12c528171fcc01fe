"""The playbook YAML schema (pydantic), and loading YAML with errors that name the line and the field.

::

    key: renewal-90                      # stable id: lowercase letters, digits, '-'
    name: {ja: 契約更新90日前, en: Renewal in 90 days}
    enabled: false
    trigger: {type: renewal_due, days: [120, 90, 60, 30]}
    conditions:                          # all must hold; fields are account attributes (see conditions.py)
      - {field: touch_tier, in: [high, low]}
      - {field: mrr_minor, gte: 100000}
    actions:
      - {type: create_task, title: {ja: "更新準備: {{ account.name }}", en: "Prepare renewal"}, priority: high,
         due_in_days: 7}
      - {type: send_email, template: renewal_reminder, to: champions}
"""

from __future__ import annotations

from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kizuna.errors import InvalidInput
from kizuna.segments.schemas import Condition

Text = str | dict[Literal["ja", "en"], str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- triggers ----------------------------------------------------------------------------------------------------


class _EventTrigger(_Strict):
    within_days: int = Field(default=7, ge=1, le=3650, description="Only events this recent (days) fire.")


class HealthRed(_Strict):
    type: Literal["health_red"]
    scorecard: str = "overall"


class HealthDrop(_Strict):
    type: Literal["health_drop"]
    points: float = Field(gt=0)
    days: int = Field(default=30, ge=1)
    scorecard: str = "overall"


class ChurnRisk(_Strict):
    type: Literal["churn_risk"]
    threshold: float = Field(gt=0, le=1)


class UsageDrop(_Strict):
    type: Literal["usage_drop"]
    percent: float = Field(gt=0, le=100)
    days: int = Field(default=28, ge=1)
    metric: str = "usage_trend"


class ChampionLeft(_EventTrigger):
    type: Literal["champion_left"]


class NpsDetractor(_EventTrigger):
    type: Literal["nps_detractor"]
    max_score: int = Field(default=6, ge=0, le=10)


class LowCsat(_EventTrigger):
    type: Literal["low_csat"]
    max_score: int = Field(default=2, ge=1, le=5)


class TicketEscalated(_EventTrigger):
    type: Literal["ticket_escalated"]


class TooManyTickets(_Strict):
    type: Literal["too_many_tickets"]
    count: int = Field(ge=1)
    days: int = Field(default=30, ge=1)


class PaymentFailed(_EventTrigger):
    type: Literal["payment_failed"]


class MilestoneOverdue(_Strict):
    type: Literal["milestone_overdue"]
    grace_days: int = Field(default=0, ge=0)
    milestones: list[str] | None = None


class SeatUtilisation(_Strict):
    type: Literal["seat_utilisation"]
    at_least: float = Field(default=0.9, gt=0)


class RenewalDue(_Strict):
    type: Literal["renewal_due"]
    days: list[int] = Field(default_factory=lambda: [120, 90, 60, 30], min_length=1)
    min_term_months: int = Field(
        default=12, ge=1, description="Only contracts with at least this term (monthly ones renew by themselves)."
    )

    @field_validator("days")
    @classmethod
    def _positive_sorted(cls, v: list[int]) -> list[int]:
        if any(d <= 0 for d in v):
            raise ValueError("renewal windows are positive numbers of days")
        return sorted(set(v))


class SilentCustomer(_Strict):
    type: Literal["silent_customer"]
    days: int = Field(default=60, ge=1)
    max_usage: float | None = Field(default=None, description="Also require this usage metric at or below this.")
    metric: str = "active_users_30d"


class AccountCreated(_EventTrigger):
    type: Literal["account_created"]


class LifecycleChanged(_EventTrigger):
    type: Literal["lifecycle_changed"]
    to: list[str] | None = None
    from_: list[str] | None = Field(default=None, alias="from")


Trigger = Annotated[
    HealthRed
    | HealthDrop
    | ChurnRisk
    | UsageDrop
    | ChampionLeft
    | NpsDetractor
    | LowCsat
    | TicketEscalated
    | TooManyTickets
    | PaymentFailed
    | MilestoneOverdue
    | SeatUtilisation
    | RenewalDue
    | SilentCustomer
    | AccountCreated
    | LifecycleChanged,
    Field(discriminator="type"),
]

TRIGGER_TYPES = [
    "health_red",
    "health_drop",
    "churn_risk",
    "usage_drop",
    "champion_left",
    "nps_detractor",
    "low_csat",
    "ticket_escalated",
    "too_many_tickets",
    "payment_failed",
    "milestone_overdue",
    "seat_utilisation",
    "renewal_due",
    "silent_customer",
    "account_created",
    "lifecycle_changed",
]

# --- actions -----------------------------------------------------------------------------------------------------


class CreateTask(_Strict):
    type: Literal["create_task"]
    title: Text
    reason: Text | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    due_in_days: int = Field(default=3, ge=0)
    assignee: str = Field(default="owner", description="'owner' (the account's CSM) or a team member's email")


class SendEmail(_Strict):
    type: Literal["send_email"]
    template: str
    to: Literal["champions", "admins", "decision_makers", "all_contacts", "respondent", "owner"] = "champions"


class Webhook(_Strict):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    format: Literal["slack", "json"] = "json"
    text: Text | None = None


class SlackMessage(_Strict):
    """A Block Kit message about the account's task (created here, de-duplicated like ``create_task``), to a channel
    and/or the account owner's DM, with buttons that snooze, complete or assign the task."""

    type: Literal["slack"]
    channel: str | None = Field(default=None, max_length=200, description="A channel id (C…) or name.")
    dm_owner: bool = False
    title: Text | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    due_in_days: int = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _somewhere(self) -> SlackMessage:
        if not self.channel and not self.dm_owner:
            raise ValueError("a slack action needs a channel, dm_owner: true, or both")
        return self


class TeamsMessage(_Strict):
    """An Adaptive Card about the account's task (created here, de-duplicated like ``create_task``) to a Microsoft
    Teams channel's webhook, with buttons that open signed kizuna links to snooze or complete the task."""

    type: Literal["teams"]
    webhook: str = Field(
        default="default", max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="`kizuna connect teams --name`."
    )
    title: Text | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    due_in_days: int = Field(default=3, ge=0)


class SetLifecycleStage(_Strict):
    type: Literal["set_lifecycle_stage"]
    stage: Literal["onboarding", "adoption", "expansion", "renewal", "at_risk", "churned"]


class OpenOpportunity(_Strict):
    type: Literal["open_opportunity"]
    kind: Literal["renewal", "upsell", "cross_sell"]
    name: Text | None = None
    close_in_days: int = Field(default=30, ge=0)
    amount_percent_of_mrr: float = Field(default=100.0, ge=0, description="Expected MRR as % of the current MRR.")


SimpleAction = Annotated[
    CreateTask | SendEmail | Webhook | SlackMessage | TeamsMessage | SetLifecycleStage | OpenOpportunity,
    Field(discriminator="type"),
]


class SequenceStep(_Strict):
    wait_days: float = Field(default=0, ge=0, description="Days after the previous step (the first: after firing).")
    action: SimpleAction


class StartSequence(_Strict):
    type: Literal["start_sequence"]
    name: str
    steps: list[SequenceStep] = Field(min_length=1)


Action = Annotated[
    CreateTask
    | SendEmail
    | Webhook
    | SlackMessage
    | TeamsMessage
    | SetLifecycleStage
    | OpenOpportunity
    | StartSequence,
    Field(discriminator="type"),
]


class PlaybookDefinition(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,98}$")
    name: Text
    description: Text | None = None
    enabled: bool = False
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)

    def title(self, language: str = "ja") -> str:
        return localised(self.name, language)


def localised(text: Text | None, language: str) -> str:
    """Pick the language's text from ``{ja: ..., en: ...}`` (falling back to the other one) or a plain string."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(language) or text.get("ja") or text.get("en") or ""  # type: ignore[call-overload]


# --- YAML with line numbers --------------------------------------------------------------------------------------


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            key = "in" if part == "in_" else part
            for k, v in node.value:
                if k.value == key:
                    node, line = v, k.start_mark.line + 1
                    break
            # else: a union tag (e.g. 'create_task') in the location; it does not move in the YAML tree
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def parse_playbook_yaml(text: str, *, source: str = "<yaml>") -> PlaybookDefinition:
    """Parse and validate one playbook; errors name the file, the line and the field."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InvalidInput(f"{source}:{line}: not valid YAML: {exc}", file=source, row=line) from exc
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{source}: a playbook is a YAML mapping (key, name, trigger, conditions, actions)", file=source
        )
    try:
        return PlaybookDefinition.model_validate(data)
    except ValidationError as exc:
        problems = []
        first_line = None
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(root, loc)
            first_line = first_line or line
            field = ".".join(str(p) for p in loc)
            problems.append(f"{source}:{line}: {field or '(top)'}: {err['msg']}")
        raise InvalidInput("invalid playbook\n" + "\n".join(problems), file=source, row=first_line) from exc
