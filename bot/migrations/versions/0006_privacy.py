"""privacy: retention warnings and the per-sender rate limit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 23:58:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch_op:
        batch_op.add_column(sa.Column("retention_warned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_people_last_active_at"), ["last_active_at"], unique=False)
    with op.batch_alter_table("channel_identities") as batch_op:
        batch_op.add_column(sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("window_count", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("channel_identities") as batch_op:
        batch_op.drop_column("window_count")
        batch_op.drop_column("window_started_at")
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_last_active_at"))
        batch_op.drop_column("retention_warned_at")
