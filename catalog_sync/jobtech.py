"""JobTech (Arbetsförmedlingen) job ads: JobSearch and JobStream, same ad format.

Only municipal employers are kept: organisation numbers starting with 212000 (options.employer_prefix).
An ad becomes a "job", or an "internship" when its headline or employment type says praktik; open to
everyone. `workplace_address.coordinates` is `[lon, lat]`.

- jobtech-search: `/search` with `employer` (the prefix) and `municipality` per configured municipality,
  paged by `offset` (at most 2000) and `limit` (at most 100); a full feed, unless the results were cut at
  the offset limit (then nothing is withdrawn, to be safe). 429 is waited out by the fetcher.
- jobtech-stream: `/snapshot` on the first run (or `--full`), a full feed; then `/stream?date=…` since the
  last good run (three-hour overlap): a delta in which `removed: true` ads are withdrawn.

A local path is read as one saved response: `{"hits": [...]}` or a list of ads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from catalog_sync import jsonstream, normalise
from catalog_sync.adapters import Adapter
from catalog_sync.fetch import is_local
from catalog_sync.records import FeedError, Item, OfferingRecord, RecordError, Rejection, Removal, Skipped

SEARCH_URL = "https://jobsearch.api.jobtechdev.se"
STREAM_URL = "https://jobstream.api.jobtechdev.se"
MUNICIPAL_PREFIX = "212000"
MAX_OFFSET = 2000
LIMIT = 100
OVERLAP = timedelta(hours=3)
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%S"
INTERNSHIP_WORDS = ("praktik", "praktikant", "internship", "trainee", "lärling")


class _JobTechAdapter(Adapter):
    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        headers.update({str(k): str(v) for k, v in (self.feed.option("headers") or {}).items()})
        return headers

    def ad_item(self, ad: Any) -> Item:
        if not isinstance(ad, dict):
            return Rejection("?", "an ad must be an object")
        ad_id = str(ad.get("id") or "?")
        if ad.get("removed") is True:
            return Removal(ad_id)
        employer = ad.get("employer") if isinstance(ad.get("employer"), dict) else {}
        org_number = "".join(ch for ch in str(employer.get("organization_number") or "") if ch.isdigit())
        if not org_number.startswith(str(self.feed.option("employer_prefix", MUNICIPAL_PREFIX))):
            return Skipped(ad_id, "not a municipal employer")
        try:
            return self.record(ad_id, ad, employer)
        except RecordError as exc:
            return Rejection(ad_id, str(exc))

    def record(self, ad_id: str, ad: dict, employer: dict) -> Item:
        address = ad.get("workplace_address") if isinstance(ad.get("workplace_address"), dict) else {}
        municipality = normalise.municipality_code(address.get("municipality_code"), self.context.known_codes)
        if municipality is None:
            raise RecordError("workplace_address.municipality_code is missing")
        if not self.municipality_allowed(municipality):
            return Skipped(ad_id, f"municipality {municipality}")
        headline = normalise.text(ad.get("headline"), max_length=300)
        if not headline:
            raise RecordError("headline is missing")
        description = ad.get("description") if isinstance(ad.get("description"), dict) else {}
        text = normalise.long_text(description.get("text_formatted") or description.get("text"))
        employment = ad.get("employment_type") if isinstance(ad.get("employment_type"), dict) else {}
        label = f"{headline} {employment.get('label') or ''}".lower()
        category = "internship" if any(word in label for word in INTERNSHIP_WORDS) else "job"
        scope = ad.get("scope_of_work") if isinstance(ad.get("scope_of_work"), dict) else {}
        pace = scope.get("max") or scope.get("min")
        details = ad.get("application_details") if isinstance(ad.get("application_details"), dict) else {}
        lat, lon = normalise.lon_lat_pair(address.get("coordinates"))
        return OfferingRecord(
            source_id=ad_id,
            kind=category,
            category=category,
            title={"sv": headline},
            description={"sv": text} if text else {},
            publisher_code=municipality,
            municipality_code=municipality,
            open_to="everyone",
            provider_name=normalise.text(employer.get("name"), max_length=200),
            provider_email=normalise.text(details.get("email"), max_length=200),
            street=normalise.text(address.get("street_address"), max_length=200),
            postal_code=normalise.text(address.get("postcode"), max_length=10),
            city=normalise.text(address.get("city") or address.get("municipality"), max_length=100),
            lat=lat,
            lon=lon,
            application_deadline=normalise.day(ad.get("application_deadline"), "application_deadline"),
            pace_percent=normalise.integer(pace, "scope_of_work", 1, 100),
            age_min=16 if category == "internship" else 18,
            seats=normalise.integer(ad.get("number_of_vacancies"), "number_of_vacancies", 0, 10000),
            url=normalise.text(ad.get("webpage_url") or details.get("url"), max_length=500),
        )


class JobSearchAdapter(_JobTechAdapter):
    name = "jobtech-search"

    async def fetch(self) -> None:
        base = (self.feed.url or SEARCH_URL).rstrip("/")
        if is_local(base):
            self.spool.add_response("ads", await self.context.get(base))
            return
        prefix = str(self.feed.option("employer_prefix", MUNICIPAL_PREFIX))
        fetched = 0
        for code in list(self.feed.municipalities) or [None]:
            offset = 0
            while True:
                params = {"employer": prefix, "municipality": code, "offset": offset, "limit": LIMIT}
                response = await self.context.get(f"{base}/search", params=params, headers=self.headers())
                page = response.json()
                if not isinstance(page, dict) or not isinstance(page.get("hits"), list):
                    raise FeedError("not a JobSearch response (no hits)")
                self.spool.add("ads", response.read())
                hits = page["hits"]
                total = page.get("total", {}).get("value") if isinstance(page.get("total"), dict) else None
                fetched += len(hits)
                self.context.progress("fetch", fetched, total)
                offset += len(hits)
                if not hits or (isinstance(total, int) and offset >= total):
                    break
                if offset > MAX_OFFSET:
                    # The API pages no further: what is missing may still be published.
                    self.complete = False
                    break
        self.total = fetched

    def items(self) -> Iterator[Item]:
        for document, _ in self.spool.json_documents("ads"):
            ads = document.get("hits") if isinstance(document, dict) else document
            if not isinstance(ads, list):
                raise FeedError("not a JobSearch response (no hits)")
            for ad in ads:
                yield self.ad_item(ad)


class JobStreamAdapter(_JobTechAdapter):
    name = "jobtech-stream"

    async def fetch(self) -> None:
        base = (self.feed.url or STREAM_URL).rstrip("/")
        started = self.context.clock().astimezone(normalise.STOCKHOLM)
        if is_local(base):
            self.spool.add_response("ads", await self.context.get(base))
            return
        since = None if self.context.full else self.context.memory.cursor
        self.complete = since is None
        if since is None:
            response = await self.context.get(f"{base}/snapshot", headers=self.headers(), to_file=True)
        else:
            response = await self.context.get(
                f"{base}/stream", params={"date": since}, headers=self.headers(), to_file=True
            )
        self.spool.add_response("ads", response)
        self.context.new_cursor = (started - OVERLAP).strftime(CURSOR_FORMAT)

    def items(self) -> Iterator[Item]:
        for path, _ in self.spool.documents("ads"):
            with path.open("rb") as handle:
                first = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
                handle.seek(0)
                try:
                    for event in jsonstream.stream(handle, "hits" if first == b"{" else None):
                        if isinstance(event, jsonstream.StreamStart) and event.kind != "array":
                            raise FeedError("not a JobStream response (no list of ads)")
                        if isinstance(event, jsonstream.Element):
                            yield self.ad_item(event.value)
                except jsonstream.JsonStreamError as exc:
                    raise FeedError(f"not valid JSON: {exc}") from None
