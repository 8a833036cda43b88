"""the outbox indexed by chat: a chat's last message is found without walking the channel's history

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 13:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbound_messages_address", "outbound_messages", ["channel", "address", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_messages_address", table_name="outbound_messages")
