"""Telegram rendering without a network: layout of buttons, HTML escaping, callback data within 64 bytes."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels import telegram_render
from bot.channels.telegram_render import parse_callback, render, split_text
from dialogs.model import Choice, Output
from tests.fakes_telegram import parse_html


def _output(*labels: str, token: str | None = "7", text: str = "Choose:") -> Output:
    choices = tuple(Choice(f"id{n}", label) for n, label in enumerate(labels, start=1))
    return Output(text=text, choices=choices, menu_token=token)


def test_short_labels_go_three_to_a_row_and_long_ones_alone() -> None:
    rendered = render(_output("OK", "Read more", "No, thanks", "Yes", "Find courses, work or school", "No"))
    assert [[b.label for b in row] for row in rendered.rows] == [
        ["OK", "Read more", "No, thanks"],
        ["Yes"],
        ["Find courses, work or school"],
        ["No"],
    ]


def test_labels_too_long_for_a_button_become_numbered_lines_with_number_buttons() -> None:
    long = "SFI B, evenings, Huddinge (10 km). Open to Botkyrka residents (the county agreement)."
    rendered = render(_output(long, long.replace("B,", "C,"), "More", text="8 SFI courses for you:"))
    assert rendered.text == f"8 SFI courses for you:\n\n1. {long}\n2. {long.replace('B,', 'C,')}"
    assert [[b.label for b in row] for row in rendered.rows] == [["1", "2", "More"]]
    assert [b.data for b in rendered.rows[0]] == ["c:7:id1", "c:7:id2", "c:7:id3"]


def test_the_terminal_preview_shows_the_same_layout() -> None:
    from bot.channels.terminal import render_telegram_preview

    output = _output("Svenska", "English")
    assert render_telegram_preview(output) == "Choose:\n[Svenska] [English]"


def test_user_and_feed_text_is_escaped_for_html() -> None:
    rendered = render(Output(text="Kurs <b>SFI</b> & <script>x</script> 5 < 6 && 7 > 3"))
    assert rendered.chunks() == [
        "Kurs &lt;b&gt;SFI&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt; 5 &lt; 6 &amp;&amp; 7 &gt; 3"
    ]
    assert parse_html(rendered.chunks()[0]) == rendered.text


@given(st.text(min_size=1, max_size=300))
def test_any_text_survives_telegrams_html_parser(text: str) -> None:
    for chunk in render(Output(text=text)).chunks():
        parse_html(chunk)


def test_a_long_message_is_split_between_paragraphs_into_pieces_telegram_accepts() -> None:
    paragraph = "Svenska för invandrare & annat <kul>. " * 30
    text = "\n\n".join([paragraph.strip()] * 8)
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= telegram_render.MESSAGE_MAX for piece in pieces)
    assert "".join(html.unescape(piece) for piece in pieces).replace(" ", "").replace("\n", "") == (
        text.replace(" ", "").replace("\n", "")
    )
    assert all(not piece.endswith("&amp") for piece in pieces)


def test_callback_data_fits_in_64_bytes_even_for_long_ids() -> None:
    output = Output(
        text="?",
        choices=(Choice("ok", "OK"), Choice("ö" * 40, "Long")),
        menu_token="123456",
    )
    short, long = (b.data for row in render(output).rows for b in row)
    assert short == "c:123456:ok"
    assert long == "n:123456:2" and len(long.encode()) <= 64
    assert parse_callback(long) == ("menu", "123456", "#2")


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        ("c:12:more", ("menu", "12", "more")),
        ("c:12:a:b", ("menu", "12", "a:b")),
        ("n:3:2", ("menu", "3", "#2")),
        ("x:staff:confirm:5", ("outside", None, "staff:confirm:5")),
        ("", ("unknown", None, "")),
        ("c::more", ("unknown", None, "")),
        ("c:abc:more", ("unknown", None, "")),
        ("n:3:two", ("unknown", None, "")),
        ("z:1:1", ("unknown", None, "")),
        ("garbage", ("unknown", None, "")),
    ],
)
def test_callback_data_is_parsed_strictly(data: str, parsed: tuple) -> None:
    assert parse_callback(data) == parsed


def test_buttons_outside_the_conversation_carry_their_id() -> None:
    output = Output(text="Card", choices=(Choice("staff:confirm:12", "Bekräfta"),))
    [[button]] = render(output).rows
    assert button.data == "x:staff:confirm:12"


def test_numbered_lines_of_a_right_to_left_message_are_marked_right_to_left() -> None:
    label = "\u2068" + "دورة اللغة السويدية للمهاجرين، مساءً، هودينگه (10 كم)" + "\u2069"
    rendered = render(Output(text="دورات:", choices=(Choice("o1", label),), rtl=True, menu_token="1"))
    assert rendered.text == f"دورات:\n\n\u200f1. {label}"
