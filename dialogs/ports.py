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
    """Why an offering is shown. `code` is one of: own_municipality, agreement, everyone."""

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


@dataclass(frozen=True)
class MatchPage:
    items: list[OfferingSummary]
    total: int


@dataclass(frozen=True)
class OfferingDetail:
    summary: OfferingSummary
    description: dict[str, str]
    provider: str
    address: str
    url: str | None
    has_free_slots: bool


@dataclass(frozen=True)
class Slot:
    id: int
    starts_at: datetime
    seats_left: int


@dataclass(frozen=True)
class Booking:
    """The outcome of an intake request. status: booked, exists (already requested) or full."""

    status: str
    reference: str | None = None
    starts_at: datetime | None = None
    address: str = ""


@dataclass(frozen=True)
class LinkCode:
    """A one-time code that links this person's channel with another (Telegram and SMS)."""

    code: str
    valid_minutes: int


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
    async def match(self, goal: str, child_id: int | None, offset: int, limit: int) -> MatchPage: ...
    async def offering(self, offering_id: int) -> OfferingDetail | None: ...
    async def free_slots(self, offering_id: int, offset: int, limit: int) -> list[Slot]: ...
    async def request_intake(
        self, offering_id: int, slot_id: int | None, child_id: int | None
    ) -> Booking: ...
    async def create_link_code(self) -> LinkCode: ...
    async def redeem_link_code(self, code: str) -> str:
        """Links the person who made `code` with this one: "linked", "invalid", "expired" or "own"."""
        ...
