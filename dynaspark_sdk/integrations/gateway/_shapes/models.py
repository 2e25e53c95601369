"""The model names the gateway serves beyond the SDK's chat models, and `/v1/models` entries."""

from __future__ import annotations

from typing import Any

__all__ = ["IMAGE_MODEL_NAMES", "SPEECH_MODELS", "TEXT_MODELS", "TEXT_PREFIX", "model_entry"]

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


def model_entry(name: str) -> dict[str, Any]:
    """One `/v1/models` entry."""
    return {"id": name, "object": "model", "created": 0, "owned_by": "dynaspark"}
