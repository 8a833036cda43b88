"""One person on two channels: a one-time code made on one channel and written on the other merges the two
people the assistant knew into one, so that profile, bookings and reminders follow the person.

A code is six digits, valid for 15 minutes, used once, and stored only as a hash. (Six digits hash quickly,
so the hash keeps codes out of casual sight rather than safe from a determined reader of the database: the
short life, single use and the limit on wrong attempts in the dialog are what protect a code.)
"""

from __future__ import annotations

import hashlib
import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import reminders
from bot.models import (
    ChannelIdentity,
    InboundMessage,
    IntakeRequest,
    IntakeSlot,
    LinkCode,
    OutboundMessage,
    Person,
    Profile,
)

log = logging.getLogger(__name__)
CODE_LIFETIME = timedelta(minutes=15)
CODE_DIGITS = 6
ACTIVE = ("requested", "confirmed")
# Fields of a profile that a merge fills in when the surviving profile lacks them.
PROFILE_FIELDS = (
    "birth_year",
    "municipality_code",
    "permit_status",
    "permit_month",
    "schooling_years",
    "swedish_level",
    "max_travel_km",
)


def code_hash(code: str) -> str:
    return hashlib.sha256(f"vagvisare-link:{code}".encode()).hexdigest()


async def create_code(
    session: AsyncSession, person: Person, channel: str, now: datetime, rng: random.Random
) -> str:
    """A new code for `person`; an earlier unused code of theirs stops working."""
    await session.execute(
        update(LinkCode)
        .where(LinkCode.person_id == person.id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
    )
    for _ in range(10):
        code = f"{rng.randrange(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        taken = await session.scalar(
            select(LinkCode.id).where(
                LinkCode.code_hash == code_hash(code), LinkCode.used_at.is_(None), LinkCode.expires_at > now
            )
        )
        if taken is None:
            break
    session.add(
        LinkCode(
            person_id=person.id,
            channel=channel,
            code_hash=code_hash(code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    await session.flush()
    return code


async def redeem(session: AsyncSession, person: Person, code: str, now: datetime) -> str:
    """Links the maker of `code` into `person` (who wrote it). Returns "linked", "invalid", "expired" or
    "own". `person` survives with its conversation state; the other person's channels, profiles and
    bookings move to it."""
    query = select(LinkCode).where(LinkCode.code_hash == code_hash(code)).order_by(LinkCode.id.desc())
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    link = await session.scalar(query.limit(1))
    if link is None or link.used_at is not None:
        return "invalid"
    if link.expires_at <= now:
        return "expired"
    if link.person_id == person.id:
        return "own"
    link.used_at = now
    await merge(session, survivor=person, other_id=link.person_id, now=now)
    log.info("two channels linked into one person")
    return "linked"


async def merge(session: AsyncSession, *, survivor: Person, other_id: int, now: datetime) -> None:
    """Moves everything of person `other_id` to `survivor`, then deletes the other person."""
    other = await session.get(Person, other_id)
    if other is None:
        return
    survivor.language = survivor.language or other.language
    survivor.consented_at = survivor.consented_at or other.consented_at
    survivor.created_at = min(survivor.created_at, other.created_at)
    await session.flush()
    await _merge_profiles(session, survivor, other_id)
    await _merge_requests(session, survivor.id, other_id, now)
    for model in (ChannelIdentity, InboundMessage, OutboundMessage):
        await session.execute(update(model).where(model.person_id == other_id).values(person_id=survivor.id))
    session.expunge(other)
    # The database cascades the rest: the other person's conversation state and link codes.
    await session.execute(delete(Person).where(Person.id == other_id))
    await session.refresh(survivor, ["profiles", "identities"])


async def _merge_profiles(session: AsyncSession, survivor: Person, other_id: int) -> None:
    theirs = list(
        (
            await session.scalars(select(Profile).where(Profile.person_id == other_id).order_by(Profile.id))
        ).all()
    )
    ours = list(
        (
            await session.scalars(
                select(Profile).where(Profile.person_id == survivor.id).order_by(Profile.id)
            )
        ).all()
    )
    own_self = next((p for p in ours if p.kind == "self"), None)
    children = {p.birth_year: p for p in ours if p.kind == "child"}
    for profile in theirs:
        twin = own_self if profile.kind == "self" else children.get(profile.birth_year)
        if twin is None:
            profile.person_id = survivor.id
            continue
        for name in PROFILE_FIELDS:
            if getattr(twin, name) is None:
                setattr(twin, name, getattr(profile, name))
        twin.goals = list(dict.fromkeys([*(twin.goals or []), *(profile.goals or [])]))
        twin.schedule = list(dict.fromkeys([*(twin.schedule or []), *(profile.schedule or [])]))
        await session.execute(
            update(IntakeRequest).where(IntakeRequest.profile_id == profile.id).values(profile_id=twin.id)
        )
        await session.delete(profile)
    await session.flush()


async def _merge_requests(session: AsyncSession, survivor_id: int, other_id: int, now: datetime) -> None:
    """Bookings follow the person. Where both had asked for the same offering, the survivor's request
    stays and the other is cancelled, its seat given back."""
    ours = set(
        (
            await session.scalars(
                select(IntakeRequest.offering_id).where(
                    IntakeRequest.person_id == survivor_id, IntakeRequest.status.in_(ACTIVE)
                )
            )
        ).all()
    )
    theirs = (await session.scalars(select(IntakeRequest).where(IntakeRequest.person_id == other_id))).all()
    for request in theirs:
        if request.status in ACTIVE and request.offering_id in ours:
            request.status, request.updated_at = "cancelled", now
            await reminders.cancel_for(session, request.id)
            if request.slot_id is not None:
                await session.execute(
                    update(IntakeSlot)
                    .where(IntakeSlot.id == request.slot_id, IntakeSlot.booked > 0)
                    .values(booked=IntakeSlot.booked - 1)
                )
        request.person_id = survivor_id
    await session.flush()
