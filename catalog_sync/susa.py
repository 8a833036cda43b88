"""Susa-navet, EMIL 3 JSON: education events (`/educationEvents`).

The first run (or `--full`) pulls everything for the configured school types (options.school_types,
default VUXSFI, VUXGR, VUXGY) and is a full feed. Later runs ask only for what changed since the last good
run (`updatedSince`, with a three-hour overlap since the API does not say which time zone it means): a
delta, in which removed or cancelled events are withdrawn and nothing else is. Pages are followed (`page`
from 0, `size` up to 2000); a 503 "currently updating" is waited out by the fetcher.

How removal is marked is unverified: a status such as "removed"/"deleted"/"inactive", an event without
content, and `isCancelled: true` all count. Provider names come from `/educationProviders/{id}`.
Events are filtered to the configured municipalities by `locations[].areaCode`.

A local path is read as one saved page with every event, optionally with `educationProviders`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin

from catalog_sync import normalise
from catalog_sync.adapters import Adapter
from catalog_sync.fetch import is_local
from catalog_sync.records import FeedError, Item, OfferingRecord, RecordError, Rejection, Removal, Skipped

DEFAULT_URL = "https://api.skolverket.se/susa-navet/emil3"
SCHOOL_TYPE_CATEGORY = {
    "VUXSFI": "sfi",
    "SFI": "sfi",
    "VUXGR": "komvux-basic",
    "VUXGY": "komvux-upper",
    "GY": "upper-secondary",
    "YH": "vocational",
}
CATEGORY_AGE = {"sfi": 16, "komvux-basic": 20, "komvux-upper": 20, "vocational": 18, "upper-secondary": 15}
REMOVED = {"removed", "deleted", "inactive", "cancelled", "canceled", "withdrawn", "borttagen", "raderad"}
OVERLAP = timedelta(hours=3)
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%S"
MAX_PAGES = 1000
CONCURRENCY = 4


def strings(value: Any, lang: str = "swe") -> str | None:
    """EMIL's language strings: {"strings": [{"lang", "value"}]} (also "string", a list or plain text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = value.get("strings", value.get("string", value.get("urls", value.get("value"))))
        if isinstance(value, str):
            return value
    if isinstance(value, list):
        entries = [entry for entry in value if isinstance(entry, dict)]
        for entry in entries:
            if entry.get("lang") == lang:
                return entry.get("value")
        if lang == "swe" and entries:
            return entries[0].get("value")
    return None


