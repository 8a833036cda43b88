"""broadcasts: staff audit log, muted announcements, quiet-hours and language on outbox rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_audit_staff_id_staff"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    with op.batch_alter_table("staff_audit") as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_audit_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_audit_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("people") as batch_op:
        batch_op.add_column(sa.Column("news_muted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("announcements") as batch_op:
        batch_op.add_column(sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error", sa.String(length=200), nullable=True))
    with op.batch_alter_table("outbound_messages") as batch_op:
        batch_op.add_column(
            sa.Column("hold_quiet", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_announcement_id"), ["announcement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_announcement_id"))
        batch_op.drop_column("language")
        batch_op.drop_column("hold_quiet")
    with op.batch_alter_table("announcements") as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("fanned_out_at")
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_column("news_muted_at")
    with op.batch_alter_table("staff_audit") as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_audit_created_at"))
        batch_op.drop_index(batch_op.f("ix_staff_audit_staff_id"))
    op.drop_table("staff_audit")
