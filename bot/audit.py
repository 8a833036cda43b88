"""The staff audit log: every staff action, and every refused attempt at one, as a row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import StaffAudit


def record(
    session: AsyncSession,
    staff_id: int | None,
    action: str,
    target: str | None,
    now: datetime,
    **details: object,
) -> None:
    session.add(StaffAudit(staff_id=staff_id, action=action, target=target, details=details, created_at=now))
