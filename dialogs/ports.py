"""What the dialogs need from the rest of the application. `bot/` implements these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True)
class MunicipalityMatch:
    code: str
    name: str
    score: float


@dataclass(frozen=True)
class Reason:
    """Why an offering is shown, or what it asks. `code` is one of: own_municipality, agreement, everyone
    (how the person may attend); waiting_list, priority, occupation, language, schedule, beyond_travel,
    distance (what else counts); needs_permit, needs_level, newcomer (conditions not yet known to hold)."""

    code: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OfferingSummary:
    id: int
    title: dict[str, str]
    category: str
    place: str
    distance_km: int | None
    start_date: date | None
    schedule: tuple[str, ...]
    reason: Reason
    # Every reason, the most informative first (a result line shows one or two, the details all).
    reasons: tuple[Reason, ...] = ()
    waiting_list: bool = False


@dataclass(frozen=True)
class MatchPage:
    items: list[OfferingSummary]
    total: int
    # More may fit than were ranked (a large catalogue): `total` is then a lower bound.
    capped: bool = False
    # Questions whose answers would change this list (asked on "Fit the list to me"), and notes on it:
    # "permit" (all need a residence permit, not yet known), "asylum" (SFI is not open to asylum seekers),
    # "sfi_finished" (SFI is done: Swedish goes on under Study).
    questions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Child:
    id: int
    birth_year: int | None


@dataclass(frozen=True)
class Answers:
    """What the person has told us for matching (None or empty: not told). An occupation with the code
    "none" means "no work experience", "other" work that is not on the list."""

    municipality_code: str | None
    birth_year: int | None
    permit_status: str | None = None
    permit_month: date | None = None
    schooling_years: int | None = None
    swedish_level: str | None = None
    occupations: tuple[Occupation, ...] = ()
    schedule: tuple[str, ...] = ()
    max_travel_km: int | None = None
    children: tuple[Child, ...] = ()


@dataclass(frozen=True)
class Occupation:
    code: str
    labels: dict[str, str]


@dataclass(frozen=True)
class OfferingRef:
    """An offering found by its name ("Why is a course not shown?")."""

    id: int
    title: dict[str, str]
    place: str


@dataclass(frozen=True)
class Explanation:
    """Why an offering is not in the person's list: the first rule that keeps them out (`rule`), or None when
    it is open to them (`goal` and `position` then say where it is, `child_birth_year` for whom)."""

    title: dict[str, str]
    rule: str | None
    params: dict = field(default_factory=dict)
    goal: str | None = None
    position: int | None = None
    child_birth_year: int | None = None


@dataclass(frozen=True)
class OfferingDetail:
    summary: OfferingSummary
    description: dict[str, str]
    provider: str
    address: str
    url: str | None
    has_free_slots: bool
    # Times exist but every one is full: the person may join the waiting list.
    all_full: bool = False


@dataclass(frozen=True)
class Slot:
    id: int
    starts_at: datetime
    seats_left: int


@dataclass(frozen=True)
class Booking:
    """The outcome of an intake request. status: booked, exists (already requested) or full; for an answer to
    a proposed time also declined (the person said no) or gone (the proposal is no longer open)."""

    status: str
    reference: str | None = None
    starts_at: datetime | None = None
    address: str = ""
    position: int | None = None


@dataclass(frozen=True)
class LinkCode:
    """A one-time code that links this person's channel with another (Telegram and SMS)."""

    code: str
    valid_minutes: int


@dataclass(frozen=True)
class Proposal:
    """Another time staff propose for the person's intake request."""

    reference: str
    title: dict[str, str]
    starts_at: datetime
    address: str
    # A seat offered from the waiting list: held for the person until then.
    deadline: datetime | None = None


@dataclass(frozen=True)
class MyBooking:
    """One line of "My bookings". kind: "request" (status requested, confirmed, declined, cancelled) or
    "waiting" (status waiting, with the place in the queue, or offered: a seat is held for the person)."""

    kind: str
    id: int
    reference: str | None
    title: dict[str, str]
    status: str
    starts_at: datetime | None
    address: str
    offering_id: int
    position: int | None = None


@dataclass(frozen=True)
class Person:
    language: str | None
    consented: bool
    municipality_code: str | None
    birth_year: int | None


class Services(Protocol):
    async def person(self) -> Person: ...
    async def set_language(self, code: str) -> None: ...
    async def record_consent(self) -> None: ...
    async def opt_out(self) -> None: ...
    async def opt_in(self) -> None: ...
    async def erase_person(self) -> None: ...
    async def find_municipalities(self, text: str, limit: int = 3) -> list[MunicipalityMatch]: ...
    async def municipality_name(self, code: str) -> str: ...
    async def set_municipality(self, code: str) -> None: ...
    async def set_birth_year(self, year: int) -> None: ...
    async def add_child(self, birth_year: int) -> int: ...
    async def answers(self) -> Answers: ...
    async def set_answer(self, key: str, value: object) -> None:
        """key: permit_status, permit_month, schooling_years, swedish_level, schedule, max_travel_km or
        occupations (codes)."""
        ...

    async def remove_child(self, child_id: int) -> None: ...
    async def find_occupations(self, text: str) -> list[Occupation]: ...
    async def questions(self, goal: str, child_id: int | None) -> tuple[str, ...]:
        """The questions to ask before the first results: not yet answered, and their answer changes the
        list (the rest are offered after it, in `MatchPage.questions`)."""
        ...

    async def find_offerings(self, text: str, limit: int = 3) -> list[OfferingRef]: ...
    async def why_not(self, offering_id: int) -> Explanation: ...
    async def match(self, goal: str, child_id: int | None, offset: int, limit: int) -> MatchPage: ...
    async def offering(self, offering_id: int) -> OfferingDetail | None: ...
    async def free_slots(self, offering_id: int, offset: int, limit: int) -> list[Slot]: ...
    async def request_intake(
        self, offering_id: int, slot_id: int | None, child_id: int | None
    ) -> Booking: ...
    async def proposal(self, request_id: int) -> Proposal | None: ...
    async def answer_proposal(self, request_id: int, accept: bool) -> Booking: ...
    # My bookings, cancelling, another time and the waiting list (bot/intake.py).
    async def my_bookings(self) -> list[MyBooking]: ...
    async def cancel_booking(self, request_id: int) -> bool: ...
    async def change_time(self, request_id: int, slot_id: int) -> Booking: ...
    async def join_waitlist(self, offering_id: int, slot_id: int | None, child_id: int | None) -> Booking:
        """status "waiting" (with the place in the queue as `position`), or "exists" (already booked)."""
        ...

    async def leave_waitlist(self, entry_id: int) -> bool: ...
    async def waitlist_offer(self, entry_id: int) -> Proposal | None: ...
    async def answer_waitlist(self, entry_id: int, accept: bool) -> Booking: ...
    async def create_link_code(self) -> LinkCode: ...
    async def redeem_link_code(self, code: str) -> str:
        """Links the person who made `code` with this one: "linked", "invalid", "expired" or "own"."""
        ...
