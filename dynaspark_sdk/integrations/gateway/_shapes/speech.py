"""`/v1/audio/speech`: the request checked into a `SpeechPlan`."""

from __future__ import annotations

import attrs

from .errors import model_not_found
from .models import SPEECH_MODELS
from .parameters import SPEECH_UNSUPPORTED, check_parameters, object_body, string

__all__ = ["SpeechPlan", "parse_speech"]


@attrs.frozen
class SpeechPlan:
    """A checked `/v1/audio/speech` request."""

    text: str
    voice: str


_SPEECH_HANDLED = frozenset({"model", "input", "voice"})


def parse_speech(body: object) -> SpeechPlan:
    """Check an `/v1/audio/speech` body (the voice is checked by the SDK). Raises GatewayError."""
    request = object_body(body)
    model = string(request, "model")
    assert model is not None
    if model not in SPEECH_MODELS:
        raise model_not_found(model, SPEECH_MODELS)
    text = string(request, "input")
    voice = string(request, "voice")
    assert text is not None and voice is not None
    check_parameters(request, _SPEECH_HANDLED, SPEECH_UNSUPPORTED, "Dynaspark's speech")
    return SpeechPlan(text, voice)
