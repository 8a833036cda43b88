"""Reference data the project carries: the 290 municipalities and the cooperation agreements."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Agreement, AgreementMember, Municipality

DATA = Path(__file__).resolve().parent / "data"


def read_municipalities(path: Path = DATA / "municipalities.csv") -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{**row, "lat": float(row["lat"]), "lon": float(row["lon"])} for row in csv.DictReader(handle)]


def read_agreements(folder: Path = DATA / "agreements") -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


async def seed(session: AsyncSession) -> None:
    """Inserts or updates the reference data; safe to run any number of times."""
    existing = {m.code: m for m in (await session.scalars(select(Municipality))).all()}
    for row in read_municipalities():
        if row["code"] in existing:
            for key, value in row.items():
                setattr(existing[row["code"]], key, value)
        else:
            session.add(Municipality(**row))
    await session.flush()
    for data in read_agreements():
        await _upsert_agreement(session, data)


async def _upsert_agreement(session: AsyncSession, data: dict) -> None:
    agreement = await session.get(Agreement, data["id"]) or Agreement(id=data["id"])
    agreement.name = data["name"]
    agreement.short_name = data.get("short_name", data["name"])
    agreement.kinds = data["kinds"]
    agreement.newcomer_period_months = data.get("newcomer_period_months")
    agreement.valid_from = _date(data.get("valid_from"))
    agreement.valid_to = _date(data.get("valid_to"))
    session.add(agreement)
    await session.flush()
    await session.execute(delete(AgreementMember).where(AgreementMember.agreement_id == agreement.id))
    session.add_all(
        AgreementMember(agreement_id=agreement.id, municipality_code=code) for code in data["members"]
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
