"""Skolverket's school-unit register, v2 (`/v2/school-units`): schools and adult-education units.

One unit becomes one offering per school type it runs (source id `<schoolUnitCode>:<category>`):
FKLASS → preschool-class, GR → compulsory-school, GY → upper-secondary (and language-introduction when
its programmes include språkintroduktion: IMS or IMSPR, which code is meant is unverified, so both count),
VUX → sfi / komvux-basic / komvux-upper by its parts VUXSFI / VUXGR / VUXGY. Only units with status AKTIV
are listed; a unit that closes disappears from the list and is withdrawn.

The unit's municipalityCode is both publisher and place. The register does not say who may attend: school
and municipal adult education are open through agreements ("agreement").

Over HTTP: the list per configured municipality, then each unit's detail. A local path is read as one saved
list whose items are details (`{"data": [ {schoolUnitCode, attributes}, … ]}` or a list of detail
documents)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from catalog_sync import normalise
from catalog_sync.adapters import Adapter
from catalog_sync.fetch import is_local
from catalog_sync.records import (
    CATEGORY_KIND,
    FeedError,
    Item,
    OfferingRecord,
    RecordError,
    Rejection,
    Skipped,
)

DEFAULT_URL = "https://api.skolverket.se/skolenhetsregistret"
LANGUAGE_INTRODUCTION = {"IMS", "IMSPR"}
SCHOOL_CATEGORIES = {
    "FKLASS": ("preschool-class", 5, 7),
    "GR": ("compulsory-school", 6, 16),
    "GY": ("upper-secondary", 15, 20),
}
ADULT_PARTS = {
    "VUXSFI": ("sfi", 16, "Sfi", "SFI"),
    "VUXGR": ("komvux-basic", 20, "Grundläggande vuxenutbildning", "Adult education, basic level"),
    "VUXGY": ("komvux-upper", 20, "Gymnasial vuxenutbildning", "Adult education, upper-secondary level"),
}
CONCURRENCY = 4


class SchoolUnitsAdapter(Adapter):
    name = "skolverket-units"

    async def fetch(self) -> None:
        base = (self.feed.url or DEFAULT_URL).rstrip("/")
        if is_local(base):
            self.spool.add_response("saved", await self.context.get(base))
            return
        codes = list(self.feed.municipalities) or [None]
        units: list[str] = []
        for code in codes:
            listing = await self.context.fetcher.get_json(
                f"{base}/v2/school-units", params={"municipality_code": code, "status": "AKTIV"}
            )
            for unit in _list_items(listing):
                if str(unit.get("status", "AKTIV")).upper() == "AKTIV" and unit.get("schoolUnitCode"):
                    units.append(str(unit["schoolUnitCode"]))
        self.total = len(units)
        semaphore = asyncio.Semaphore(CONCURRENCY)
        done = 0

        async def detail(unit_code: str) -> tuple[str, bytes | None]:
            nonlocal done
            async with semaphore:
                response = await self.context.get(
                    f"{base}/v2/school-units/{unit_code}", allow_statuses=(404,)
                )
            done += 1
            self.context.progress("fetch", done, self.total)
            return unit_code, (response.read() if response.status == 200 else None)

        for unit_code, body in await asyncio.gather(*(detail(code) for code in dict.fromkeys(units))):
            if body is not None:
                self.spool.add("detail", body, code=unit_code)

    def items(self) -> Iterator[Item]:
        for document, _ in self.spool.json_documents("saved"):
            if isinstance(document, list):
                details = [entry.get("data", entry) for entry in document if isinstance(entry, dict)]
            elif isinstance(document, dict) and isinstance(document.get("data"), list):
                details = document["data"]
            elif isinstance(document, dict) and isinstance(document.get("data"), dict):
                details = _list_items(document)
            else:
                raise FeedError("not a school-unit register response")
            for detail in details:
                yield from self.unit_items(detail)
        for document, _ in self.spool.json_documents("detail"):
            data = document.get("data") if isinstance(document, dict) else None
            if not isinstance(data, dict):
                raise FeedError("a school-unit detail has no data")
            yield from self.unit_items(data)

    def unit_items(self, data: Any) -> Iterator[Item]:
        code = str(data.get("schoolUnitCode") or (data.get("attributes") or {}).get("schoolUnitCode") or "?")
        try:
            yield from self._unit(data, code)
        except RecordError as exc:
            yield Rejection(code, str(exc))

    def _unit(self, data: dict, code: str) -> Iterator[Item]:
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            raise RecordError("a school unit needs attributes")
        status = str(attributes.get("status") or "AKTIV").upper()
        if status != "AKTIV":
            yield Skipped(code, f"status {status}")
            return
        municipality = normalise.municipality_code(
            attributes.get("municipalityCode"), self.context.known_codes
        )
        if municipality is None:
            raise RecordError("municipalityCode is missing")
        if not self.municipality_allowed(municipality):
            yield Skipped(code, f"municipality {municipality}")
            return
        name = normalise.text(attributes.get("displayName")) or normalise.text(attributes.get("schoolName"))
        if not name:
            raise RecordError("the unit has no name")
        address = _visiting_address(attributes.get("addresses"))
        geo = address.get("geoCoordinates") or {}
        lat, lon = normalise.location(
            geo.get("latitude"),
            geo.get("longitude"),
            sweref_n=geo.get("coordinateSweRefN"),
            sweref_e=geo.get("coordinateSweRefE"),
        )
        common = dict(
            publisher_code=municipality,
            municipality_code=municipality,
            open_to="agreement",
            provider_name=name[:200],
            provider_email=normalise.text(attributes.get("email"), max_length=200),
            provider_phone=normalise.text(attributes.get("phoneNumber"), max_length=40),
            street=normalise.text(address.get("streetAddress"), max_length=200),
            postal_code=normalise.text(address.get("postalCode"), max_length=10),
            city=normalise.text(address.get("locality"), max_length=100),
            lat=lat,
            lon=lon,
            url=normalise.text(attributes.get("url"), max_length=500),
            schedule=("day",),
        )
        types = {str(t).upper() for t in normalise.split_list(attributes.get("schoolTypes"))}
        properties = {str(k).lower(): v for k, v in (attributes.get("schoolTypeProperties") or {}).items()}
        produced = False
        for school_type, (category, age_min, age_max) in SCHOOL_CATEGORIES.items():
            if school_type in types:
                produced = True
                yield self._record(code, category, {"sv": name}, common, age_min=age_min, age_max=age_max)
        if "GY" in types:
            programmes = {str(p).upper() for p in normalise.split_list(_get(properties, "gy", "programmes"))}
            if programmes & LANGUAGE_INTRODUCTION:
                yield self._record(
                    code,
                    "language-introduction",
                    {"sv": f"Språkintroduktion, {name}", "en": f"Language introduction, {name}"},
                    common,
                    age_min=15,
                    age_max=20,
                )
        if "VUX" in types:
            parts = {str(p).upper() for p in normalise.split_list(_get(properties, "vux", "schoolTypeParts"))}
            for part, (category, age_min, title_sv, title_en) in ADULT_PARTS.items():
                if part in parts:
                    produced = True
                    yield self._record(
                        code,
                        category,
                        {"sv": f"{title_sv}, {name}", "en": f"{title_en}, {name}"},
                        common,
                        age_min=age_min,
                        age_max=None,
                    )
        if not produced:
            yield Skipped(code, f"no school type Vägvisare lists ({', '.join(sorted(types)) or 'none'})")

    def _record(self, code: str, category: str, title: dict, common: dict, **extra) -> OfferingRecord:
        return OfferingRecord(
            source_id=f"{code}:{category}",
            kind=CATEGORY_KIND[category],
            category=category,
            title=title,
            **common,
            **extra,
        )


def _list_items(listing: Any) -> list[dict]:
    data = listing.get("data") if isinstance(listing, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if isinstance(attributes, list):
        return [item for item in attributes if isinstance(item, dict)]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    raise FeedError("not a school-unit list (no data.attributes)")


def _visiting_address(addresses: Any) -> dict:
    if not isinstance(addresses, list):
        return {}
    valid = [a for a in addresses if isinstance(a, dict)]
    for address in valid:
        if str(address.get("type", "")).upper() == "BESOKSADRESS":
            return address
    return valid[0] if valid else {}


def _get(properties: dict, school_type: str, key: str) -> Any:
    value = properties.get(school_type)
    return value.get(key) if isinstance(value, dict) else None
