"""instructor against the gateway, in its default TOOLS mode and in JSON mode, with the
emulator playing the model over loopback: a wrong answer the gateway's repair fixes, and one
it cannot (which instructor then re-asks with its own retry).

Every instructor release pins jiter<0.15, which the dev extra's openai (3.57) cannot take, so
this module runs in a venv of its own: `scripts/_instructor_venv.sh` (a step of scripts/test).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

if not os.environ.get("DYNASPARK_INSTRUCTOR_VENV"):
    pytest.skip("instructor runs in its own venv: scripts/_instructor_venv.sh", allow_module_level=True)

import instructor  # type: ignore[import-not-found]  # installed only in its own venv
import openai
from conftest import GatewayStack, gateway_stack
from pydantic import BaseModel

from dynaspark_sdk.testing import Emulator

pytestmark = pytest.mark.usefixtures("loopback_only")


class City(BaseModel):
    name: str
    population: int


PARIS = {"name": "Paris", "population": 2100000}


@pytest.fixture(scope="module")
def stack() -> Iterator[GatewayStack]:
    with gateway_stack() as running:
        yield running


@pytest.fixture
def emulator(stack: GatewayStack) -> Emulator:
    stack.emulator.clear_requests()
    stack.emulator.clear_answers()
    return stack.emulator


@pytest.fixture
def client(stack: GatewayStack) -> Iterator[Callable[[Any], Any]]:
    """Build an instructor client in a mode, over an openai client closed after the test."""
    made: list[openai.OpenAI] = []

    def build(mode: Any) -> Any:
        made.append(openai.OpenAI(base_url=stack.url, api_key="unused", max_retries=0))
        return instructor.from_openai(made[-1], mode=mode)

    yield build
    for raw in made:
        raw.close()


def ask(patched: Any, **kwargs: Any) -> dict[str, Any]:
    """The answer as a dict (instructor hands back an instance of a subclass it makes of City)."""
    messages = [{"role": "user", "content": "The biggest city of France, and its population?"}]
    city = patched.chat.completions.create(model="gemini-2.0-flash", response_model=City, messages=messages, **kwargs)
    assert isinstance(city, City)
    result: dict[str, Any] = city.model_dump()
    return result


def test_tools_mode_with_a_repaired_answer(client: Callable[[Any], Any], emulator: Emulator) -> None:
    emulator.script_answers(
        [
            '{"name": "City", "arguments": {"name": "Paris"}}',  # the population is missing
            '{"name": "City", "arguments": {"name": "Paris", "population": 2100000}}',
        ]
    )
    assert ask(client(instructor.Mode.TOOLS)) == PARIS
    first, repair = (request.fields["user_input"] for request in emulator.requests)
    assert "You must call the function City now." in first
    assert "- arguments of City: $: 'population' is a required property" in repair


def test_tools_mode_when_the_repair_fails_instructor_retries(client: Callable[[Any], Any], emulator: Emulator) -> None:
    emulator.script_answers(
        [
            "Paris, two million.",
            "Paris!",  # the gateway's repair fails: a 502 invalid_model_output
            '{"name": "City", "arguments": {"name": "Paris", "population": 2100000}}',
        ]
    )
    patched = client(instructor.Mode.TOOLS)
    with pytest.raises(Exception, match="invalid_model_output"):  # instructor wraps openai's error its own way
        ask(patched, max_retries=0)
    assert ask(patched) == PARIS  # instructor's own retry, fresh


def test_json_mode(client: Callable[[Any], Any], emulator: Emulator) -> None:
    emulator.script_answers(
        ['Here: {"name": "Paris", "population": "lots"}', '{"name": "Paris", "population": 2100000}']
    )
    # JSON mode asks for a JSON object; instructor checks it against City and re-asks itself.
    assert ask(client(instructor.Mode.JSON), max_retries=2) == PARIS
    assert len(emulator.requests) == 2
    assert "population" in emulator.requests[1].fields["user_input"]
