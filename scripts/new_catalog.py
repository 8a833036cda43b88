"""Start the catalog of a language described in dialogs/languages.py: `make new-catalog CODE=ar`.

Creates locales/<code>/LC_MESSAGES/messages.po from locales/messages.pot with `pybabel init`, using the
language's Babel locale, so that the plural rules are CLDR's as the pinned Babel writes them (Dari: fa_AF,
Kurmanji: ku). The language is offered in the picker as soon as this catalog exists and is complete.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from babel.messages.frontend import CommandLineInterface  # noqa: E402

from dialogs.languages import LANGUAGES, catalog_path  # noqa: E402
from scripts.catalogs import LOCALES, TEMPLATE, expected_plural_forms, read  # noqa: E402


def init(code: str, localedir: Path = LOCALES, template: Path = TEMPLATE) -> Path:
    if code not in LANGUAGES:
        raise SystemExit(f"{code!r} is not in dialogs/languages.py; known: {' '.join(LANGUAGES)}")
    lang = LANGUAGES[code]
    path = catalog_path(localedir, code)
    if path.exists():
        raise SystemExit(f"{path} exists already; `make update-translations` brings it up to date")
    path.parent.mkdir(parents=True, exist_ok=True)
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "init",
            "-i",
            str(template),
            "-o",
            str(path),
            "-D",
            "messages",
            "-l",
            lang.babel_locale,
        ]
    )
    header = dict(read(path, lang.babel_locale).mime_headers).get("Plural-Forms", "")
    if header.replace(" ", "") != expected_plural_forms(lang).replace(" ", ""):
        raise SystemExit(f"{path}: unexpected Plural-Forms {header!r}")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/new_catalog.py CODE   (e.g. ar, prs, kmr)")
    created = init(sys.argv[1])
    print(f"created {created.relative_to(LOCALES.parent)}: translate every entry, then `make test`")
