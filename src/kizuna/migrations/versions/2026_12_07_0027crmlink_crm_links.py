"""crm_links: which account each CRM company is, and a hash of what was last pushed to it

A push sent the CS values of every linked account on each sync; it now sends only those whose values changed since
the last push (or were changed in the CRM). Accounts imported from files are linked to CRM companies by the CRM's id
or their web domain (docs/connectors.md); the accounts a pull created before (external id ``<vendor>:<id>``) are
linked here.

Revision ID: 0027crmlink
Revises: 0026clvnote
Create Date: 2026-12-07 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kizuna.db

revision: str = "0027crmlink"
down_revision: str | Sequence[str] | None = "0026clvnote"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.String(length=16), nullable=False),
        sa.Column("linked_at", kizuna.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pushed_hash", sa.String(length=64), nullable=True),
        sa.Column("pushed_at", kizuna.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_crm_links_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_links")),
        sa.UniqueConstraint("vendor", "account_id", name="uq_crm_links_vendor_account_id"),
        sa.UniqueConstraint("vendor", "remote_id", name="uq_crm_links_vendor_remote_id"),
    )
    with op.batch_alter_table("crm_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_links_account_id"), ["account_id"], unique=False)
    for vendor in ("hubspot", "salesforce"):
        prefix = f"{vendor}:"
        op.execute(
            sa.text(
                "INSERT INTO crm_links (vendor, remote_id, account_id, linked_by, linked_at) "
                "SELECT :vendor, substr(external_id, :start), id, 'created', CURRENT_TIMESTAMP "
                "FROM accounts WHERE substr(external_id, 1, :length) = :prefix"
            ).bindparams(vendor=vendor, start=len(prefix) + 1, length=len(prefix), prefix=prefix)
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_links_account_id"))
    op.drop_table("crm_links")
