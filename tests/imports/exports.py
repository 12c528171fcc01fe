"""Files written as each product's export writes them (their exact headers and quirks), for the ready-mapping tests.

Every writer takes plain Python rows and returns the file's path; the tests compute the expected KPIs from the same
rows with pandas, independently of kizuna.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


def stripe_time(day: dt.date | dt.datetime | None) -> str:
    """Stripe's Dashboard CSV time: ``2024-01-15 09:30:00`` in UTC."""
    if day is None:
        return ""
    at = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time(9, 30))
    return at.strftime("%Y-%m-%d %H:%M:%S")


STRIPE_PRODUCTS = ["id", "Name", "Description", "Active", "Created (UTC)"]
STRIPE_PRICES = [
    "Price ID",
    "Product ID",
    "Product Name",
    "Product Statement Descriptor",
    "Product Tax Code",
    "Description",
    "Created (UTC)",
    "Amount",
    "Currency",
    "Interval",
    "Interval Count",
    "Usage Type",
    "Aggregate Usage",
    "Billing Scheme",
    "Trial Period Days",
    "Tax Behavior",
]
STRIPE_CUSTOMERS = [
    "id",
    "Description",
    "Email",
    "Name",
    "Created (UTC)",
    "Card ID",
    "Currency",
    "Delinquent",
    "Plan",
    "Status",
    "Cancel At Period End",
    "Total Spend",
    "Payment Count",
    "Refunded Volume",
    "Dispute Losses",
]
STRIPE_SUBSCRIPTIONS = [
    "id",
    "Customer ID",
    "Customer Description",
    "Customer Email",
    "Plan",
    "Product",
    "Quantity",
    "Currency",
    "Interval",
    "Amount",
    "Status",
    "Created (UTC)",
    "Start (UTC)",
    "Current Period Start (UTC)",
    "Current Period End (UTC)",
    "Trial Start (UTC)",
    "Trial End (UTC)",
    "Application Fee Percent",
    "Coupon",
    "Tax Percent",
    "Canceled At (UTC)",
    "Cancel At Period End",
    "Ended At (UTC)",
]
STRIPE_INVOICES = [
    "id",
    "Amount Due",
    "Amount Paid",
    "Amount Remaining",
    "Attempt Count",
    "Attempted",
    "Auto Advance",
    "Billing Reason",
    "Charge",
    "Currency",
    "Customer",
    "Date (UTC)",
    "Description",
    "Number",
    "Paid",
    "Period End (UTC)",
    "Period Start (UTC)",
    "Status",
    "Subscription",
    "Subtotal",
    "Tax",
    "Total",
    "Customer Name",
    "Customer Email",
    "Due Date (UTC)",
]

ZENDESK_TICKETS = [
    "Summation column",
    "Id",
    "Requester",
    "Requester id",
    "Requester external id",
    "Requester email",
    "Requester domain",
    "Submitter",
    "Assignee",
    "Group",
    "Subject",
    "Tags",
    "Status",
    "Priority",
    "Via",
    "Ticket type",
    "Created at",
    "Updated at",
    "Assigned at",
    "Organization",
    "Due date",
    "Initially assigned at",
    "Solved at",
    "Resolution time",
    "Satisfaction Score",
    "Group stations",
    "Assignee stations",
    "Reopens",
    "Replies",
    "First reply time in minutes",
    "First reply time in minutes within business hours",
    "First resolution time in minutes",
    "Full resolution time in minutes",
]

INTERCOM_CONVERSATIONS = [
    "message_id",
    "message_body",
    "message_type",
    "message_created_at",
    "message_author_type",
    "message_author_id",
    "message_author_user_id",
    "message_author_name",
    "message_author_email",
    "message_author_companies",
    "conversation_tags",
    "conversation_id",
    "conversation_state",
    "conversation_created_at",
    "conversation_first_response_at",
    "conversation_closed_at",
    "app_id",
    "app_name",
]

SURVEYMONKEY_RESPONDENT = [
    "Respondent ID",
    "Collector ID",
    "Start Date",
    "End Date",
    "IP Address",
    "Email Address",
    "First Name",
    "Last Name",
    "Custom Data 1",
]
