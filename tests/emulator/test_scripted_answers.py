"""The emulator playing a model: scripted answers per endpoint (a queue, or a function of the
prompt and the model), after faults and rate limits as always."""

from __future__ import annotations

import pytest
from conftest import emulator_transport, open_dual

from dynaspark_sdk.testing import Emulator, faults

pytestmark = pytest.mark.anyio


async def test_scripted_answers_queue_per_endpoint_and_skip_refused_requests(
    client_kind: str, anyio_backend: str
) -> None:
    emulator = Emulator()
    emulator.script_answers(["first", "second"], endpoint="chat")
    emulator.script_answers(lambda prompt, model: f"{model} heard {prompt!r}", endpoint="text")
    emulator.inject(faults.status(503, retry_after=0))
    async with open_dual(client_kind, transport=emulator_transport(client_kind, emulator), max_retries=2) as dual:
        assert (await dual.call("chat", "a")).text == "first"  # the 503 took no answer
        assert emulator.remaining_answers("chat") == 1
        assert (await dual.call("generate_text", "b", model="mistral")).text == "mistral heard 'b'"
        assert emulator.remaining_answers("text") is None
        assert (await dual.call("chat", "c")).text == "second"
        assert (await dual.call("chat", "d")).text == "[gemini-1.5-flash-8b] You said: d"
        emulator.script_answers(["shared"])
        assert (await dual.call("generate_text", "e")).text == "shared"
        assert (await dual.call("chat", "f")).text == "[gemini-1.5-flash-8b] You said: f"
        emulator.script_answers(["x"])
        emulator.clear_answers()
        assert (await dual.call("chat", "g")).text == "[gemini-1.5-flash-8b] You said: g"


def test_bad_scripts_are_refused() -> None:
    emulator = Emulator()
    with pytest.raises(TypeError, match="not one string"):
        emulator.script_answers("one")
    with pytest.raises(TypeError, match="must be a string"):
        emulator.script_answers([1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="endpoint must be one of chat, text"):
        emulator.script_answers(["x"], endpoint="image")
