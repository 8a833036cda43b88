"""The conversation engine: one call per inbound message, state in and state out, no I/O of its own.

A step has a `prompt` (the question it asks) and a `handle` (what it does with the answer). A turn runs the
current step's handler, then prompts the step it leads to; all that is said in a turn is merged into one
output, which keeps SMS replies to as few messages as possible.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz

from dialogs import keywords
from dialogs.i18n import K_, Translator
from dialogs.model import Choice, Expect, Inbound, Output
from dialogs.ports import Services
from dialogs.text import clean, fold, has_words, is_number, looks_like_personal_number

MAX_STACK = 12
MAX_LABEL = 120


@dataclass(frozen=True)
class Prompt:
    text: str
    choices: tuple[Choice, ...] = ()
    expect: Expect = Expect.CHOICE


@dataclass(frozen=True)
class Answer:
    text: str
    choice: str | None = None


@dataclass
class Context:
    services: Services
    t: Translator
    now: datetime
    max_chars: int = 1000
    # Who a person can ask for help (the channel's staff contact), told with the help text.
    help_contact: str | None = None

    def use_language(self, code: str) -> None:
        self.t = self.t.for_language(code)


@dataclass
class Turn:
    """The state being worked on during one turn, and what has been said so far."""

    step: str
    vars: dict
    stack: list[str]
    menu: dict
    notes: list[str] = field(default_factory=list)
    erased: bool = False
    # The number written after a global word that takes one ("LINK 123456").
    argument: str = ""

    def say(self, text: str) -> None:
        self.notes.append(text)

    def push(self, step: str) -> None:
        self.stack = [*self.stack, step][-MAX_STACK:]

    def pop(self) -> str | None:
        if not self.stack:
            return None
        *self.stack, previous = self.stack
        return previous


Handler = Callable[[Context, Turn, Answer], Awaitable[str | None]]
Prompter = Callable[[Context, Turn], Awaitable[Prompt]]


@dataclass(frozen=True)
class Step:
    name: str
    prompt: Prompter
    handle: Handler
    needs_consent: bool = True


STEPS: dict[str, Step] = {}
START_STEP = "choose_language"


def step(name: str, prompt: Prompter, *, needs_consent: bool = True) -> Callable[[Handler], Handler]:
    """Registers a step: `@step("ask_goal", prompt_goal) async def handle_goal(ctx, turn, answer)`."""

    def register(handle: Handler) -> Handler:
        STEPS[name] = Step(name, prompt, handle, needs_consent)
        return handle

    return register


GLOBAL_WORDS = {
    # Translators: words a person can write alone at any step, separated by "|". Keep the English words
    # and add your own (lower case; accents do not matter). The same holds for every "keywords" entry.
    "help": K_("keywords", "help|?"),
    "menu": K_("keywords", "menu|0"),
    "back": K_("keywords", "back"),
    "language": K_("keywords", "language|lang"),
    "stop": K_("keywords", "stop"),
    "start": K_("keywords", "start"),
    "delete": K_("keywords", "delete|delete my data"),
    "link": K_("keywords", "link"),
    # Never the bare English "cancel": SMS providers take it as an opt-out (STOP) word.
    "cancel": K_("keywords", "cancel booking|unbook"),
}
# Global words that may be followed by a number ("LINK 123456"); the number becomes `Turn.argument`.
WITH_NUMBER = frozenset({"link"})
_WORD_AND_NUMBER = re.compile(r"(?P<word>\D*?)\s*(?P<number>\d{4,8})")
# Words a provider recognised itself (an SMS gateway's STOP list) and passes on in `Inbound.payload`.
PROVIDER_WORDS = frozenset({"stop", "help"})
YES_NO_WORDS = {"yes": K_("keywords", "yes|y|ok"), "no": K_("keywords", "no|n")}
GlobalHandler = Callable[[Context, Turn], Awaitable[str | None]]
GLOBALS: dict[str, GlobalHandler] = {}
# What a channel knows besides the words (`Inbound.payload`): a link's municipality, a shared location's.
HintHandler = Callable[[Context, Turn, str], Awaitable[str | None]]
HINTS: dict[str, HintHandler] = {}


def on_hint(name: str) -> Callable[[HintHandler], HintHandler]:
    """Registers what to do with `Inbound.payload[name]`; it runs before the words are read."""

    def register(handle: HintHandler) -> HintHandler:
        HINTS[name] = handle
        return handle

    return register


def on_word(word: str) -> Callable[[GlobalHandler], GlobalHandler]:
    def register(handle: GlobalHandler) -> GlobalHandler:
        GLOBALS[word] = handle
        return handle

    return register


# (catalog, keyword entry) -> the folded words: folding every list on every message was a tenth of a turn.
_FOLDED_KEYWORDS: dict[tuple[object, str], frozenset[str]] = {}


def _folded_keywords(t: Translator, message: str) -> frozenset[str]:
    cache_key = (t._catalog, message)
    words = _FOLDED_KEYWORDS.get(cache_key)
    if words is None:
        if len(_FOLDED_KEYWORDS) > 4096:
            _FOLDED_KEYWORDS.clear()
        words = _FOLDED_KEYWORDS[cache_key] = frozenset(fold(w) for w in t.keywords(message))
    return words


def global_word(ctx: Context, text: str) -> str | None:
    key = fold(text)
    if not key:
        return None
    translators = [ctx.t, ctx.t.for_language("sv"), ctx.t.for_language("en")]
    for word, message in GLOBAL_WORDS.items():
        if any(key in _folded_keywords(t, message) for t in translators):
            return word
    return keywords.action(text)


def global_command(ctx: Context, text: str) -> tuple[str | None, str]:
    """A global word alone ("stop" -> ("stop", "")), or one that takes a number with it ("link 123456")."""
    word = global_word(ctx, text)
    if word:
        return word, ""
    match = _WORD_AND_NUMBER.fullmatch(text)
    if match and match["word"].strip():
        word = global_word(ctx, match["word"])
        if word in WITH_NUMBER:
            return word, match["number"]
    return None, ""


def stopped_state(state: dict) -> dict:
    """The state of a person who opted out outside the conversation (on the provider's STOP list), as if
    they had written STOP: silent until START, then back where they were."""
    if state.get("step") == "stopped":
        return state
    return {**state, "step": "stopped", "vars": {**state.get("vars", {}), "resume": state.get("step", "new")}}


def resolve_choice(ctx: Context, text: str, choices: list[list[str]]) -> tuple[str | None, str | None]:
    """Maps a typed answer to a choice id by its number or its words. Returns (choice id, problem)."""
    if not choices:
        return None, None
    if is_number(text):
        number = int(text)
        if 1 <= number <= len(choices):
            return choices[number - 1][0], None
        return None, ctx.t._("Please answer with a number from 1 to {last}.", last=len(choices))
    key = fold(text)
    if not key:
        return None, None
    ids = [choice_id for choice_id, _ in choices]
    for choice_id, words in YES_NO_WORDS.items():
        if choice_id in ids and any(key in _folded_keywords(t, words) for t in _translators(ctx)):
            return choice_id, None
    if keywords.answer(text) in ids:  # "نعم", "так", "haa" … whatever language was chosen
        return keywords.answer(text), None
    labels = {choice_id: fold(label) for choice_id, label in choices}
    exact = [choice_id for choice_id, label in labels.items() if key == label or label.startswith(key + " ")]
    if len(exact) == 1:
        return exact[0], None
    scored = sorted(
        ((fuzz.WRatio(key, label), choice_id) for choice_id, label in labels.items()), reverse=True
    )
    best = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0
    if len(key) >= 3 and best[0] >= 86 and best[0] - runner_up >= 8:
        return best[1], None
    return None, None


def _translators(ctx: Context) -> list[Translator]:
    return [ctx.t, ctx.t.for_language("sv"), ctx.t.for_language("en")]


async def run_step(state: dict, inbound: Inbound, ctx: Context) -> tuple[list[Output], dict]:
    """One turn: the answer in `inbound` given to the step in `state`. Returns the outputs and new state."""
    turn = Turn(
        step=state.get("step", "new"),
        vars=dict(state.get("vars", {})),
        stack=list(state.get("stack", [])),
        menu=dict(state.get("menu", {})),
    )
    await _dispatch(ctx, turn, inbound)
    if turn.erased or turn.step == "stopped":
        outputs = [Output(text="\n\n".join(turn.notes), rtl=ctx.t.rtl)] if turn.notes else []
        return outputs, {} if turn.erased else _state(turn)
    old_token = state.get("menu", {}).get("token")
    prompt = await _prompt(ctx, turn)
    # A button that only paged the same question ("More"): nothing was said, the step is the same.
    paged = (
        inbound.choice_id is not None
        and inbound.menu_token == old_token
        and not turn.notes
        and turn.step == state.get("step")
    )
    return [_ask(ctx, turn, prompt, replaces=old_token if paged else None)], _state(turn)


async def interject(state: dict, step_name: str, values: dict, ctx: Context) -> tuple[list[Output], dict]:
    """Someone outside the conversation asks the person something (staff propose another time): the step
    the person was at waits on the stack, `step_name` is asked now and answered like any other step."""
    turn = Turn(
        step=state.get("step", "new"),
        vars={**state.get("vars", {}), **values},
        stack=list(state.get("stack", [])),
        menu=dict(state.get("menu", {})),
    )
    if turn.step in STEPS:
        _go(turn, step_name)
    else:
        turn.step = step_name
    return [_ask(ctx, turn, await _prompt(ctx, turn))], _state(turn)


def _ask(ctx: Context, turn: Turn, prompt: Prompt, replaces: str | None = None) -> Output:
    """What was said this turn and the question, as one output with a new menu."""
    text = "\n\n".join([*turn.notes, prompt.text] if prompt.text else turn.notes)
    turn.menu = {
        "token": str(int(turn.menu.get("token", "0")) + 1),
        "choices": [[c.id, c.label[:MAX_LABEL]] for c in prompt.choices],
    }
    return Output(
        text=text,
        choices=ctx.t.choices(prompt.choices),
        expect=prompt.expect,
        rtl=ctx.t.rtl,
        menu_token=turn.menu["token"],
        replaces_menu=replaces,
    )


def _state(turn: Turn) -> dict:
    return {"step": turn.step, "vars": turn.vars, "stack": turn.stack, "menu": turn.menu}


async def _dispatch(ctx: Context, turn: Turn, inbound: Inbound) -> None:
    """Runs the handler for this input and moves `turn.step` to where the conversation goes next."""
    if turn.step == "stopped":
        await _resume_if_start(ctx, turn, inbound)
        return
    if len(inbound.text) > ctx.max_chars:
        turn.say(ctx.t._("Your message is too long. Please write a short answer."))
        return
    text = clean(inbound.text)
    if looks_like_personal_number(text):
        turn.say(
            ctx.t._(
                "Please do not send your personal identity number. We do not need it, and we did not save it."
            )
        )
        return
    hinted = await _hints(ctx, turn, inbound)
    if turn.step == "new":
        person = await ctx.services.person()
        if person.language:
            turn.step = "main_menu" if person.consented else "consent"
            return
        turn.step = START_STEP
        if not text:
            return
    if inbound.choice_id is None and not text:
        if not hinted:
            turn.say(ctx.t._("Your message was empty."))
        return
    word, turn.argument = _global(ctx, inbound, text)
    if word:
        _go(turn, await GLOBALS[word](ctx, turn))
        return
    answer = _answer(ctx, turn, inbound, text)
    if answer is not None:
        _go(turn, await STEPS[turn.step].handle(ctx, turn, answer))


async def _hints(ctx: Context, turn: Turn, inbound: Inbound) -> bool:
    """Runs the handlers of the hints in `inbound.payload`; True when there was one."""
    found = False
    for name, value in inbound.payload.items():
        if name in HINTS and isinstance(value, str):
            found = True
            _go(turn, await HINTS[name](ctx, turn, value))
    return found


def _global(ctx: Context, inbound: Inbound, text: str) -> tuple[str | None, str]:
    if inbound.choice_id is not None:
        return None, ""
    if inbound.payload.get("keyword") in PROVIDER_WORDS:
        return inbound.payload["keyword"], ""
    return global_command(ctx, text)


def _answer(ctx: Context, turn: Turn, inbound: Inbound, text: str) -> Answer | None:
    choices = turn.menu.get("choices", [])
    if inbound.choice_id is not None:
        choice_id = _by_position(inbound.choice_id, choices)
        valid = {choice_id for choice_id, _ in choices}
        if inbound.menu_token != turn.menu.get("token") or choice_id not in valid:
            turn.say(ctx.t._("That menu is old. Here is the current one."))
            return None
        return Answer(text="", choice=choice_id)
    choice, problem = resolve_choice(ctx, text, choices)
    if problem:
        turn.say(problem)
        return None
    if choice is None and choices and not has_words(text):
        turn.say(ctx.t._("Sorry, I did not understand. Please answer with a number."))
        return None
    return Answer(text=text, choice=choice)


def _by_position(choice_id: str, choices: list[list[str]]) -> str:
    """A button sent as "#N" (its id was too long for the channel) is the N-th choice of its menu."""
    number = choice_id[1:]
    if choice_id.startswith("#") and number.isdigit() and 1 <= int(number) <= len(choices):
        return choices[int(number) - 1][0]
    return choice_id


def _go(turn: Turn, target: str | None) -> None:
    """Moves to `target` (None: stay; "pop": back), remembering where we came from for "back"."""
    if target is None or target == turn.step:
        return
    if target == "pop":
        turn.step = turn.pop() or "main_menu"
        return
    turn.push(turn.step)
    turn.step = target


async def _prompt(ctx: Context, turn: Turn) -> Prompt:
    person = await ctx.services.person()
    if turn.step not in STEPS:
        turn.step = START_STEP
    if STEPS[turn.step].needs_consent and not person.consented:
        turn.step = "consent" if person.language else START_STEP
    elif turn.step == START_STEP and person.language is None:
        turn.stack = []
    return await STEPS[turn.step].prompt(ctx, turn)


async def _resume_if_start(ctx: Context, turn: Turn, inbound: Inbound) -> None:
    """While opted out, only START is heard; everything else gets no answer at all."""
    said_start = global_word(ctx, clean(inbound.text[: ctx.max_chars])) == "start"
    if said_start or inbound.payload.get("keyword") == "start":
        await ctx.services.opt_in()
        turn.step = turn.vars.pop("resume", "main_menu")
        turn.say(ctx.t._("Welcome back."))
