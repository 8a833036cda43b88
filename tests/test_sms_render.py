import random

import pytest

from bot.channels.sms_render import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Segments,
    count_segments,
    render_choices,
    render_sms,
    to_sms_alphabet,
)
from dialogs.model import Choice, Expect, Output

ARABIC = "مرحبابكفيالسويد"
LRI_FSI_PDI = "\u2068Ali\u2069"


def _choices(*labels: str) -> tuple[Choice, ...]:
    return tuple(Choice(f"c{i}", label) for i, label in enumerate(labels))


def _assert_pieces_of(messages: list[str], whole: str) -> None:
    """Each message is the next slice of `whole`; only whitespace between messages may be dropped."""
    pos = 0
    for message in messages:
        assert message.strip(), messages
        while whole[pos].isspace() and not whole.startswith(message, pos):
            pos += 1
        assert whole.startswith(message, pos), (message, whole[pos : pos + 40])
        pos += len(message)
    assert not whole[pos:].strip()


# --- count_segments: GSM-7 -----------------------------------------------------------------------


def test_gsm_table_is_complete() -> None:
    assert len(GSM7_BASIC) == 127
    assert GSM7_EXTENSION == frozenset("\f^{}\\[~]|€")
    assert set("ÄÖÅäöåÉéÜüÑñ@£$¥èùìòÇØøΔ_ΦΓΛΩΠΨΣΘΞÆæß¤¡§¿à\n\r") <= GSM7_BASIC
    assert "\x1b" not in GSM7_BASIC
    assert "ç" not in GSM7_BASIC and "`" not in GSM7_BASIC


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm_segment_boundaries(length: int, segments: int) -> None:
    assert count_segments("a" * length) == Segments("GSM-7", segments, length)


def test_empty_text_is_one_empty_gsm_segment() -> None:
    assert count_segments("") == Segments("GSM-7", 1, 0)


def test_extension_characters_count_two_septets() -> None:
    assert count_segments("€") == Segments("GSM-7", 1, 2)
    assert count_segments("{[~^|\\]}\f").units == 18
    assert count_segments("a" * 158 + "€") == Segments("GSM-7", 1, 160)
    assert count_segments("a" * 159 + "€") == Segments("GSM-7", 2, 161)


def test_escape_pair_is_never_split_across_segments() -> None:
    assert count_segments("a" * 152 + "€") == Segments("GSM-7", 1, 154)
    assert count_segments("a" * 152 + "€" + "a" * 10) == Segments("GSM-7", 2, 164)
    # 152 + 2 does not fit the 153 of part one, so the pair moves: 152 | 2 + 151 | 1.
    assert count_segments("a" * 152 + "€" + "a" * 152) == Segments("GSM-7", 3, 306)
    assert count_segments("a" * 153 + "€" + "a" * 151) == Segments("GSM-7", 2, 306)


def test_swedish_letters_are_gsm() -> None:
    segments = count_segments("Välkommen till Sverige! Åk till Försäkringskassan, ÄÖÅ é ü.")
    assert segments.encoding == "GSM-7"


# --- count_segments: UCS-2 -----------------------------------------------------------------------


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_segment_boundaries(length: int, segments: int) -> None:
    assert count_segments("ب" * length) == Segments("UCS-2", segments, length)


def test_one_arabic_letter_makes_the_whole_message_ucs2() -> None:
    assert count_segments("a" * 69 + "ب") == Segments("UCS-2", 1, 70)
    assert count_segments("a" * 70 + "ب") == Segments("UCS-2", 2, 71)


def test_non_gsm_latin_letter_makes_ucs2() -> None:
    assert count_segments("ç").encoding == "UCS-2"
    assert count_segments("`").encoding == "UCS-2"


def test_extension_character_counts_one_unit_in_ucs2() -> None:
    assert count_segments("€ب") == Segments("UCS-2", 1, 2)


def test_emoji_counts_two_code_units() -> None:
    assert count_segments("😀") == Segments("UCS-2", 1, 2)
    assert count_segments("a" * 68 + "😀") == Segments("UCS-2", 1, 70)
    assert count_segments("a" * 69 + "😀") == Segments("UCS-2", 2, 71)


def test_surrogate_pair_is_never_split_across_segments() -> None:
    assert count_segments("ب" * 66 + "😀" + "ب" * 66) == Segments("UCS-2", 3, 134)
    assert count_segments("ب" * 67 + "😀" + "ب" * 65) == Segments("UCS-2", 2, 134)


# --- to_sms_alphabet -----------------------------------------------------------------------------


def test_typographic_characters_become_gsm() -> None:
    text = "”Välkommen” – sa hon… ‘SFI’ börjar 8\u00a0jan — kl.\u202f9 «Åk» 3×2 • Ja · Nej ‐ ok „x“ 5′ 6″"
    result = to_sms_alphabet(text)
    assert (
        result == '"Välkommen" - sa hon... \'SFI\' börjar 8 jan - kl. 9 "Åk" 3x2 - Ja - Nej - ok "x" 5\' 6"'
    )
    assert count_segments(result).encoding == "GSM-7"


