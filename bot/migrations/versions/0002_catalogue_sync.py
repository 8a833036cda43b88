"""catalogue sync: feed state, run details, duplicates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "feed_states",
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("validators", sa.JSON(), nullable=False),
        sa.Column("cursor", sa.String(length=40), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_feed_states")),
    )
    # Plain ADD COLUMNs (no table rebuild on SQLite): offerings is referenced by slots and requests.
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source_digest", sa.String(length=64), nullable=True))

    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rows_written", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("held", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("staff_notified", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rejections", sa.JSON(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("rejections")
        batch_op.drop_column("staff_notified")
        batch_op.drop_column("held")
        batch_op.drop_column("rows_written")
        batch_op.drop_column("skipped")

    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.drop_column("source_digest")
        batch_op.drop_column("duplicate_of")

    op.drop_table("feed_states")
