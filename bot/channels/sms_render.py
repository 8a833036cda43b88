"""SMS rendering: GSM-7 friendly text, exact Twilio segment counting and splitting into messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dialogs.model import Choice, Output

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

INLINE_LABEL_MAX = 16
INLINE_LINE_MAX = 60
_INLINE_SEPARATOR = "  "


@dataclass(frozen=True)
class Segments:
    """`encoding` is "GSM-7" or "UCS-2"; `count` is the segments Twilio bills; `units` are septets
    (extension characters count 2) or UTF-16 code units."""

    encoding: str
    count: int
    units: int


# --- alphabet -------------------------------------------------------------------------------------

_REPLACEMENTS: dict[str, str] = {
    **dict.fromkeys("‘’‚‛′‵‹›´`", "'"),
    **dict.fromkeys("“”„‟«»″‶", '"'),
    **dict.fromkeys("‐‑‒–—―−﹘﹣－•·‣⁃∙◦", "-"),
    **dict.fromkeys("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007", " "),
    **dict.fromkeys("\u2008\u2009\u200a\u202f\u205f\u3000\t", " "),
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad", ""),
    "\u2028": "\n",
    "\u2029": "\n",
    "…": "...",
    "∆": "Δ",
    "Ω": "Ω",
    "×": "x",
    "÷": "/",
    "⁄": "/",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "⇒": "=>",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
    "©": "(c)",
    "®": "(R)",
    "™": "TM",
    "‼": "!!",
    "⁉": "!?",
}
_TRANSLATION = str.maketrans(_REPLACEMENTS)

_EMOJI_RANGES: tuple[tuple[int, int], ...] = (
    (0x1F000, 0x1FBFF),  # pictographs, emoticons, transport, regional indicators, skin tones
    (0x2600, 0x27BF),  # misc symbols, dingbats
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x2139, 0x2139),
    (0x2195, 0x2199),
    (0x21A9, 0x21AA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0xFE0E, 0xFE0F),  # variation selectors
    (0x20E3, 0x20E3),  # combining keycap
    (0xE0001, 0xE0001),  # tag sequences (subdivision flags)
    (0xE0020, 0xE007F),
)
_EMOJI_CLASS = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _EMOJI_RANGES)
_EMOJI_RUN = f"\u200d*+[{_EMOJI_CLASS}][{_EMOJI_CLASS}\u200d]*+"
_EMOJI_SPAN = re.compile(f"(?P<left> *+){_EMOJI_RUN}(?: *+{_EMOJI_RUN})*+(?P<right> *)")


def _emoji_replacement(match: re.Match[str]) -> str:
    text = match.string
    at_line_start = match.start() == 0 or text[match.start() - 1] in "\r\n"
    at_line_end = match.end() == len(text) or text[match.end()] in "\r\n"
    if at_line_start or at_line_end:
        return ""
    return max(match["left"], match["right"], key=len)


def to_sms_alphabet(text: str) -> str:
    """Replace typographic characters with GSM-7 ones and drop emoji; other scripts are left alone."""
    return _EMOJI_SPAN.sub(_emoji_replacement, text.translate(_TRANSLATION))


# --- segment counting -----------------------------------------------------------------------------


def _encoding(text: str) -> str:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return GSM7
    return UCS2


def _unit_weights(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(weights: Iterable[int], per_segment: int) -> int:
    count, used = 1, 0
    for weight in weights:
        if used + weight > per_segment:
            count, used = count + 1, 0
        used += weight
    return count


def count_segments(text: str) -> Segments:
    """Count segments as Twilio bills them (GSM 03.38 septets or UTF-16 code units)."""
    encoding = _encoding(text)
    weights = _unit_weights(text, encoding)
    units = sum(weights)
    single, multi = _LIMITS[encoding]
    count = 1 if units <= single else _pack(weights, multi)
    return Segments(encoding=encoding, count=count, units=units)


# --- choices --------------------------------------------------------------------------------------


def _choice_lines(choices: Sequence[Choice]) -> list[str]:
    labels = [" ".join(choice.label.split()) for choice in choices]
    lines = [f"{number} {label}" for number, label in enumerate(labels, start=1)]
    inline = _INLINE_SEPARATOR.join(lines)
    if lines and all(len(label) <= INLINE_LABEL_MAX for label in labels) and len(inline) <= INLINE_LINE_MAX:
        return [inline]
    return lines


def render_choices(choices: Sequence[Choice]) -> str:
    """Number choices from 1: one line when short, otherwise one choice per line."""
    return "\n".join(_choice_lines(choices))


# --- splitting ------------------------------------------------------------------------------------

Span = tuple[int, int]

_LEVELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\n[^\S\n]*\n"), "start"),
    (re.compile(r"\n"), "start"),
    (re.compile(r"[.?!؟።፧][\"')\]]*(?=\s)"), "end"),
    (re.compile(r"[^\S\n]"), "start"),
)
_STRUCTURAL = 3
_JOINERS = frozenset("\u200c\u200d\ufe0e\ufe0f")


def _max_chars(budget: int) -> int:
    single, multi = _LIMITS[GSM7]
    return single if budget == 1 else multi * budget


def _fits(text: str, budget: int) -> bool:
    return len(text) <= _max_chars(budget) and count_segments(text).count <= budget


def _max_end(text: str, start: int, budget: int) -> int:
    lo, hi = start + 1, min(len(text), start + _max_chars(budget))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(text[start:mid], budget):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _allowed(cut: int, first: int, forbidden: Sequence[Span]) -> bool:
    return cut > first and not any(lo < cut < hi for lo, hi in forbidden)


def _attached(text: str, cut: int) -> bool:
    if cut < len(text) and (text[cut] in _JOINERS or unicodedata.category(text[cut]) in ("Mn", "Mc", "Me")):
        return True
    return text[cut - 1] in _JOINERS


def _level_cuts(text: str, start: int, end: int) -> list[list[int]]:
    levels = []
    for pattern, side in _LEVELS:
        matches = pattern.finditer(text, start)
        cuts = [m.start() if side == "start" else m.end() for m in matches]
        levels.append([cut for cut in cuts if start < cut <= end])
    word_cuts = [cut for cut in range(start + 1, end + 1) if not _attached(text, cut)]
    levels.append(word_cuts or [end])
    return levels


def _cut_options(text: str, start: int, end: int, tiers: Sequence[Sequence[Span]]) -> list[int]:
    """The last allowed paragraph, line and sentence break, best kind first.

    Without any of those: the last space, and without a space: the last place inside a word.
    """
    levels = _level_cuts(text, start, end)
    first = _skip_space(text, start)
    for forbidden in tiers:
        allowed = [[cut for cut in cuts if _allowed(cut, first, forbidden)] for cuts in levels]
        structural = list(dict.fromkeys(max(cuts) for cuts in allowed[:_STRUCTURAL] if cuts))
        fallback = next((max(cuts) for cuts in allowed[_STRUCTURAL:] if cuts), None)
        if structural or fallback is not None:
            return structural or [fallback]
    return [end]


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


Plan = tuple[int, int, tuple[str, ...]]


def _split(text: str, budget: int, tiers: Sequence[Sequence[Span]]) -> list[str]:
    """Split greedily at the best kind of break that does not cost more segments (then messages) overall."""
    options = _reachable_options(text, budget, tiers)
    plans: dict[int, Plan] = {len(text): (0, 0, ())}
    for start in sorted(options, reverse=True):
        plans[start] = _best_plan(text, start, options[start], plans)
    return list(plans[0][2])


def _reachable_options(text: str, budget: int, tiers: Sequence[Sequence[Span]]) -> dict[int, list[int]]:
    options: dict[int, list[int]] = {}
    pending = [0]
    while pending:
        start = pending.pop()
        if start in options or start == len(text):
            continue
        if _fits(text[start:], budget):
            options[start] = []
            continue
        options[start] = _cut_options(text, start, _max_end(text, start, budget), tiers)
        pending.extend(_skip_space(text, cut) for cut in options[start])
    return options


def _best_plan(text: str, start: int, cuts: list[int], plans: dict[int, Plan]) -> Plan:
    if not cuts:
        return (count_segments(text[start:]).count, 1, (text[start:],))
    candidates = []
    for cut in cuts:
        message = text[start:cut].rstrip()
        segments, messages, rest = plans[_skip_space(text, cut)]
        candidates.append((segments + count_segments(message).count, messages + 1, (message, *rest)))
    return min(candidates, key=lambda plan: plan[:2])


def _compose(body: str, lines: Sequence[str]) -> tuple[str, list[Span]]:
    text = body + "\n" if body and lines else body
    spans = []
    for line in lines:
        if spans:
            text += "\n"
        spans.append((len(text), len(text) + len(line)))
        text += line
    return text, spans


def _forbidden_tiers(text: str, spans: list[Span], budget: int) -> list[list[Span]]:
    if not spans:
        return [[]]
    block = (spans[0][0], spans[-1][1])
    strict = [*spans, block] if _fits(text[block[0] : block[1]], budget) else spans
    return [strict, spans, []]


def render_sms(output: Output, *, budget_segments: int = 3) -> list[str]:
    """Render an output as one or more SMS bodies, each at most `budget_segments` segments long."""
    if budget_segments < 1:
        raise ValueError("budget_segments must be at least 1")
    body = to_sms_alphabet(output.text)
    choices = [Choice(c.id, to_sms_alphabet(c.label)) for c in output.choices]
    lines = [to_sms_alphabet(line) for line in _choice_lines(choices)]
    text, spans = _compose(body, lines)
    if _fits(text, budget_segments):
        return [text]
    return _split(text, budget_segments, _forbidden_tiers(text, spans, budget_segments))
