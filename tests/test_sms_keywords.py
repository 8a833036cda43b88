"""Keywords in every language, phone numbers, segment counting of Arabic text and the SMS settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channels.sms_render import count_segments, render_sms
from bot.config import ConfigError, load_settings
from bot.phones import masked, to_e164
from dialogs import keywords
from dialogs.engine import Context, global_command, stopped_state
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES
from dialogs.model import Choice, Output
from dialogs.text import clean
from tests.conftest import LOCALES, STOCKHOLM
from tests.fakes import FakeServices


def context(language: str = "sv") -> Context:
    return Context(
        FakeServices(), Translator(LOCALES, language, STOCKHOLM), datetime(2026, 11, 27, tzinfo=UTC)
    )


def test_no_word_means_two_things() -> None:
    assert keywords.conflicts() == []


@pytest.mark.parametrize("code", sorted(set(LANGUAGES) - {"sv", "en"}))
def test_every_language_can_stop_start_and_ask_for_help(code: str) -> None:
    table = {"prs": "prs"}.get(code, code)
    assert {"stop", "start", "help"} <= set(keywords.WORDS[table]), code


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", "stop"),
        ("Stopp", "stop"),
        ("stop all", "stop"),
        ("UNSUBSCRIBE", "stop"),
        ("توقف", "stop"),
        ("تَوَقَّفْ", "stop"),  # with the vowel marks
        ("ايقاف", "stop"),  # without the hamza
        ("إيقاف", "stop"),
        ("لغو", "stop"),
        ("jooji", "stop"),
        ("ኣቋርጽ", "stop"),
        ("Стоп", "stop"),
        ("ВІДПИСАТИСЯ", "stop"),
        ("START", "start"),
        ("starta", "start"),
        ("ابدأ", "start"),
        ("شروع", "start"),
        ("bilow", "start"),
        ("СТАРТ", "start"),
        ("HJÄLP", "help"),
        ("hjalp", "help"),
        ("مساعدة", "help"),
        ("راهنمايي", "help"),  # Arabic yeh in a Persian word
        ("کمک", "help"),
        ("ሓገዝ", "help"),
        ("MENY", "menu"),
        ("меню", "menu"),
        ("LANG", "language"),
        ("زبان", "language"),
        ("LÄNKA", "link"),
        ("link", "link"),
    ],
)
def test_global_words_in_many_languages(text: str, word: str) -> None:
    assert global_command(context(), clean(text)) == (word, "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LINK 123456", ("link", "123456")),
        ("länka ١٢٣٤٥٦", ("link", "123456")),
        ("Link: 123 456", (None, "")),
        ("stop 123456", (None, "")),
        ("link 12", (None, "")),
        ("please stop", (None, "")),
        ("Botkyrka", (None, "")),
        ("1990", (None, "")),
    ],
)
def test_a_word_with_a_number(text: str, expected: tuple) -> None:
    assert global_command(context(), clean(text)) == expected


def test_an_outside_opt_out_stops_the_conversation_where_it_was() -> None:
    state = {"step": "ask_goal", "vars": {"goal": "sfi"}, "stack": [], "menu": {}}
    stopped = stopped_state(state)
    assert stopped["step"] == "stopped" and stopped["vars"] == {"goal": "sfi", "resume": "ask_goal"}
    assert stopped_state(stopped) == stopped


# --- segments: one Arabic letter makes an SMS UCS-2 ---------------------------------------------------------


def test_arabic_text_is_counted_in_ucs2_segments() -> None:
    assert count_segments("ب" * 70).count == 1
    assert count_segments("ب" * 71).count == 2
    assert count_segments("ب" * 134).count == 2
    assert count_segments("ب" * 135).count == 3
    swedish = "Välkommen till Vägvisare. Skriv STOPP om du inte vill ha fler sms."
    assert count_segments(swedish).encoding == "GSM-7"
    assert count_segments(swedish + " توقف").encoding == "UCS-2"


def test_an_arabic_menu_is_split_within_the_budget() -> None:
    text = "اختر دورة من القائمة. جميع الدورات مجانية وتبدأ كل أسبوع في بلديتك أو قريبا منها. " * 4
    output = Output(text=text, choices=tuple(Choice(str(n), f"دورة رقم {n}") for n in range(1, 5)), rtl=True)
    messages = render_sms(output, budget_segments=3)
    assert len(messages) == 2
    assert [count_segments(m).encoding for m in messages] == ["UCS-2", "UCS-2"]
    assert all(count_segments(m).count <= 3 for m in messages)
    assert messages[-1].endswith("1 دورة رقم 1  2 دورة رقم 2  3 دورة رقم 3  4 دورة رقم 4")


# --- phone numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+46701234567", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("070-123 45 67", "+46701234567"),
        ("+46 8 123 456 78", "+46812345678"),
        ("+12025550123", "+12025550123"),
        ("+4670123", None),
        ("12345", None),
        ("Vagvisare", None),
        ("", None),
        (None, None),
        ("+4670" + "1" * 60, None),
    ],
)
def test_numbers_in_e164(raw, e164) -> None:
    assert to_e164(raw) == e164


def test_a_masked_number_shows_little() -> None:
    assert masked("+46701234567") == "+46*******67"


# --- settings -----------------------------------------------------------------------------------------------

TWILIO = {
    "twilio_account_sid": "AC" + "a" * 32,
    "twilio_auth_token": "s3cr3t-auth-token",
    "twilio_from": "+46766860001",
    "public_base_url": "https://vagvisare.example.org/",
}


@pytest.fixture(autouse=False)
def no_twilio_environment(monkeypatch) -> None:
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_API_BASE",
        "PUBLIC_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_sms_settings(no_twilio_environment) -> None:
    settings = load_settings(**TWILIO)
    assert settings.sms_configured and settings.public_base_url == "https://vagvisare.example.org"
    assert settings.sms_per_second == 1 and settings.sms_segment_budget == 3
    assert "s3cr3t" not in repr(settings)
    assert load_settings(**{**TWILIO, "twilio_from": "MG" + "b" * 32}).sms_configured
    assert not load_settings().sms_configured


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"twilio_from": None}, "TWILIO_FROM"),
        ({"public_base_url": None}, "PUBLIC_BASE_URL"),
        ({"twilio_auth_token": None}, "TWILIO_AUTH_TOKEN"),
        ({"twilio_from": "0701234567"}, "TWILIO_FROM"),
        ({"twilio_account_sid": "not-a-sid"}, "TWILIO_ACCOUNT_SID"),
        ({"sms_per_second": 0}, "SMS_PER_SECOND"),
        ({"twilio_api_base": "localhost:9"}, "TWILIO_API_BASE"),
    ],
)
def test_incomplete_or_malformed_sms_settings_name_the_variable(
    no_twilio_environment, overrides, variable
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**{**TWILIO, **overrides})
    assert variable in str(caught.value) and "\n" not in str(caught.value)
