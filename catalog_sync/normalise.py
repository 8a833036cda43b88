"""Cleaning what feeds publish, before it becomes an `OfferingRecord`.

Every function here is pure and forgiving about form (strings for numbers, decimal commas, CDATA wrappers,
"null" as a string) but strict about meaning: a value that cannot be understood raises `RecordError` with a
reason a publisher can act on, and the record is rejected while the rest of the feed goes in."""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from catalog_sync.records import RecordError

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Dates some sources write for "no date" (e.g. no application deadline).
SENTINEL_DATES = {date(2099, 12, 31), date(9999, 12, 31), date(1900, 1, 1)}
NULL_STRINGS = {"", "null", "none", "nil", "undefined", "n/a", "-"}
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_TAG = re.compile(r"<[A-Za-z/!]")

# Sweden with a margin: used to tell [lat, lon] from [lon, lat] and to catch swapped or foreign points.
SWEDEN_LAT = (54.5, 69.5)
SWEDEN_LON = (10.0, 24.5)


# --- text ------------------------------------------------------------------------------------------------


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_STRINGS)


def text(value: Any, *, max_length: int | None = None) -> str | None:
    """A single-line text: CDATA unwrapped, entities decoded, spaces collapsed; "null" and blanks are None."""
    if is_null(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"expected a text, got {type(value).__name__}")
    cleaned = _CDATA.sub(r"\1", str(value))
    if _TAG.search(cleaned):
        cleaned = html_to_text(cleaned)
    cleaned = _SPACES.sub(" ", html.unescape(cleaned).replace("\r", " ").replace("\n", " ")).strip()
    if not cleaned or cleaned.lower() in NULL_STRINGS:
        return None
    if max_length and len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


def long_text(value: Any, *, max_length: int = 4000) -> str | None:
    """A description: HTML turned into plain text with paragraph breaks kept."""
    if is_null(value):
        return None
    if not isinstance(value, str):
        raise RecordError(f"expected a text, got {type(value).__name__}")
    cleaned = _CDATA.sub(r"\1", value)
    cleaned = html_to_text(cleaned) if _TAG.search(cleaned) else html.unescape(cleaned)
    lines = [_SPACES.sub(" ", line).strip() for line in cleaned.replace("\r", "").split("\n")]
    cleaned = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not cleaned or cleaned.lower() in NULL_STRINGS:
        return None
    if len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


class _TextExtractor(HTMLParser):
    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
    }
    SKIP = {"script", "style", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in {"p", "div", "ul", "ol", "table", "section"} or tag.startswith("h"):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data.replace("\n", " "))


def html_to_text(value: str) -> str:
    """Markup stripped to its text; block elements become line breaks, list items bullets."""
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    joined = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in joined.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def texts(value: Any, name: str, *, long: bool = False) -> dict[str, str]:
    """Text per language ({"sv": …, "en": …}); blank entries dropped."""
    if is_null(value):
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{name} must map language codes to texts")
    result: dict[str, str] = {}
    for lang, item in value.items():
        if not isinstance(lang, str) or (item is not None and not isinstance(item, str)):
            raise RecordError(f"{name} must map language codes to texts")
        cleaned = long_text(item) if long else text(item)
        if cleaned:
            result[lang] = cleaned
    return result


# --- numbers ---------------------------------------------------------------------------------------------


def number(value: Any, name: str) -> float | None:
    """A number from a number or a string ("59,1996", "100.0", " 12 "); "null" is None."""
    if is_null(value):
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name} must be a number")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        cleaned = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            result = float(cleaned)
        except ValueError:
            raise RecordError(f"{name} must be a number, got {value!r}") from None
    else:
        raise RecordError(f"{name} must be a number")
    if not math.isfinite(result):
        raise RecordError(f"{name} must be a finite number")
    return result


def integer(value: Any, name: str, low: int, high: int) -> int | None:
    result = number(value, name)
    if result is None:
        return None
    if not low <= result <= high:
        raise RecordError(f"{name} must be a number from {low} to {high}")
    return int(round(result))


def boolean(value: Any, name: str, default: bool = False) -> bool:
    if is_null(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "yes", "ja", "1", "y", "j", "x"}:
            return True
        if lowered in {"false", "no", "nej", "0", "n"}:
            return False
    raise RecordError(f"{name} must be true or false, got {value!r}")


# --- dates -----------------------------------------------------------------------------------------------


def day(value: Any, name: str) -> date | None:
    """A date from "2027-01-11", "2027-01-11T23:59:59" or a datetime; 2099-12-31 and other sentinels: None."""
    if is_null(value):
        return None
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, str):
        cleaned = _CDATA.sub(r"\1", value).strip()
        try:
            result = (
                date.fromisoformat(cleaned[:10])
                if len(cleaned) == 10
                else datetime.fromisoformat(cleaned.replace("Z", "+00:00")).date()
            )
        except ValueError:
            raise RecordError(f"{name} is not a date (YYYY-MM-DD): {value!r}") from None
    else:
        raise RecordError(f"{name} is not a date (YYYY-MM-DD)")
    return None if result in SENTINEL_DATES else result


