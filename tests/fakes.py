"""An in-memory implementation of the dialogs' ports, for engine tests without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from dialogs import ports


@dataclass
class FakeServices:
    language: str | None = None
    consented: bool = False
    municipality_code: str | None = None
    birth_year: int | None = None
    opted_out: bool = False
    erased: bool = False
    children: list[int] = field(default_factory=list)
    offerings: int = 5
    bookings: list[tuple[int, int | None]] = field(default_factory=list)
    names: dict[str, str] = field(
        default_factory=lambda: {"0127": "Botkyrka", "0126": "Huddinge", "0180": "Stockholm"}
    )
    # Matching answers: what was told, the questions asked before the results and after them.
    answered: dict = field(default_factory=dict)
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    removed: list[int] = field(default_factory=list)

    async def person(self) -> ports.Person:
        return ports.Person(self.language, self.consented, self.municipality_code, self.birth_year)

    async def set_language(self, code: str) -> None:
        self.language = code

    async def record_consent(self) -> None:
        self.consented = True

    async def opt_out(self) -> None:
        self.opted_out = True

    async def opt_in(self) -> None:
        self.opted_out = False

    async def erase_person(self) -> None:
        self.erased = True

    async def find_municipalities(self, text: str, limit: int = 3) -> list[ports.MunicipalityMatch]:
        key = text.strip().lower()
        if key == "botkyrka":
            return [ports.MunicipalityMatch("0127", "Botkyrka", 100.0)]
        if key == "botkirka":
            return [ports.MunicipalityMatch("0127", "Botkyrka", 88.0)]
        if key == "h":
            return [
                ports.MunicipalityMatch("0126", "Huddinge", 80.0),
                ports.MunicipalityMatch("0136", "Haninge", 78.0),
            ]
        return []

    async def municipality_name(self, code: str) -> str:
        return self.names.get(code, code)

    async def set_municipality(self, code: str) -> None:
        self.municipality_code = code

    async def set_birth_year(self, year: int) -> None:
        self.birth_year = year

    async def add_child(self, birth_year: int) -> int:
        self.children.append(birth_year)
        return len(self.children)

    def _summary(self, number: int) -> ports.OfferingSummary:
        return ports.OfferingSummary(
            id=number,
            title={"sv": f"Kurs {number}", "en": f"Course {number}"},
            category="sfi",
            place="Tumba",
            distance_km=number,
            start_date=date(2027, 1, 11),
            schedule=("day",),
            reason=ports.Reason("own_municipality"),
        )

    async def match(self, goal: str, child_id: int | None, offset: int, limit: int) -> ports.MatchPage:
        items = [self._summary(n) for n in range(1, self.offerings + 1)]
        questions = tuple(q for q in self.after if q not in self.answered)
        return ports.MatchPage(items[offset : offset + limit], len(items), questions=questions)

    async def answers(self) -> ports.Answers:
        told = self.answered
        return ports.Answers(
            self.municipality_code,
            self.birth_year,
            permit_status=told.get("permit_status"),
            permit_month=told.get("permit_month"),
            schooling_years=told.get("schooling_years"),
            swedish_level=told.get("swedish_level"),
            occupations=tuple(ports.Occupation(c, {"en": c.title()}) for c in told.get("occupations", ())),
            schedule=tuple(told.get("schedule", ())),
            max_travel_km=told.get("max_travel_km"),
            children=tuple(
                ports.Child(n, year) for n, year in enumerate(self.children, 1) if n not in self.removed
            ),
        )

    async def set_answer(self, key: str, value: object) -> None:
        self.answered[key] = value

    async def remove_child(self, child_id: int) -> None:
        self.removed.append(child_id)

    async def find_occupations(self, text: str) -> list[ports.Occupation]:
        return [ports.Occupation("cook", {"en": "Cook", "sv": "Kock"})] if "cook" in text.lower() else []

    async def questions(self, goal: str, child_id: int | None) -> tuple[str, ...]:
        return tuple(q for q in self.before if q not in self.answered)

    async def find_offerings(self, text: str, limit: int = 3) -> list[ports.OfferingRef]:
        found = [ports.OfferingRef(n, {"en": f"Course {n}"}, "Tumba") for n in (1, 2)]
        return found[: 1 if "1" in text else 2] if "course" in text.lower() else []

    async def why_not(self, offering_id: int) -> ports.Explanation:
        return ports.Explanation(
            {"en": f"Course {offering_id}"},
            "residence",
            {"open_to": "municipality", "municipality": "Stockholm", "home": "Botkyrka", "place": "Tumba"},
        )

    async def offering(self, offering_id: int) -> ports.OfferingDetail | None:
        if not 1 <= offering_id <= self.offerings:
            return None
        return ports.OfferingDetail(
            self._summary(offering_id), {}, "Botkyrka vux", "Storgatan 1, Tumba", None, True
        )

    async def free_slots(self, offering_id: int, offset: int, limit: int) -> list[ports.Slot]:
        slots = [ports.Slot(n, datetime(2026, 12, n, 9, tzinfo=UTC), 2) for n in range(1, 6)]
        return slots[offset : offset + limit]

    async def request_intake(
        self, offering_id: int, slot_id: int | None, child_id: int | None
    ) -> ports.Booking:
        self.bookings.append((offering_id, slot_id))
        return ports.Booking("booked", "ACD-EFH", datetime(2026, 12, 1, 9, tzinfo=UTC), "Storgatan 1, Tumba")

    async def proposal(self, request_id: int) -> ports.Proposal | None:
        if request_id != 1:
            return None
        when = datetime(2026, 12, 4, 13, tzinfo=UTC)
        return ports.Proposal("ACD-EFH", {"sv": "Kurs 1", "en": "Course 1"}, when, "Storgatan 1, Tumba")

    async def answer_proposal(self, request_id: int, accept: bool) -> ports.Booking:
        if request_id != 1:
            return ports.Booking("gone")
        if not accept:
            return ports.Booking("declined", "ACD-EFH")
        return ports.Booking("booked", "ACD-EFH", datetime(2026, 12, 4, 13, tzinfo=UTC), "Storgatan 1, Tumba")

    # My bookings: every request made is booking n (1, 2 …); `cancelled` holds the cancelled ones.
    cancelled: set[int] = field(default_factory=set)
    waiting: list[int] = field(default_factory=list)

    async def my_bookings(self) -> list[ports.MyBooking]:
        found = [
            ports.MyBooking(
                "request",
                n,
                f"ACD-EF{n}",
                {"sv": f"Kurs {offering}", "en": f"Course {offering}"},
                "cancelled" if n in self.cancelled else "requested",
                datetime(2026, 12, slot, 9, tzinfo=UTC) if slot else None,
                "Storgatan 1, Tumba",
                offering,
            )
            for n, (offering, slot) in enumerate(self.bookings, start=1)
        ]
        found += [
            ports.MyBooking("waiting", n, None, {"en": f"Course {o}"}, "waiting", None, "", o, 1)
            for n, o in enumerate(self.waiting, start=1)
        ]
        return found

    async def cancel_booking(self, request_id: int) -> bool:
        if request_id in self.cancelled or not 1 <= request_id <= len(self.bookings):
            return False
        self.cancelled.add(request_id)
        return True

    async def change_time(self, request_id: int, slot_id: int) -> ports.Booking:
        if request_id in self.cancelled or not 1 <= request_id <= len(self.bookings):
            return ports.Booking("gone")
        offering, _ = self.bookings[request_id - 1]
        self.bookings[request_id - 1] = (offering, slot_id)
        when = datetime(2026, 12, slot_id, 9, tzinfo=UTC)
        return ports.Booking("booked", f"ACD-EF{request_id}", when, "Storgatan 1, Tumba")

    async def join_waitlist(
        self, offering_id: int, slot_id: int | None, child_id: int | None
    ) -> ports.Booking:
        self.waiting.append(offering_id)
        return ports.Booking("waiting", position=len(self.waiting))

    async def leave_waitlist(self, entry_id: int) -> bool:
        return 1 <= entry_id <= len(self.waiting)

    async def waitlist_offer(self, entry_id: int) -> ports.Proposal | None:
        if entry_id != 1:
            return None
        when = datetime(2026, 12, 4, 13, tzinfo=UTC)
        deadline = datetime(2026, 12, 2, 13, tzinfo=UTC)
        return ports.Proposal("", {"en": "Course 1"}, when, "Storgatan 1, Tumba", deadline)

    async def answer_waitlist(self, entry_id: int, accept: bool) -> ports.Booking:
        if entry_id != 1:
            return ports.Booking("gone")
        if not accept:
            return ports.Booking("declined")
        return ports.Booking("booked", "ACD-EF9", datetime(2026, 12, 4, 13, tzinfo=UTC), "Storgatan 1, Tumba")

    async def create_link_code(self) -> ports.LinkCode:
        return ports.LinkCode("123456", 15)

    async def redeem_link_code(self, code: str) -> str:
        return "linked" if code == "654321" else "invalid"
