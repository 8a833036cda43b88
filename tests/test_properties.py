"""Property-based: whatever a person sends, at whatever step, the engine answers and never crashes; and from
any state, "menu" leads back to the main menu (for a person who has agreed to the privacy notice)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dialogs.flows  # noqa: F401 - registers the steps
from dialogs.engine import STEPS, Context, run_step
from dialogs.i18n import Translator
from dialogs.model import Inbound
from tests.fakes import FakeServices
from tests.test_engine import LOCALES

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 27, 10, tzinfo=TZ)
ANY_STEP = st.sampled_from(sorted(STEPS))
ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(["", "0", "1", "9", "99", "-1", "menu", "STOP", "start", "back", "١", "۲", "x" * 2000]),
)
VARS = {"offering": 1, "candidates": ["0127", "0126"], "goal": "sfi", "offset": 0, "child": None}


def run(state: dict, text: str, services: FakeServices) -> tuple[list, dict]:
    ctx = Context(services, Translator(LOCALES, services.language, TZ), NOW)
    return asyncio.run(run_step(state, Inbound(text=text), ctx))


def consented() -> FakeServices:
    return FakeServices(language="en", consented=True, municipality_code="0127", birth_year=1990)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step=ANY_STEP, text=ANY_TEXT, language=st.sampled_from([None, "sv", "en"]), agreed=st.booleans())
def test_any_input_at_any_step_gets_an_answer(step: str, text: str, language, agreed: bool) -> None:
    services = FakeServices(language=language, consented=agreed, municipality_code="0127", birth_year=1990)
    outputs, state = run({"step": step, "vars": dict(VARS)}, text, services)
    if state.get("step") == "stopped":
        return  # the person wrote STOP: one confirmation, or (already stopped) silence, by design
    assert outputs and outputs[0].text.strip()
    assert len(outputs[0].text) < 2500
    assert state.get("step") in STEPS or state == {}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step=ANY_STEP, texts=st.lists(ANY_TEXT, max_size=4))
def test_from_any_state_menu_leads_to_the_main_menu(step: str, texts: list[str]) -> None:
    services = consented()
    state: dict = {"step": step, "vars": dict(VARS)}
    for text in texts:
        _, state = run(state, text, services)
        if state == {}:  # erased: a new person starts over
            return
    if state.get("step") == "stopped":
        _, state = run(state, "start", services)
    outputs, state = run(state, "menu", services)
    assert state["step"] == "main_menu"
    assert [choice.id for choice in outputs[0].choices][:2] == ["find", "municipality"]
