"""waiting list for intake seats; decline reasons and catalogue changes on intake requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

ACTIVE_WAITING = "status IN ('waiting', 'offered')"


def upgrade() -> None:
    with op.batch_alter_table("intake_requests") as batch_op:
        batch_op.add_column(sa.Column("decline_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("catalogue_change", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("catalogue_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("schooling_years", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offered_slot_id", sa.Integer(), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("intake_request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offerings.id"],
            name=op.f("fk_waitlist_entries_offering_id_offerings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["intake_slots.id"],
            name=op.f("fk_waitlist_entries_slot_id_intake_slots"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_waitlist_entries_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_waitlist_entries_profile_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offered_slot_id"],
            ["intake_slots.id"],
            name=op.f("fk_waitlist_entries_offered_slot_id_intake_slots"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["intake_request_id"],
            ["intake_requests.id"],
            name=op.f("fk_waitlist_entries_intake_request_id_intake_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index(op.f("ix_waitlist_entries_person_id"), "waitlist_entries", ["person_id"], unique=False)
    op.create_index(
        "ix_waitlist_entries_queue", "waitlist_entries", ["offering_id", "status", "created_at"], unique=False
    )
    op.create_index(
        "uq_waitlist_entries_active",
        "waitlist_entries",
        ["person_id", "offering_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_WAITING),
        postgresql_where=sa.text(ACTIVE_WAITING),
    )


def downgrade() -> None:
    op.drop_index("uq_waitlist_entries_active", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_queue", table_name="waitlist_entries")
    op.drop_index(op.f("ix_waitlist_entries_person_id"), table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    with op.batch_alter_table("intake_requests") as batch_op:
        batch_op.drop_column("catalogue_changed_at")
        batch_op.drop_column("catalogue_change")
        batch_op.drop_column("decline_reason")