def moment(value: Any, name: str, *, naive_zone: ZoneInfo | None = None) -> datetime | None:
    """An aware datetime. Without an offset it is an error, unless the source is known to write local time
    (`naive_zone`)."""
    if is_null(value):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name} is not a date and time (ISO 8601)")
    try:
        result = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{name} is not a date and time (ISO 8601): {value!r}") from None
    if result.tzinfo is None:
        if naive_zone is None:
            raise RecordError(f"{name} needs a UTC offset, e.g. 2027-01-12T10:00:00+01:00")
        result = result.replace(tzinfo=naive_zone)
    if result.date() in SENTINEL_DATES:
        return None
    return result


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# --- places ----------------------------------------------------------------------------------------------


def municipality_code(value: Any, known: set[str] | frozenset[str] | None = None) -> str | None:
    """An SCB code as 4 characters with its leading zero: 127, "127" and "0127" are all "0127"."""
    if is_null(value):
        return None
    if isinstance(value, bool):
        raise RecordError(f"not a municipality code: {value!r}")
    cleaned = str(int(value)) if isinstance(value, int | float) else str(value).strip()
    if not cleaned.isdigit() or len(cleaned) > 4:
        raise RecordError(f"not a municipality code: {value!r}")
    cleaned = cleaned.zfill(4)
    if known is not None and cleaned not in known:
        raise RecordError(f"unknown municipality code {cleaned!r}")
    return cleaned


def in_sweden(lat: float, lon: float) -> bool:
    return SWEDEN_LAT[0] <= lat <= SWEDEN_LAT[1] and SWEDEN_LON[0] <= lon <= SWEDEN_LON[1]


def lat_lon(lat: Any, lon: Any) -> tuple[float | None, float | None]:
    """WGS 84 from two values (numbers or strings with decimal commas). Swapped values are put right when
    only the swapped order lies in Sweden; a point that is neither is rejected."""
    lat_value, lon_value = number(lat, "latitude"), number(lon, "longitude")
    if lat_value is None or lon_value is None:
        return None, None
    if lat_value == 0 and lon_value == 0:
        return None, None
    if not in_sweden(lat_value, lon_value) and in_sweden(lon_value, lat_value):
        lat_value, lon_value = lon_value, lat_value
    if not (-90 <= lat_value <= 90 and -180 <= lon_value <= 180):
        raise RecordError("location is out of range")
    return lat_value, lon_value


def lon_lat_pair(value: Any) -> tuple[float | None, float | None]:
    """GeoJSON order, `[lon, lat]` (JobTech), to (lat, lon)."""
    if is_null(value) or value == []:
        return None, None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise RecordError("coordinates must be [lon, lat]")
    return lat_lon(value[1], value[0])


# SWEREF 99 TM (EPSG:3006): transverse Mercator on GRS 80, central meridian 15° E, scale 0.9996,
# false easting 500 000 m. Inverse by Gauss–Krüger's formulas as Lantmäteriet publishes them
# ("Gauss konforma projektion (Gauss-Krügers projektion)"); good to well under a millimetre in Sweden.
_A = 6378137.0
_F = 1 / 298.257222101
_K0 = 0.9996
_LON0 = math.radians(15.0)
_FALSE_N, _FALSE_E = 0.0, 500000.0
_E2 = _F * (2 - _F)
_N = _F / (2 - _F)
_A_ROOF = _A / (1 + _N) * (1 + _N**2 / 4 + _N**4 / 64)
_DELTA = (
    _N / 2 - 2 * _N**2 / 3 + 37 * _N**3 / 96 - _N**4 / 360,
    _N**2 / 48 + _N**3 / 15 - 437 * _N**4 / 1440,
    17 * _N**3 / 480 - 37 * _N**4 / 840,
    4397 * _N**4 / 161280,
)
_BETA = (
    _N / 2 - 2 * _N**2 / 3 + 5 * _N**3 / 16 + 41 * _N**4 / 180,
    13 * _N**2 / 48 - 3 * _N**3 / 5 + 557 * _N**4 / 1440,
    61 * _N**3 / 240 - 103 * _N**4 / 140,
    49561 * _N**4 / 161280,
)
_A_STAR = _E2 + _E2**2 + _E2**3 + _E2**4
_B_STAR = -(7 * _E2**2 + 17 * _E2**3 + 30 * _E2**4) / 6
_C_STAR = (224 * _E2**3 + 889 * _E2**4) / 120
_D_STAR = -(4279 * _E2**4) / 1260