class SusaAdapter(Adapter):
    name = "susa-navet"

    async def fetch(self) -> None:
        base = (self.feed.url or DEFAULT_URL).rstrip("/")
        started = self.context.clock().astimezone(normalise.STOCKHOLM)
        if is_local(base):
            self.spool.add_response("page", await self.context.get(base))
            return
        since = None if self.context.full else self.context.memory.cursor
        self.complete = since is None
        size = min(int(self.feed.option("page_size", 500)), 2000)
        provider_ids: set[str] = set()
        fetched = 0
        for school_type in self.feed.option("school_types", ["VUXSFI", "VUXGR", "VUXGY"]):
            url: str | None = f"{base}/educationEvents"
            params: dict | None = {"schoolType": school_type, "page": 0, "size": size, "updatedSince": since}
            for _ in range(MAX_PAGES):
                response = await self.context.get(url, params=params)
                page = response.json()
                if not isinstance(page, dict) or not isinstance(page.get("educationEvents"), list):
                    raise FeedError("not an EMIL 3 educationEvents response")
                self.spool.add("page", response.read(), school_type=school_type)
                for event in page["educationEvents"]:
                    content = event.get("content") if isinstance(event, dict) else None
                    if isinstance(content, dict):
                        provider_ids.update(str(p) for p in content.get("providers") or [] if p)
                fetched += len(page["educationEvents"])
                paging = page.get("page") if isinstance(page.get("page"), dict) else {}
                self.context.progress("fetch", fetched, paging.get("totalElements"))
                url, params = _next(page, url, params)
                if url is None:
                    break
            else:
                raise FeedError(f"more than {MAX_PAGES} pages: stopping")
        self.total = fetched
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def provider(provider_id: str) -> tuple[str, bytes | None]:
            async with semaphore:
                response = await self.context.get(
                    f"{base}/educationProviders/{provider_id}", allow_statuses=(404,)
                )
            return provider_id, (response.read() if response.status == 200 else None)

        for provider_id, body in await asyncio.gather(*(provider(p) for p in sorted(provider_ids))):
            if body is not None:
                self.spool.add("provider", body, id=provider_id)
        self.context.new_cursor = (started - OVERLAP).strftime(CURSOR_FORMAT)

    def items(self) -> Iterator[Item]:
        providers: dict[str, dict] = {}
        for document, meta in self.spool.json_documents("provider"):
            providers[meta["id"]] = _provider(document)
        for document, _ in self.spool.json_documents("page"):
            if isinstance(document, dict):
                for entry in document.get("educationProviders") or []:
                    if isinstance(entry, dict) and entry.get("id"):
                        providers[str(entry["id"])] = _provider(entry)
        for document, meta in self.spool.json_documents("page"):
            if not isinstance(document, dict) or not isinstance(document.get("educationEvents"), list):
                raise FeedError("not an EMIL 3 educationEvents response")
            for event in document["educationEvents"]:
                yield self.event_item(event, providers, meta.get("school_type"))

    def event_item(self, event: Any, providers: dict[str, dict], school_type: str | None) -> Item:
        if not isinstance(event, dict):
            return Rejection("?", "an education event must be an object")
        content = event.get("content")
        event_id = str(event.get("id") or (content or {}).get("identifier") or "?")
        status = str(event.get("status") or "").strip().lower()
        if status in REMOVED or not isinstance(content, dict) or content.get("isCancelled") is True:
            return Removal(event_id)
        try:
            return self.record(event_id, content, providers, school_type)
        except RecordError as exc:
            return Rejection(event_id, str(exc))
        except _OutOfScope as skip:
            # In a delta, an event that moved out of scope must leave the catalogue too.
            return Skipped(event_id, str(skip)) if self.complete else Removal(event_id)

    def record(
        self, event_id: str, content: dict, providers: dict[str, dict], school_type: str | None
    ) -> OfferingRecord:
        category = SCHOOL_TYPE_CATEGORY.get(str(school_type or content.get("schoolType") or "").upper())
        if category is None:
            category = SCHOOL_TYPE_CATEGORY.get(str(self.feed.option("category", "")).upper())
        if category is None:
            raise _OutOfScope(f"school type {school_type!r}")
        locations = [loc for loc in content.get("locations") or [] if isinstance(loc, dict)]
        location = next(
            (loc for loc in locations if self.municipality_allowed(_code(loc.get("areaCode")))),
            locations[0] if locations else {},
        )
        municipality = normalise.municipality_code(location.get("areaCode"), self.context.known_codes)
        distance = bool(content.get("distance")) and content.get("distance") not in ("false", "null")
        if municipality is None:
            if distance and self.feed.municipality:
                municipality = self.feed.municipality
            else:
                raise RecordError("the event has no location with an areaCode")
        if not self.municipality_allowed(municipality):
            raise _OutOfScope(f"municipality {municipality}")
        title_sv = normalise.text(strings(content.get("title")), max_length=300)
        if not title_sv:
            raise RecordError("title (swe) is missing")
        title = {"sv": title_sv}
        title_en = normalise.text(strings(content.get("title"), "eng"), max_length=300)
        if title_en and title_en != title_sv:
            title["en"] = title_en
        execution = content.get("execution") if isinstance(content.get("execution"), dict) else {}
        application = content.get("application") if isinstance(content.get("application"), dict) else {}
        pace = content.get("paceOfStudy")
        provider_ids = [str(p) for p in content.get("providers") or [] if p]
        provider = providers.get(provider_ids[0], {}) if provider_ids else {}
        languages = [normalise.language(code) for code in content.get("languageOfInstructions") or []]
        schedule = ("distance",) if distance else ()
        return OfferingRecord(
            source_id=event_id,
            kind="course" if category != "upper-secondary" else "school",
            category=category,
            title=title,
            publisher_code=municipality,
            municipality_code=municipality,
            open_to="everyone" if distance else "agreement",
            provider_name=provider.get("name"),
            provider_email=provider.get("email"),
            provider_phone=provider.get("phone"),
            city=normalise.text(location.get("town"), max_length=100),
            start_date=normalise.day(execution.get("start"), "execution.start"),
            end_date=normalise.day(execution.get("end"), "execution.end"),
            application_deadline=normalise.day(application.get("last"), "application.last"),
            schedule=schedule,
            pace_percent=normalise.integer(
                pace.get("percentage") if isinstance(pace, dict) else pace, "paceOfStudy", 1, 100
            ),
            languages=tuple(dict.fromkeys(lang for lang in languages if lang)),
            age_min=CATEGORY_AGE.get(category),
            seats=normalise.integer(content.get("places"), "places", 0, 100000),
            url=normalise.text(strings(content.get("url")), max_length=500),
        )


class _OutOfScope(Exception):  # noqa: N818 - control flow
    pass


def _code(value: Any) -> str | None:
    try:
        return normalise.municipality_code(value)
    except RecordError:
        return None


def _provider(document: Any) -> dict:
    """Name, e-mail and phone of an EMIL provider document, wherever the API nests them."""
    if not isinstance(document, dict):
        return {}
    content = document.get("content", document)
    if isinstance(content, dict) and isinstance(content.get("educationProvider"), dict):
        content = content["educationProvider"]
    if not isinstance(content, dict):
        return {}
    email = content.get("emailAddress") or content.get("email")
    phone = content.get("phone") or content.get("phoneNumber")
    return {
        "name": normalise.text(strings(content.get("name")), max_length=200),
        "email": normalise.text(strings(email) if not isinstance(email, str) else email, max_length=200),
        "phone": normalise.text(strings(phone) if not isinstance(phone, str) else phone, max_length=40),
    }


def _next(page: dict, url: str, params: dict | None) -> tuple[str | None, dict | None]:
    for link in page.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return urljoin(url, link["href"]), None
    paging = page.get("page") if isinstance(page.get("page"), dict) else {}
    number, pages = paging.get("pageNumber"), paging.get("totalPages")
    if params is None or not isinstance(number, int) or not isinstance(pages, int) or number + 1 >= pages:
        return None, None
    return url, {**params, "page": number + 1}
