"""Skolverket's planned educations, v4: adult-education events (SFI, basic and upper-secondary komvux).

`GET /v4/adult-education-events` per configured municipality (`geographicalAreaCode`) and school type
(`typeOfSchool`, options.types, default sfi, vuxgr, vuxgy), paged (`page` from 0) by following
`_links.next` or `page.totalPages`; then, unless options.details is false, each event's detail for its
description, languages, contact and time of study. There is no delta: every run re-pulls, so it is a full
feed (what is gone is withdrawn).

Dirty data seen: CDATA inside titles, 2099-12-31 as "no deadline", "null" as a pace, paces as "100.0".
Who may attend is not stated: "everyone" for distance courses, "agreement" otherwise.

A local path is read as one saved page with every event (details may be inline in the items)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from catalog_sync import normalise
from catalog_sync.adapters import Adapter
from catalog_sync.fetch import is_local
from catalog_sync.records import FeedError, Item, OfferingRecord, RecordError, Rejection, Skipped

DEFAULT_URL = "https://api.skolverket.se/planned-educations"
ACCEPT = "application/vnd.skolverket.plannededucations.api.v4.hal+json"
TYPE_CATEGORY = {
    "sfi": "sfi",
    "vuxsfi": "sfi",
    "vuxgr": "komvux-basic",
    "vuxgy": "komvux-upper",
    "yh": "vocational",
}
CATEGORY_AGE = {"sfi": 16, "komvux-basic": 20, "komvux-upper": 20, "vocational": 18}
MAX_PAGES = 500
CONCURRENCY = 4


def category_of(type_of_school: str | None, queried: str | None) -> str | None:
    if queried and queried.lower() in TYPE_CATEGORY:
        return TYPE_CATEGORY[queried.lower()]
    label = (type_of_school or "").lower()
    if "sfi" in label or "svenska för invandrare" in label:
        return "sfi"
    if "grundläggande" in label:
        return "komvux-basic"
    if "gymnasial" in label:
        return "komvux-upper"
    if "yrkeshögskol" in label:
        return "vocational"
    return TYPE_CATEGORY.get(label)


def _time_of_study(value: Any) -> tuple[str, ...]:
    schedule = []
    for part in normalise.split_list(value):
        lowered = part.lower()
        if "dag" in lowered or "day" in lowered:
            schedule.append("day")
        elif "kväll" in lowered or "even" in lowered:
            schedule.append("evening")
        elif "helg" in lowered or "weekend" in lowered:
            schedule.append("weekend")
    return tuple(dict.fromkeys(schedule))


class PlannedEducationsAdapter(Adapter):
    name = "skolverket-planned"

    async def fetch(self) -> None:
        base = (self.feed.url or DEFAULT_URL).rstrip("/")
        if is_local(base):
            self.spool.add_response("page", await self.context.get(base))
            return
        headers = {"Accept": ACCEPT}
        size = int(self.feed.option("page_size", 100))
        types = list(self.feed.option("types", ["sfi", "vuxgr", "vuxgy"]))
        ids: list[str] = []
        for code in list(self.feed.municipalities) or [None]:
            for school_type in types:
                url: str | None = f"{base}/v4/adult-education-events"
                params: dict | None = {
                    "typeOfSchool": school_type,
                    "geographicalAreaCode": code,
                    "page": 0,
                    "size": size,
                }
                for _ in range(MAX_PAGES):
                    response = await self.context.get(url, params=params, headers=headers)
                    page = response.json()
                    self.spool.add("page", response.read(), type=school_type)
                    body = page.get("body", page) if isinstance(page, dict) else {}
                    ids.extend(
                        str(event.get("educationEventId"))
                        for event in _events(body)
                        if event.get("educationEventId")
                    )
                    self.context.progress("fetch", len(ids), _total(body))
                    url, params = _next(body, url, params)
                    if url is None:
                        break
                else:
                    raise FeedError(f"more than {MAX_PAGES} pages: stopping")
        self.total = len(ids)
        if not self.feed.option("details", True):
            return
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def detail(event_id: str) -> tuple[str, bytes | None]:
            async with semaphore:
                response = await self.context.get(
                    f"{base}/v4/adult-education-events/{event_id}", headers=headers, allow_statuses=(404,)
                )
            return event_id, (response.read() if response.status == 200 else None)

        for event_id, body in await asyncio.gather(*(detail(i) for i in dict.fromkeys(ids))):
            if body is not None:
                self.spool.add("detail", body, id=event_id)

    def items(self) -> Iterator[Item]:
        details: dict[str, dict] = {}
        for document, meta in self.spool.json_documents("detail"):
            body = document.get("body", document) if isinstance(document, dict) else {}
            if isinstance(body, dict):
                details[meta["id"]] = body
        for document, meta in self.spool.json_documents("page"):
            if not isinstance(document, dict):
                raise FeedError("not a planned-educations response")
            body = document.get("body", document)
            if not isinstance(body, dict) or "_embedded" not in body:
                raise FeedError("not a planned-educations response (no body._embedded)")
            for event in _events(body):
                event_id = str(event.get("educationEventId") or "?")
                try:
                    yield self.record(event, details.get(event_id, {}), meta.get("type"))
                except RecordError as exc:
                    yield Rejection(event_id, str(exc))
                except _Skip as skip:
                    yield Skipped(event_id, str(skip))

    def record(self, event: dict, detail: dict, queried: str | None) -> OfferingRecord:
        merged = {**event, **{k: v for k, v in detail.items() if v is not None}}
        event_id = normalise.text(merged.get("educationEventId"))
        if not event_id:
            raise RecordError("educationEventId is missing")
        category = category_of(normalise.text(merged.get("typeOfSchool")), queried)
        if category is None:
            raise _Skip(f"type of school {merged.get('typeOfSchool')!r}")
        municipality = normalise.municipality_code(
            merged.get("geographicalAreaCode"), self.context.known_codes
        )
        if municipality is None:
            raise RecordError("geographicalAreaCode is missing")
        if not self.municipality_allowed(municipality):
            raise _Skip(f"municipality {municipality}")
        title_sv = normalise.text(merged.get("titleSv"), max_length=300)
        if not title_sv:
            raise RecordError("titleSv is missing")
        title = {"sv": title_sv}
        title_en = normalise.text(merged.get("titleEn"), max_length=300)
        if title_en:
            title["en"] = title_en
        distance = normalise.boolean(merged.get("distance"), "distance")
        schedule = _time_of_study(merged.get("timeOfStudy"))
        if distance:
            schedule = (*schedule, "distance")
        contact = merged.get("contactInfo") if isinstance(merged.get("contactInfo"), dict) else {}
        addresses = contact.get("addresses") if isinstance(contact.get("addresses"), list) else []
        address = next((a for a in addresses if isinstance(a, dict)), {})
        description = normalise.long_text(merged.get("educationEventDescription"))
        languages = [
            normalise.language(lang) for lang in normalise.split_list(merged.get("instructionLanguages"))
        ]
        return OfferingRecord(
            source_id=event_id,
            kind="course",
            category=category,
            title=title,
            description={"sv": description} if description else {},
            publisher_code=municipality,
            municipality_code=municipality,
            open_to="everyone" if distance else "agreement",
            provider_name=normalise.text(
                merged.get("contractor") or merged.get("providerName"), max_length=200
            ),
            provider_email=normalise.text(contact.get("email"), max_length=200),
            provider_phone=normalise.text(contact.get("telephone"), max_length=40),
            street=normalise.text(address.get("streetAddress") or address.get("street"), max_length=200),
            postal_code=normalise.text(address.get("postalCode") or address.get("zipCode"), max_length=10),
            city=normalise.text(address.get("town") or merged.get("town"), max_length=100),
            start_date=normalise.day(merged.get("semesterStartFrom"), "semesterStartFrom"),
            application_deadline=normalise.day(merged.get("lastApplicationDate"), "lastApplicationDate"),
            schedule=schedule,
            pace_percent=normalise.integer(merged.get("paceOfStudy"), "paceOfStudy", 1, 100),
            languages=tuple(dict.fromkeys(lang for lang in languages if lang)),
            age_min=CATEGORY_AGE.get(category),
            url=normalise.text(contact.get("web"), max_length=500),
        )


class _Skip(Exception):  # noqa: N818 - control flow: a record this feed is not for
    pass


def _events(body: dict) -> list[dict]:
    embedded = body.get("_embedded") or {}
    events = embedded.get("listedAdultEducationEvents") if isinstance(embedded, dict) else None
    return [event for event in events or [] if isinstance(event, dict)]


def _total(body: dict) -> int | None:
    page = body.get("page")
    return page.get("totalElements") if isinstance(page, dict) else None


def _next(body: dict, url: str, params: dict | None) -> tuple[str | None, dict | None]:
    """The next page: `_links.next.href` when given, else page + 1 while below totalPages."""
    links = body.get("_links") if isinstance(body.get("_links"), dict) else {}
    following = links.get("next")
    if isinstance(following, dict) and following.get("href"):
        return urljoin(url, following["href"]), None
    page = body.get("page") if isinstance(body.get("page"), dict) else {}
    number, pages = page.get("number"), page.get("totalPages")
    if params is None or not isinstance(number, int) or not isinstance(pages, int) or number + 1 >= pages:
        return None, None
    return url, {**params, "page": number + 1}
