"""The completeness check, part of `make test`: every catalog under locales/ is complete and correct, and
in step with the code.

A developer who adds a text without `make update-translations` is told so here; a translator who drops a
`{placeholder}`, leaves a fuzzy entry or types the wrong plural header, too.
"""

from __future__ import annotations

import pytest

from dialogs.languages import LANGUAGES
from scripts import catalogs
from scripts.translation_coverage import table

CATALOGS = catalogs.catalogs()


@pytest.fixture(scope="module")
def template():
    return catalogs.read(catalogs.TEMPLATE)


def test_there_are_catalogs_and_each_is_a_known_language() -> None:
    assert {"sv", "en"} <= set(CATALOGS)
    assert set(CATALOGS) <= set(LANGUAGES), "a catalog folder must be named by a code of dialogs/languages.py"


def test_the_template_is_in_step_with_the_code(template) -> None:
    in_code, in_template = catalogs.keys(catalogs.extract()), catalogs.keys(template)
    new = sorted(msgid for _, msgid in in_code - in_template)
    gone = sorted(msgid for _, msgid in in_template - in_code)
    assert not new and not gone, (
        "locales/messages.pot is not in step with the code: run `make update-translations`, then translate "
        f"the new entries. New: {new}. Gone: {gone}."
    )


@pytest.mark.parametrize("code", sorted(CATALOGS))
def test_catalog_is_complete_and_keeps_every_placeholder(code: str, template) -> None:
    problems = catalogs.check(code, catalogs.read_catalog(code), template)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize(
    ("code", "forms"),
    [
        ("sv", "nplurals=2; plural=(n != 1);"),
        (
            "ar",
            "nplurals=6; plural=(n == 0 ? 0 : n == 1 ? 1 : n == 2 ? 2 : n % 100 >= 3 && n % 100 <= 10 ? 3 "
            ": n % 100 >= 11 && n % 100 <= 99 ? 4 : 5);",
        ),
        (
            "uk",
            "nplurals=3; plural=n % 10 == 1 && n % 100 != 11 ? 0 : n % 10 >= 2 && n % 10 <= 4 "
            "&& (n % 100 < 12 || n % 100 > 14) ? 1 : 2;",
        ),
        (
            "ru",
            "nplurals=3; plural=n % 10 == 1 && n % 100 != 11 ? 0 : n % 10 >= 2 && n % 10 <= 4 "
            "&& (n % 100 < 12 || n % 100 > 14) ? 1 : 2;",
        ),
        ("fa", "nplurals=2; plural=(n > 1);"),
        ("prs", "nplurals=2; plural=(n > 1);"),
        ("ti", "nplurals=2; plural=(n > 1);"),
        ("ps", "nplurals=2; plural=(n != 1);"),
    ],
)
def test_plural_forms_are_cldrs_as_the_pinned_babel_writes_them(code: str, forms: str) -> None:
    assert catalogs.expected_plural_forms(LANGUAGES[code]) == forms


def test_arabic_may_leave_the_number_out_of_zero_one_and_two_only() -> None:
    assert catalogs.forms_for_one_number(LANGUAGES["ar"]) == {0, 1, 2}
    assert catalogs.forms_for_one_number(LANGUAGES["ru"]) == set()
    assert catalogs.forms_for_one_number(LANGUAGES["sv"]) == {0}


# --- the check itself, on made-up catalogs -------------------------------------------------------------


def _catalog(code: str, *messages: tuple) -> tuple:
    from babel.messages.catalog import Catalog

    template, catalog = Catalog(), Catalog(locale=LANGUAGES[code].babel_locale)
    for message in messages:
        msgid, msgstr, *rest = message
        context = rest[0] if rest else None
        flags = rest[1] if len(rest) > 1 else ()
        template.add(msgid, context=context)
        catalog.add(msgid, msgstr, context=context, flags=flags)
    return catalog, template


def _problems(code: str, *messages: tuple) -> list[str]:
    catalog, template = _catalog(code, *messages)
    return [problem.what for problem in catalogs.check(code, catalog, template)]


def test_a_correct_catalog_has_no_problems() -> None:
    assert not _problems(
        "ar",
        ("Did you mean {municipality}?", "هل تقصد {municipality}؟"),
        ("help|?", "help|?|مساعدة", "keywords"),
        (
            ("{n} course", "{n} courses"),
            ("لا دورات", "دورة واحدة", "دورتان", "{n} دورات", "{n} دورة", "{n} دورة"),
        ),
    )


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (("Reference {ref}.", "المرجع."), "translation 0 lacks {ref}"),
        (("Reference {ref}.", "المرجع {reference}."), "translation 0 lacks {ref}"),
        (("Reference {ref}.", "المرجع {ref"), "broken placeholder"),
        (("Reference {ref}.", ""), "not translated"),
        (("Reference {ref}.", "المرجع {ref}.", None, ("fuzzy",)), "fuzzy"),
        (("help|?", "مساعدة", "keywords"), "keeps not the English words help, ?"),
        (
            (("{n} course", "{n} courses"), ("لا دورات", "دورة", "دورتان", "دورات", "{n} دورة", "{n} دورة")),
            "translation 3 lacks {n}",
        ),
        ((("{n} course", "{n} courses"), ("دورة", "", "", "", "", "")), "not translated"),
    ],
)
def test_each_kind_of_mistake_is_found(message: tuple, problem: str) -> None:
    found = _problems("ar", message)
    assert any(problem in what for what in found), found


def test_a_wrong_plural_header_is_found() -> None:
    catalog, template = _catalog("sv", ("Yes", "Да"))  # Swedish plural rules, checked as Russian
    assert any("Plural-Forms" in p.what for p in catalogs.check("ru", catalog, template))


def test_entries_missing_from_a_catalog_are_found() -> None:
    catalog, template = _catalog("sv", ("Yes", "Ja"))
    template.add("No")
    assert [p.what for p in catalogs.check("sv", catalog, template)] == [
        "missing: run `make update-translations`"
    ]


# --- the coverage table in the docs -------------------------------------------------------------------


def test_the_coverage_table_in_the_docs_is_current() -> None:
    docs = (catalogs.ROOT / "docs" / "translators.md").read_text(encoding="utf-8")
    assert table() in docs, "docs/translators.md: run `make translation-coverage`"


# --- starting a catalog ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["prs", "ar", "kmr", "uk"])
def test_a_new_catalog_has_cldrs_plural_rules_and_keeps_them_through_an_update(code: str, tmp_path) -> None:
    from babel.messages.frontend import CommandLineInterface

    from scripts.new_catalog import init

    path = init(code, tmp_path, catalogs.TEMPLATE)
    assert path == tmp_path / code / "LC_MESSAGES" / "messages.po"
    update = ["pybabel", "-q", "update", "-i", str(catalogs.TEMPLATE), "-d", str(tmp_path), "-D", "messages"]
    CommandLineInterface().run(update)
    catalog = catalogs.read(path, LANGUAGES[code].babel_locale)
    template = catalogs.read(catalogs.TEMPLATE)
    problems = {problem.what for problem in catalogs.check(code, catalog, template)}
    assert problems == {"not translated"}  # complete but for the translating
    with pytest.raises(SystemExit, match="exists already"):
        init(code, tmp_path, catalogs.TEMPLATE)
    with pytest.raises(SystemExit, match="not in dialogs/languages.py"):
        init("de", tmp_path, catalogs.TEMPLATE)
