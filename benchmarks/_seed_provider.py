"""The seed's provider, reproduced for the benchmarks: what gpt4free's `Dynaspark` (0.5.2.0) does
per call, without installing gpt4free.

Per call it opens a new `aiohttp.ClientSession` with the web page's headers, builds a
`FormData` with `user_input` (the messages folded as gpt4free's `format_prompt` folds them)
and `ai_model`, and at most one image (the whole image as bytes), posts it, raises on an
error status, reads the body as text, decodes the JSON and yields its `response` once; the
session (and its connection) is closed when the call ends. gpt4free resolves the model name
before the call; the benchmark passes a model name the service takes as it is.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

__all__ = ["format_prompt", "seed_provider_call"]

_PAGE_HEADERS = {
    "accept": "*/*",
    "accept-language": "en-US,en;q=0.9",
    "origin": "https://dynaspark.onrender.com",
    "referer": "https://dynaspark.onrender.com/",
    "user-agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36"
    ),
    "x-requested-with": "XMLHttpRequest",
}


def format_prompt(messages: Sequence[dict[str, Any]]) -> str:
    """gpt4free's folding: one message is its content; more are "role: content" lines and a
    closing "assistant:"."""
    if len(messages) <= 1:
        return str(messages[0]["content"]) if messages else ""
    lines = [f"{message['role'].capitalize()}: {message['content']}" for message in messages]
    return "\n".join([*lines, "Assistant:"])


async def seed_provider_call(
    api_endpoint: str,
    model: str,
    messages: Sequence[dict[str, Any]],
    media: Sequence[tuple[bytes, str]] | None = None,
) -> AsyncIterator[str]:
    """One call of the seed's provider against `api_endpoint` (yields the answer once)."""
    import aiohttp

    async with aiohttp.ClientSession(headers=_PAGE_HEADERS) as session:
        form = aiohttp.FormData()
        form.add_field("user_input", format_prompt(messages))
        form.add_field("ai_model", model)
        if media:
            image, name = media[0]
            form.add_field("file", bytes(image), filename=name, content_type="image/png")
        async with session.post(api_endpoint, data=form) as response:
            if not response.ok:
                raise RuntimeError(f"Response {response.status}: {await response.text()}")
            text = await response.text()
            yield json.loads(text)["response"]