def test_gsm_characters_are_unchanged() -> None:
    text = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
    assert to_sms_alphabet(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hej 👋 där!", "Hej där!"),
        ("👋 Hej", "Hej"),
        ("Hej! 👋", "Hej!"),
        ("Tack 👍🏽\nNästa", "Tack\nNästa"),
        ("Familj 👨\u200d👩\u200d👧 här", "Familj här"),
        ("Flagga 🇸🇪 Sverige", "Flagga Sverige"),
        ("Hjärta ❤️ och ⭐", "Hjärta och"),
        ("Bra👍", "Bra"),
        ("Ja 👍  2 Nej", "Ja  2 Nej"),
        ("England 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f!", "England !"),
    ],
)
def test_emoji_are_removed(text: str, expected: str) -> None:
    assert to_sms_alphabet(text) == expected


def test_keycap_keeps_its_digit() -> None:
    assert to_sms_alphabet("Svara 1️⃣ för ja") == "Svara 1 för ja"


def test_other_scripts_and_direction_marks_survive() -> None:
    texts = [
        f"مرحباً {LRI_FSI_PDI}، اختر: ؟",
        "می\u200cخواهم \u200fسلام\u200e",
        "\u2066Привет\u2069 \u2067مرحبا\u2069",
        "ሰላም። ከመይ ኣለኹም፧",
        "ب\u200dا",
    ]
    for text in texts:
        assert to_sms_alphabet(text) == text


def test_to_sms_alphabet_is_idempotent() -> None:
    text = "“Hej” 👋🏽 – välkommen…\u00a0©️ 2024"
    once = to_sms_alphabet(text)
    assert to_sms_alphabet(once) == once


# --- render_choices ------------------------------------------------------------------------------


def test_short_choices_render_on_one_line() -> None:
    assert render_choices(_choices("Yes", "No", "Maybe")) == "1 Yes  2 No  3 Maybe"


def test_long_label_renders_one_choice_per_line() -> None:
    rendered = render_choices(_choices("SFI B, evenings, Huddinge (12 km)", "No"))
    assert rendered == "1 SFI B, evenings, Huddinge (12 km)\n2 No"


def test_line_longer_than_60_renders_one_choice_per_line() -> None:
    labels = [f"Alternativ {i}" for i in range(1, 6)]
    assert all(len(label) <= 16 for label in labels)
    assert render_choices(_choices(*labels)).splitlines() == [f"{i} Alternativ {i}" for i in range(1, 6)]


def test_inline_limits_are_inclusive() -> None:
    label16 = "x" * 16
    assert render_choices(_choices(label16)) == f"1 {label16}"
    assert "\n" in render_choices(_choices("x" * 17, "y"))
    exactly_60 = render_choices(_choices("a" * 16, "b" * 16, "c" * 12, "dd"))
    assert len(exactly_60) == 60 and "\n" not in exactly_60
    assert render_choices(_choices("a" * 16, "b" * 16, "c" * 13, "dd")).count("\n") == 3


def test_no_choices_render_empty() -> None:
    assert render_choices(()) == ""


# --- render_sms ----------------------------------------------------------------------------------


def test_short_output_is_one_message() -> None:
    output = Output("Vill du ha hjälp?", _choices("Ja", "Nej"), Expect.CHOICE)
    assert render_sms(output) == ["Vill du ha hjälp?\n1 Ja  2 Nej"]


def test_render_sms_cleans_text_and_labels() -> None:
    output = Output("”Hej” 👋 – vad vill du göra?", _choices("👍 Ja", "Nej ❌"), Expect.CHOICE)
    assert render_sms(output) == ['"Hej" - vad vill du göra?\n1 Ja  2 Nej']


def test_text_without_choices_has_no_trailing_newline() -> None:
    assert render_sms(Output("Tack!")) == ["Tack!"]


def test_render_sms_rejects_zero_budget() -> None:
    with pytest.raises(ValueError):
        render_sms(Output("Hej"), budget_segments=0)


def _long_output() -> Output:
    paragraph = " ".join(f"Mening {i} handlar om SFI-kurser – och om hur du anmäler dig." for i in range(12))
    labels = [f"SFI kurs {i}, kvällar, Huddinge kommun (avstånd {i + 3} km)" for i in range(1, 11)]
    return Output(f"Kurser nära dig\n\n{paragraph}\n\n{paragraph}\n\nVälj en kurs:", _choices(*labels))