def sweref99tm_to_wgs84(northing: float, easting: float) -> tuple[float, float]:
    """(N, E) in metres to (lat, lon) in degrees."""
    xi = (northing - _FALSE_N) / (_K0 * _A_ROOF)
    eta = (easting - _FALSE_E) / (_K0 * _A_ROOF)
    xi_prim, eta_prim = xi, eta
    for index, delta in enumerate(_DELTA, start=1):
        k = 2 * index
        xi_prim -= delta * math.sin(k * xi) * math.cosh(k * eta)
        eta_prim -= delta * math.cos(k * xi) * math.sinh(k * eta)
    phi_star = math.asin(math.sin(xi_prim) / math.cosh(eta_prim))
    delta_lambda = math.atan(math.sinh(eta_prim) / math.cos(xi_prim))
    sin2 = math.sin(phi_star) ** 2
    lat = phi_star + math.sin(phi_star) * math.cos(phi_star) * (
        _A_STAR + _B_STAR * sin2 + _C_STAR * sin2**2 + _D_STAR * sin2**3
    )
    return math.degrees(lat), math.degrees(_LON0 + delta_lambda)


def wgs84_to_sweref99tm(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) in degrees to (N, E) in metres: the forward projection, for tests and round trips."""
    a = _E2
    b = (5 * _E2**2 - _E2**3) / 6
    c = (104 * _E2**3 - 45 * _E2**4) / 120
    d = (1237 * _E2**4) / 1260
    phi = math.radians(lat)
    sin2 = math.sin(phi) ** 2
    phi_star = phi - math.sin(phi) * math.cos(phi) * (a + b * sin2 + c * sin2**2 + d * sin2**3)
    delta_lambda = math.radians(lon) - _LON0
    xi_prim = math.atan(math.tan(phi_star) / math.cos(delta_lambda))
    eta_prim = math.atanh(math.cos(phi_star) * math.sin(delta_lambda))
    x, y = xi_prim, eta_prim
    for index, beta in enumerate(_BETA, start=1):
        k = 2 * index
        x += beta * math.sin(k * xi_prim) * math.cosh(k * eta_prim)
        y += beta * math.cos(k * xi_prim) * math.sinh(k * eta_prim)
    return _K0 * _A_ROOF * x + _FALSE_N, _K0 * _A_ROOF * y + _FALSE_E


def sweref_point(northing: Any, easting: Any) -> tuple[float | None, float | None]:
    """SWEREF 99 TM strings ("6562397,097") to WGS 84; a point outside Sweden's grid is rejected."""
    n, e = number(northing, "SWEREF 99 northing"), number(easting, "SWEREF 99 easting")
    if n is None or e is None:
        return None, None
    if not (6_100_000 <= n <= 7_700_000 and 200_000 <= e <= 1_000_000):
        raise RecordError(f"SWEREF 99 TM point ({n}, {e}) is outside Sweden")
    return sweref99tm_to_wgs84(n, e)


def location(
    lat: Any = None, lon: Any = None, *, sweref_n: Any = None, sweref_e: Any = None
) -> tuple[float | None, float | None]:
    """WGS 84 when the source gives it (and it makes sense), else SWEREF 99 TM converted."""
    try:
        wgs = lat_lon(lat, lon)
    except RecordError:
        wgs = (None, None)
    if wgs[0] is not None:
        return wgs
    return sweref_point(sweref_n, sweref_e)


# --- lists -----------------------------------------------------------------------------------------------


def split_list(value: Any) -> list[str]:
    """A list, or a `;`-separated (or `,`-separated) string, as stripped non-empty strings."""
    if is_null(value):
        return []
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if not is_null(item)]
    if isinstance(value, str):
        separator = ";" if ";" in value else ","
        return [part.strip() for part in value.split(separator) if part.strip()]
    raise RecordError(f"expected a list, got {type(value).__name__}")


# ISO 639-2 (as Susa-navet and Skolverket write them) to the project's codes.
LANGUAGE_CODES = {
    "swe": "sv",
    "eng": "en",
    "ara": "ar",
    "fas": "fa",
    "per": "fa",
    "prs": "prs",
    "pus": "ps",
    "som": "so",
    "tir": "ti",
    "ukr": "uk",
    "rus": "ru",
    "ckb": "ckb",
    "kmr": "kmr",
    "kur": "ckb",
    "fin": "fi",
    "deu": "de",
    "ger": "de",
    "fra": "fr",
    "fre": "fr",
    "spa": "es",
    "svenska": "sv",
    "engelska": "en",
    "arabiska": "ar",
    "persiska": "fa",
    "dari": "prs",
    "pashto": "ps",
    "somaliska": "so",
    "tigrinja": "ti",
    "ukrainska": "uk",
    "ryska": "ru",
}


def language(value: Any) -> str | None:
    cleaned = text(value)
    if cleaned is None:
        return None
    lowered = cleaned.lower()
    if lowered in LANGUAGE_CODES:
        return LANGUAGE_CODES[lowered]
    return lowered if re.fullmatch(r"[a-z]{2,3}", lowered) else None
