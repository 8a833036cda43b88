"""telegram staff: municipality settings (the staff chat) and proposed intake times

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "municipality_settings",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"], ["municipalities.code"], name=op.f("fk_municipality_settings_code_municipalities")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_municipality_settings")),
    )
    op.create_table(
        "intake_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intake_request_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["intake_request_id"],
            ["intake_requests.id"],
            name=op.f("fk_intake_proposals_intake_request_id_intake_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["intake_slots.id"],
            name=op.f("fk_intake_proposals_slot_id_intake_slots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_intake_proposals_staff_id_staff"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_proposals")),
    )
    with op.batch_alter_table("intake_proposals") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_proposals_intake_request_id"), ["intake_request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_proposals") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_proposals_intake_request_id"))
    op.drop_table("intake_proposals")
    op.drop_table("municipality_settings")