@pytest.mark.parametrize("budget", [1, 2, 3])
def test_long_output_splits_within_budget_without_losing_text(budget: int) -> None:
    output = _long_output()
    whole = render_sms(output, budget_segments=100)
    assert len(whole) == 1
    messages = render_sms(output, budget_segments=budget)
    assert len(messages) > 1
    assert all(count_segments(message).count <= budget for message in messages)
    _assert_pieces_of(messages, whole[0])
    assert "".join("".join(messages).split()) == "".join(whole[0].split())
    for line in render_choices(output.choices).splitlines():
        assert sum(line in message for message in messages) == 1, line


def test_split_prefers_paragraphs_and_keeps_choice_block_together() -> None:
    first = "Välkommen till Vägvisare. " * 4
    second = "Här får du hjälp med SFI, bostad och arbete i Sverige. " * 4
    output = Output(f"{first.strip()}\n\n{second.strip()}", _choices("Ja", "Nej", "Kanske"))
    messages = render_sms(output, budget_segments=2)
    assert messages[0] == first.strip()
    assert messages[-1].endswith("\n1 Ja  2 Nej  3 Kanske")
    assert all(count_segments(m).count <= 2 for m in messages)


def test_short_heading_is_not_sent_alone() -> None:
    output = Output("Kurser\n\n" + ("Det här är en mening om SFI. " * 10).strip())
    messages = render_sms(output, budget_segments=1)
    assert messages[0].startswith("Kurser\n\nDet här är en mening om SFI.")
    assert all(m.endswith(".") for m in messages)


def test_choice_block_moves_whole_to_next_message() -> None:
    text = "Du kan välja mellan flera kurser i närheten, alla på kvällstid. " * 2
    labels = [f"Kurs {i} i Huddinge, kvällar" for i in range(1, 5)]
    output = Output(text.strip(), _choices(*labels))
    messages = render_sms(output, budget_segments=1)
    assert messages[-1] == render_choices(output.choices)
    assert all(count_segments(m).count <= 1 for m in messages)


def test_split_falls_back_to_sentences_then_spaces_then_inside_words() -> None:
    sentences = "Det här är en mening. " * 20
    messages = render_sms(Output(sentences.strip()), budget_segments=1)
    assert all(m.endswith(".") for m in messages)

    words = " ".join(["ord"] * 100)
    messages = render_sms(Output(words), budget_segments=1)
    assert all(not m.startswith(" ") and not m.endswith(" ") for m in messages)
    assert all(set(m.split()) == {"ord"} for m in messages)

    word = "x" * 400
    messages = render_sms(Output(word), budget_segments=1)
    assert [len(m) for m in messages] == [160, 160, 80]


def test_encoding_is_per_message() -> None:
    swedish = "Hej och välkommen till Sverige. " * 4
    arabic = "مرحبا بك في السويد. " * 3
    messages = render_sms(Output(f"{swedish.strip()}\n\n{arabic.strip()}"), budget_segments=1)
    encodings = [count_segments(m).encoding for m in messages]
    assert encodings[0] == "GSM-7" and encodings[-1] == "UCS-2"
    assert all(count_segments(m).count == 1 for m in messages)


def test_split_never_breaks_a_surrogate_pair() -> None:
    text = "𝐀" * 100
    messages = render_sms(Output(text), budget_segments=1)
    assert "".join(messages) == text
    assert [count_segments(m).units for m in messages] == [70, 70, 60]


def test_rtl_text_with_isolates_survives_rendering() -> None:
    output = Output(f"مرحباً {LRI_FSI_PDI}، اختر:", _choices("نعم", "لا"), Expect.CHOICE, rtl=True)
    assert render_sms(output) == [f"مرحباً {LRI_FSI_PDI}، اختر:\n1 نعم  2 لا"]


# --- randomized ----------------------------------------------------------------------------------

_ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.;:!?-'\"()",
    "åäöÅÄÖéüÉÜ",
    "€{}[]^~|\\",
    ARABIC + "؟،",
    "😀👍🏽🇸🇪❤️",
    "𝐀𝐁𝐂𠀀",
]


def _random_word(rng: random.Random) -> str:
    alphabet = "".join(rng.sample(_ALPHABETS, rng.randint(1, 3)))
    length = rng.choice([rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 250)])
    return "".join(rng.choice(alphabet) for _ in range(length))


def _random_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 120)):
        parts.append(_random_word(rng))
        parts.append(rng.choice([" ", " ", " ", " ", ". ", "\n", "\n\n", "؟ ", "። "]))
    return "".join(parts).strip()


def test_randomized_messages_stay_within_budget_and_lose_nothing() -> None:
    rng = random.Random(20240601)
    for _ in range(200):
        labels = [_random_word(rng) + " " + _random_word(rng) for _ in range(rng.randint(0, 6))]
        output = Output(_random_text(rng), _choices(*labels))
        budget = rng.randint(1, 4)
        whole = render_sms(output, budget_segments=1000)[0]
        messages = render_sms(output, budget_segments=budget)
        for message in messages:
            assert count_segments(message).count <= budget, (budget, message)
        _assert_pieces_of(messages, whole)
