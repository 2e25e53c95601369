"""The model names the gateway serves beyond the SDK's chat models, and `/v1/models`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["IMAGE_MODEL_NAMES", "SPEECH_MODELS", "TEXT_MODELS", "TEXT_PREFIX", "model_entry", "model_list"]

#: `text/<model>` in `model` selects the public text API instead of the chat endpoint.
TEXT_PREFIX = "text/"
#: The text models `/v1/models` lists. ASSUMPTION: the spec names no text model and passes any
#: name through; these are the Pollinations names the service's documentation mentions
#: (`openai` is what it answers with by default). Any other `text/<name>` is sent as given.
TEXT_MODELS = ("openai", "mistral", "qwen-coder")
#: OpenAI's image model names, served by the spec's default image model.
IMAGE_MODEL_NAMES = ("dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini")
#: The speech model names accepted by /v1/audio/speech; all are the service's one audio model.
SPEECH_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "openai-audio")


def model_entry(name: str, created: int) -> dict[str, Any]:
    """One `/v1/models` entry. `created` is when the gateway began serving it (the service
    publishes no dates; OpenAI clients sort and show by it, and 0 reads as 1970)."""
    return {"id": name, "object": "model", "created": created, "owned_by": "dynaspark"}


def model_list(chat_models: Sequence[str], image_models: Sequence[str], created: int) -> dict[str, Any]:
    """The `/v1/models` answer: the chat models, `text/<model>`, the image models (the
    service's and OpenAI's names for its default) and the speech models."""
    names = [
        *chat_models,
        *(TEXT_PREFIX + name for name in TEXT_MODELS),
        *image_models,
        *IMAGE_MODEL_NAMES,
        *SPEECH_MODELS,
    ]
    return {"object": "list", "data": [model_entry(name, created) for name in dict.fromkeys(names)]}
