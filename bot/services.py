"""The dialogs' ports, implemented over one database session for the length of one turn."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import booking, intake, linking, reminders
from bot.matching import Match
from bot.matching_ports import MatchingPorts
from bot.models import IntakeRequest, Offering, Person, Profile
from bot.municipalities import MunicipalityDirectory
from bot.staff import answer_proposal, notify_new_request, open_proposal_for
from dialogs import ports


@dataclass
class TurnServices(MatchingPorts):
    session: AsyncSession
    person_row: Person
    directory: MunicipalityDirectory
    now: datetime
    rng: random.Random
    channel: str
    tz: ZoneInfo
    reminder_offsets: tuple[timedelta, ...] = reminders.DEFAULT_OFFSETS
    erase_requested: bool = False
    # Asks another person something outside their turn (TurnRunner.interject): a freed seat for the next
    # one on the waiting list, who has `offer_hours` to take it.
    ask: intake.Asker | None = None
    offer_hours: int = intake.DEFAULT_OFFER_HOURS

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    # --- the person ---------------------------------------------------------------------------------

    def _self_profile(self, create: bool = False) -> Profile | None:
        profile = next((p for p in self.person_row.profiles if p.kind == "self"), None)
        if profile is None and create:
            profile = Profile(kind="self", goals=[], schedule=[])
            self.person_row.profiles.append(profile)
        return profile

    async def person(self) -> ports.Person:
        profile = self._self_profile()
        return ports.Person(
            language=self.person_row.language,
            consented=self.person_row.consented_at is not None,
            municipality_code=profile.municipality_code if profile else None,
            birth_year=profile.birth_year if profile else None,
        )

    async def set_language(self, code: str) -> None:
        self.person_row.language = code

    async def record_consent(self) -> None:
        self.person_row.consented_at = self.now

    async def opt_out(self) -> None:
        self.person_row.opted_out_at = self.now

    async def opt_in(self) -> None:
        self.person_row.opted_out_at = None

    async def erase_person(self) -> None:
        self.erase_requested = True

    async def create_link_code(self) -> ports.LinkCode:
        code = await linking.create_code(self.session, self.person_row, self.channel, self.now, self.rng)
        return ports.LinkCode(code, int(linking.CODE_LIFETIME.total_seconds() // 60))

    async def redeem_link_code(self, code: str) -> str:
        return await linking.redeem(self.session, self.person_row, code, self.now)

    async def set_municipality(self, code: str) -> None:
        self._self_profile(create=True).municipality_code = code

    async def set_birth_year(self, year: int) -> None:
        self._self_profile(create=True).birth_year = year

    async def add_child(self, birth_year: int) -> int:
        child = next(
            (p for p in self.person_row.profiles if p.kind == "child" and p.birth_year == birth_year), None
        )
        if child is None:
            child = Profile(kind="child", birth_year=birth_year, goals=["school"], schedule=[])
            self.person_row.profiles.append(child)
            await self.session.flush()
        return child.id

    # --- municipalities -----------------------------------------------------------------------------

    async def find_municipalities(self, text: str, limit: int = 3) -> list[ports.MunicipalityMatch]:
        return self.directory.search(text, limit)

    async def municipality_name(self, code: str) -> str:
        return self.directory.name(code)

    # --- matching -----------------------------------------------------------------------------------

    # The person's answers, their list and "why not": bot/matching_ports.py.

    async def _eligible_match(self, offering_id: int, child_id: int | None = None) -> Match | None:
        offering = await self.session.get(Offering, offering_id)
        return None if offering is None else await self._match_one(offering, child_id)

    async def offering(self, offering_id: int) -> ports.OfferingDetail | None:
        offering = await self.session.get(Offering, offering_id)
        if offering is None or offering.status != "active":
            return None
        match = await self._eligible_match(offering_id) or await self._any_child_match(offering_id)
        if match is None:
            return None
        slots = await booking.free_slots(self.session, offering_id, self.now)
        return ports.OfferingDetail(
            summary=self._summary(match),
            description=offering.description,
            provider=offering.provider.name if offering.provider else "",
            address=address_of(offering, self.directory),
            url=offering.url,
            has_free_slots=bool(slots),
            all_full=not slots and await booking.has_future_slots(self.session, offering_id, self.now),
        )

    async def _any_child_match(self, offering_id: int) -> Match | None:
        for child in (p for p in self.person_row.profiles if p.kind == "child"):
            match = await self._eligible_match(offering_id, child.id)
            if match:
                return match
        return None

    async def free_slots(self, offering_id: int, offset: int, limit: int) -> list[ports.Slot]:
        slots = await booking.free_slots(self.session, offering_id, self.now)
        return [ports.Slot(s.id, s.starts_at, s.capacity - s.booked) for s in slots[offset : offset + limit]]

    async def request_intake(
        self, offering_id: int, slot_id: int | None, child_id: int | None
    ) -> ports.Booking:
        match = await self._eligible_match(offering_id, child_id)
        if match is None:
            return ports.Booking(status="ineligible")
        status, request = await booking.request_intake(
            self.session,
            offering=match.offering,
            person_id=self.person_row.id,
            profile_id=child_id or (self._self_profile().id if self._self_profile() else None),
            slot_id=slot_id,
            now=self.now,
            rng=self.rng,
            language=self.person_row.language,
            channel=self.channel,
        )
        if request is None:
            return ports.Booking(status=status)
        await self.session.refresh(request, ["slot"])
        if status == "booked" and request.slot:
            reminders.schedule(
                self.session, request, request.slot.starts_at, self.reminder_offsets, self.tz, self.now
            )
        if status == "booked":
            await notify_new_request(self.session, request, now=self.now, tz=self.tz)
        return ports.Booking(
            status=status,
            reference=request.reference,
            starts_at=request.slot.starts_at if request.slot else None,
            address=address_of(match.offering, self.directory),
        )

    # --- another time, proposed by staff ------------------------------------------------------------

    async def proposal(self, request_id: int) -> ports.Proposal | None:
        found = await open_proposal_for(self.session, self.person_row.id, request_id)
        if found is None:
            return None
        request, proposal = found
        return ports.Proposal(
            reference=request.reference,
            title=request.offering.title,
            starts_at=proposal.slot.starts_at,
            address=address_of(request.offering, self.directory),
        )

    async def answer_proposal(self, request_id: int, accept: bool) -> ports.Booking:
        status, request = await answer_proposal(
            self.session, self.person_row.id, request_id, accept, self.now, self.tz, self.reminder_offsets
        )
        if request is None:
            return ports.Booking(status=status)
        return ports.Booking(
            status=status,
            reference=request.reference,
            starts_at=request.slot.starts_at if request.slot else None,
            address=address_of(request.offering, self.directory),
        )

    # --- my bookings, cancelling, another time, the waiting list (bot/intake.py) ----------------------

    async def my_bookings(self) -> list[ports.MyBooking]:
        found = await intake.my_bookings(self.session, self.person_row.id, self.now)
        return [ports.MyBooking(**vars(m)) for m in found]

    async def cancel_booking(self, request_id: int) -> bool:
        request, _ = await intake.cancel(
            self.session,
            person_id=self.person_row.id,
            request_id=request_id,
            now=self.now,
            tz=self.tz,
            ask=self.ask,
            offer_hours=self.offer_hours,
        )
        return request is not None

    async def change_time(self, request_id: int, slot_id: int) -> ports.Booking:
        status, request, _ = await intake.change_time(
            self.session,
            person_id=self.person_row.id,
            request_id=request_id,
            slot_id=slot_id,
            now=self.now,
            tz=self.tz,
            ask=self.ask,
            offsets=self.reminder_offsets,
            offer_hours=self.offer_hours,
        )
        return self._booking(status, request)

    def _booking(self, status: str, request: IntakeRequest | None) -> ports.Booking:
        if request is None:
            return ports.Booking(status=status)
        return ports.Booking(
            status=status,
            reference=request.reference,
            starts_at=request.slot.starts_at if request.slot else None,
            address=address_of(request.offering, self.directory),
        )

    async def join_waitlist(
        self, offering_id: int, slot_id: int | None, child_id: int | None
    ) -> ports.Booking:
        match = await self._eligible_match(offering_id, child_id)
        if match is None:
            return ports.Booking(status="ineligible")
        own = self._self_profile()
        status, _, position = await intake.join_waitlist(
            self.session,
            offering=match.offering,
            person_id=self.person_row.id,
            profile_id=child_id or (own.id if own else None),
            slot_id=slot_id,
            language=self.person_row.language,
            now=self.now,
        )
        return ports.Booking(status="exists" if status == "booked" else "waiting", position=position)

    async def leave_waitlist(self, entry_id: int) -> bool:
        return await intake.leave_waitlist(self.session, self.person_row.id, entry_id, self.now)

    async def waitlist_offer(self, entry_id: int) -> ports.Proposal | None:
        entry = await intake.open_offer(self.session, self.person_row.id, entry_id, self.now)
        if entry is None or entry.offered_slot is None:
            return None
        return ports.Proposal(
            reference="",
            title=entry.offering.title,
            starts_at=entry.offered_slot.starts_at,
            address=address_of(entry.offering, self.directory),
            deadline=entry.offer_expires_at,
        )

    async def answer_waitlist(self, entry_id: int, accept: bool) -> ports.Booking:
        status, request, _ = await intake.answer_offer(
            self.session,
            person_id=self.person_row.id,
            entry_id=entry_id,
            accept=accept,
            now=self.now,
            tz=self.tz,
            rng=self.rng,
            channel=self.channel,
            ask=self.ask,
            offsets=self.reminder_offsets,
            offer_hours=self.offer_hours,
        )
        return self._booking(status, request)


def address_of(offering: Offering, directory: MunicipalityDirectory) -> str:
    parts = [offering.street, offering.city or directory.name(offering.municipality_code)]
    return ", ".join(part for part in parts if part)
