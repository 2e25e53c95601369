"""What the service's spec lists: models, model aliases, voices, image models and defaults.

The values come from the hand-maintained spec (openapi/dynaspark.yaml) through the generated
layer, so they change only with the spec. Clients check every argument against them before
anything is sent; this module is the public way to read them.

    from dynaspark_sdk import spec

    print(spec.CHAT_MODELS)          # the chat endpoint's models, as the service names them
    print(spec.CHAT_MODEL_ALIASES)   # friendly names and the models they send
    print(spec.VOICES, spec.DEFAULT_VOICE)

(`client.image_models` and `client.voices` give the same lists from a client.)
`openapi_document()` returns the whole spec the package was generated from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dynaspark_sdk._generated import spec_values as _values

__all__ = [
    "AUDIO_MODEL",
    "CHAT_MODELS",
    "CHAT_MODEL_ALIASES",
    "CHAT_PATHS",
    "DEFAULT_BASE_URL",
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_TEXT_MODEL",
    "DEFAULT_VOICE",
    "IMAGE_MODELS",
    "MAX_IMAGE_BYTES",
    "VISION_MODELS",
    "VOICES",
    "openapi_document",
    "resolve_chat_model",
]

#: The chat endpoint's models, as the service names them.
CHAT_MODELS: Final[tuple[str, ...]] = _values.CHAT_MODELS
#: The chat model used when none is given.
DEFAULT_CHAT_MODEL: Final[str] = _values.DEFAULT_CHAT_MODEL
#: Friendly chat model names and the listed model each one sends.
CHAT_MODEL_ALIASES: Final[Mapping[str, str]] = _values.CHAT_MODEL_ALIASES
#: The chat models that take an image.
VISION_MODELS: Final[tuple[str, ...]] = _values.VISION_MODELS
#: The image endpoint's models.
IMAGE_MODELS: Final[tuple[str, ...]] = _values.IMAGE_MODELS
#: The image model used when none is given.
DEFAULT_IMAGE_MODEL: Final[str] = _values.DEFAULT_IMAGE_MODEL
#: The voices `generate_audio()` speaks with.
VOICES: Final[tuple[str, ...]] = _values.VOICES
#: The voice used when none is given.
DEFAULT_VOICE: Final[str] = _values.DEFAULT_VOICE
#: The text endpoint's model that answers with speech (MP3).
AUDIO_MODEL: Final[str] = _values.AUDIO_MODEL
#: The model the text endpoint assumes when none is given.
DEFAULT_TEXT_MODEL: Final[str] = _values.DEFAULT_TEXT_MODEL
#: The largest image the chat endpoint takes, in bytes.
MAX_IMAGE_BYTES: Final[int] = _values.MAX_IMAGE_BYTES
#: The paths the chat endpoint is known at, newest first.
CHAT_PATHS: Final[tuple[str, ...]] = _values.CHAT_PATHS
#: The service's address: the clients' default `base_url` (`DYNASPARK_BASE_URL` overrides it).
DEFAULT_BASE_URL: Final[str] = _values.DEFAULT_BASE_URL


def resolve_chat_model(model: str | None = None, *, resolve_alias: bool = True) -> str:
    """The model a chat call sends for `model`: the default for an empty name, an alias's target
    (unless `resolve_alias=False`), a listed name as it is. An unknown name raises
    `ModelNotSupportedError`, naming the valid models, as the clients do before sending.

        >>> resolve_chat_model("gemini-2.0-flash")
        'gemini-2.0-flash-lite'
    """
    # Imported here: the core's chat module loads more than reading the lists needs.
    from dynaspark_sdk._operations.chat import resolve_chat_model as resolve

    return resolve(model, resolve_alias=resolve_alias)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document this package was generated from, as JSON data (a fresh copy on each
    call): what `dynaspark probe` checks the live service against."""
    # Imported here: reading the lists above needs neither.
    import json
    from importlib import resources

    text = resources.files("dynaspark_sdk._generated").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
