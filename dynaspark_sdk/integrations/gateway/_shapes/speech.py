"""`/v1/audio/speech`: the request checked into a `SpeechPlan`."""

from __future__ import annotations

import attrs

from .errors import model_not_found
from .models import SPEECH_MODELS
from .parameters import ParameterPolicy, object_body, string

__all__ = ["SpeechPlan", "parse_speech"]


@attrs.frozen
class SpeechPlan:
    """A checked `/v1/audio/speech` request."""

    text: str
    voice: str
    ignored: tuple[str, ...] = ()


def parse_speech(body: object, policy: ParameterPolicy) -> SpeechPlan:
    """Check an `/v1/audio/speech` body (the voice is checked by the SDK). Raises GatewayError."""
    request = object_body(body)
    model = string(request, "model")
    assert model is not None
    if model not in SPEECH_MODELS:
        raise model_not_found(model, SPEECH_MODELS)
    text = string(request, "input")
    voice = string(request, "voice")
    assert text is not None and voice is not None
    return SpeechPlan(text, voice, policy.check(request))
