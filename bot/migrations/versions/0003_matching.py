"""matching: work experience on profiles, indexes for the matching query

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# What the matching pre-filter tests besides category, municipality and start (bot/models.py MATCH_FILTERS).
MATCH_FILTERS = [
    "open_to",
    "publisher_code",
    "end_date",
    "application_deadline",
    "age_min",
    "age_max",
    "swedish_level_min",
    "asylum_seekers",
]


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite): profiles is referenced by intake requests.
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("occupations", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )

    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offerings_match",
            ["status", "category", "municipality_code", "start_date", *MATCH_FILTERS],
            unique=False,
            postgresql_include=["id"],
        )
        batch_op.create_index(
            "ix_offerings_unlocated",
            ["status", "category", "open_to", "publisher_code", "start_date", *MATCH_FILTERS[2:], "lat"],
            unique=False,
            sqlite_where=sa.text("lat IS NULL"),
            postgresql_where=sa.text("lat IS NULL"),
            postgresql_include=["id"],
        )
        batch_op.create_index(
            "ix_offerings_asylum",
            ["status", "category", "municipality_code", "start_date", *MATCH_FILTERS],
            unique=False,
            sqlite_where=sa.text("asylum_seekers"),
            postgresql_where=sa.text("asylum_seekers"),
            postgresql_include=["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("offerings", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_offerings_asylum",
            sqlite_where=sa.text("asylum_seekers"),
            postgresql_where=sa.text("asylum_seekers"),
        )
        batch_op.drop_index(
            "ix_offerings_unlocated",
            sqlite_where=sa.text("lat IS NULL"),
            postgresql_where=sa.text("lat IS NULL"),
        )
        batch_op.drop_index("ix_offerings_match")

    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_column("occupations")
