"""Enumerations, ranges and defaults of openapi/dynaspark.yaml.

Written by scripts/generate from the spec; never edit by hand.
"""

from collections.abc import Mapping
from typing import Final, NamedTuple


class Rule(NamedTuple):
    """What the spec allows for one parameter or form field."""

    type: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    default: object = None
    enum: tuple[str, ...] | None = None
    """The allowed values; for a boolean, the spellings a query may use."""


# The service's address: the spec's first server.
DEFAULT_BASE_URL: Final = "https://dynaspark.onrender.com"
CHAT_MODELS: Final[tuple[str, ...]] = (
    "gemini-1.5-flash",
    "gemini-1.5-flash-8b",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
)
DEFAULT_CHAT_MODEL: Final = "gemini-1.5-flash"
CHAT_MODEL_ALIASES: Final[Mapping[str, str]] = {
    "gemini-1.5-flash": "gemini-1.5-flash-8b",
    "gemini-2.0-flash": "gemini-2.0-flash-lite",
}
VISION_MODELS: Final[tuple[str, ...]] = (
    "gemini-1.5-flash",
    "gemini-1.5-flash-8b",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
)
IMAGE_MODELS: Final[tuple[str, ...]] = ("flux", "turbo", "gptimage")
DEFAULT_IMAGE_MODEL: Final = "flux"
VOICES: Final[tuple[str, ...]] = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
DEFAULT_VOICE: Final = "alloy"
AUDIO_MODEL: Final = "openai-audio"
DEFAULT_TEXT_MODEL: Final = "openai"
MAX_IMAGE_BYTES: Final = 20000000
# The chat endpoint's path, then the paths it had before (newest first).
CHAT_PATHS: Final[tuple[str, ...]] = ("/dsai_fuck_u_spammer", "/generate_response")
# operationId -> (method, path) of every operation the spec describes.
OPERATIONS: Final[Mapping[str, tuple[str, str]]] = {
    "chat": ("POST", "/dsai_fuck_u_spammer"),
    "chat_previous": ("POST", "/generate_response"),
    "generate_text": ("GET", "/api/generate_response"),
    "generate_image": ("GET", "/api/generate_image"),
    "status": ("GET", "/status"),
}

# operationId -> parameter or form-field name -> rule
PARAMETERS: Final[Mapping[str, Mapping[str, Rule]]] = {
    "chat": {
        "user_input": Rule(type="string", required=True, min_length=1),
        "ai_model": Rule(
            type="string",
            required=True,
            default="gemini-1.5-flash",
            enum=("gemini-1.5-flash", "gemini-1.5-flash-8b", "gemini-2.0-flash", "gemini-2.0-flash-lite"),
        ),
    },
    "chat_previous": {
        "user_input": Rule(type="string", required=True, min_length=1),
        "ai_model": Rule(
            type="string",
            required=True,
            default="gemini-1.5-flash",
            enum=("gemini-1.5-flash", "gemini-1.5-flash-8b", "gemini-2.0-flash", "gemini-2.0-flash-lite"),
        ),
    },
    "generate_text": {
        "user_input": Rule(type="string", required=True, min_length=1),
        "api_key": Rule(type="string", required=False, min_length=1),
        "model": Rule(type="string", required=False, min_length=1),
        "temperature": Rule(type="number", required=False, minimum=0, maximum=3),
        "top_p": Rule(type="number", required=False, minimum=0, maximum=1),
        "presence_penalty": Rule(type="number", required=False, minimum=-2, maximum=2),
        "frequency_penalty": Rule(type="number", required=False, minimum=-2, maximum=2),
        "json": Rule(type="boolean", required=False, enum=("true", "false", "True", "False")),
        "system": Rule(type="string", required=False),
        "stream": Rule(type="boolean", required=False, enum=("true", "false", "True", "False")),
        "private": Rule(type="boolean", required=False, enum=("true", "false", "True", "False")),
        "seed": Rule(type="integer", required=False, minimum=-9223372036854775808, maximum=9223372036854775807),
        "referrer": Rule(type="string", required=False),
        "voice": Rule(
            type="string", required=False, default="alloy", enum=("alloy", "echo", "fable", "onyx", "nova", "shimmer")
        ),
    },
    "generate_image": {
        "user_input": Rule(type="string", required=True, min_length=1),
        "api_key": Rule(type="string", required=False, min_length=1),
        "width": Rule(type="integer", required=False, minimum=64, maximum=2048, default=768),
        "height": Rule(type="integer", required=False, minimum=64, maximum=2048, default=768),
        "model": Rule(type="string", required=False, default="flux", enum=("flux", "turbo", "gptimage")),
        "nologo": Rule(type="boolean", required=False, enum=("true", "false", "True", "False")),
        "seed": Rule(type="integer", required=False, minimum=-9223372036854775808, maximum=9223372036854775807),
        "wm": Rule(type="string", required=False),
    },
    "status": {},
}
