"""The gettext catalogs, read and checked: shared by the completeness test, the coverage table and
`new_catalog.py`.

A catalog is `locales/<code>/LC_MESSAGES/messages.po`, `<code>` one of `dialogs.languages.LANGUAGES`; Babel
reads it with the language's Babel locale (Dari is "fa_AF" to Babel), which gives its plural rules.
"""

from __future__ import annotations

import gettext
import string
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialogs.languages import DOMAIN, LANGUAGES, Language, catalog_path  # noqa: E402

LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
# The same options as `make extract-translations` (see the Makefile).
EXTRACT_KEYWORDS = ("_", "N_", "n_:1,2", "K_:1c,2")
KEYWORDS_CONTEXT = "keywords"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def catalogs(localedir: Path = LOCALES) -> dict[str, Path]:
    """Every catalog in `localedir`, by its folder name (a language code, if all is well)."""
    return {path.parent.parent.name: path for path in sorted(localedir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))}


def read_catalog(code: str, localedir: Path = LOCALES) -> Catalog:
    return read(catalog_path(localedir, code), LANGUAGES[code].babel_locale)


def expected_plural_forms(lang: Language) -> str:
    """The Plural-Forms header Babel (pinned) writes for the language, from CLDR's plural rules."""
    plural = get_plural(lang.babel_locale)
    return f"nplurals={plural.num_plurals}; plural={plural.plural_expr};"


def extract(root: Path = ROOT) -> Catalog:
    """The messages in the code now, extracted as `make extract-translations` does, into a temporary file."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "messages.pot"
        args = ["pybabel", "-q", "extract", "-F", str(root / "babel.cfg"), "-o", str(output)]
        for keyword in EXTRACT_KEYWORDS:
            args += ["-k", keyword]
        args += ["--add-comments=Translators:", str(root)]
        CommandLineInterface().run(args)
        return read(output)


def keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    """(context, msgid) of every message; a plural message by its singular."""
    return {(message.context, _singular(message)) for message in catalog if message.id}


def _singular(message: Message) -> str:
    return message.id[0] if isinstance(message.id, list | tuple) else message.id


def placeholders(text: str) -> set[str]:
    """The `{names}` of a str.format text; raises ValueError for a broken one ("{ref" or "ref}")."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None and name != ""}


def forms_for_one_number(lang: Language) -> set[int]:
    """The plural forms used for exactly one number (Arabic's zero, one and two; the "one" of many
    languages): these may leave `{n}` out ("one course", "two courses")."""
    form = gettext.c2py(get_plural(lang.babel_locale).plural_expr)
    hits: dict[int, set[int]] = {}
    for n in range(0, 1001):
        hits.setdefault(form(n), set()).add(n)
    return {form for form, numbers in hits.items() if len(numbers) == 1}


@dataclass(frozen=True)
class Problem:
    code: str
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"{self.code}: {self.msgid[:70]!r}: {self.what}"


def check(code: str, catalog: Catalog, template: Catalog) -> list[Problem]:
    """Everything wrong with one catalog (empty when it is complete and correct)."""
    lang = LANGUAGES[code]
    problems: list[Problem] = []
    header = catalog.mime_headers
    plural_forms = dict(header).get("Plural-Forms", "")
    if plural_forms.replace(" ", "") != expected_plural_forms(lang).replace(" ", ""):
        problems.append(
            Problem(code, "", f"Plural-Forms is {plural_forms!r}, CLDR says {expected_plural_forms(lang)!r}")
        )
    for message in catalog.obsolete.values():
        problems.append(Problem(code, _singular(message), "obsolete entry: run `make update-translations`"))
    missing = keys(template) - keys(catalog)
    extra = keys(catalog) - keys(template)
    problems += [
        Problem(code, msgid, "missing: run `make update-translations`") for _, msgid in sorted(missing)
    ]
    problems += [Problem(code, msgid, "not in messages.pot") for _, msgid in sorted(extra)]
    for message in catalog:
        if message.id:
            problems += [Problem(code, _singular(message), what) for what in _message_problems(lang, message)]
    return problems


def _message_problems(lang: Language, message: Message) -> list[str]:
    if message.fuzzy:
        return ["fuzzy: check the translation, then remove the fuzzy flag"]
    sources = list(message.id) if isinstance(message.id, list | tuple) else [message.id]
    translations = list(message.string) if isinstance(message.string, list | tuple) else [message.string]
    if not all(translations):
        return ["not translated"]
    if message.context == KEYWORDS_CONTEXT:
        return _keyword_problems(sources[0], translations[0])
    try:
        wanted = set().union(*(placeholders(source) for source in sources))
    except ValueError as exc:
        return [f"the source text has a broken placeholder ({exc})"]
    problems = []
    optional_n = forms_for_one_number(lang) if len(sources) > 1 else set()
    for index, translation in enumerate(translations):
        try:
            found = placeholders(translation)
        except ValueError as exc:
            problems.append(f"broken placeholder ({exc}) in {translation!r}")
            continue
        needed = wanted - {"n"} if index in optional_n else wanted
        if needed - found:
            names = ", ".join(f"{{{name}}}" for name in sorted(needed - found))
            problems.append(f"translation {index} lacks {names}")
        if found - wanted:
            names = ", ".join(f"{{{name}}}" for name in sorted(found - wanted))
            problems.append(f"translation {index} has {names}, which the source does not have")
    return problems


def _keyword_problems(source: str, translation: str) -> list[str]:
    words = {word.strip().casefold() for word in translation.split("|")}
    lost = [word for word in source.split("|") if word.strip().casefold() not in words]
    return [f"keeps not the English words {', '.join(lost)}"] if lost else []


def coverage(localedir: Path = LOCALES) -> list[tuple[Language, int, int]]:
    """(language, translated entries, entries) for every language; (…, 0, total) without a catalog."""
    wanted = keys(read(localedir / f"{DOMAIN}.pot"))
    total = len(wanted)
    rows = []
    for code, lang in LANGUAGES.items():
        path = catalog_path(localedir, code)
        if not path.exists():
            rows.append((lang, 0, total))
            continue
        catalog = read(path, lang.babel_locale)
        done = sum(
            1
            for message in catalog
            if message.id
            and not message.fuzzy
            and (message.context, _singular(message)) in wanted
            and all(message.string if isinstance(message.string, list | tuple) else [message.string])
        )
        rows.append((lang, done, total))
    return rows
