"""The floor of target 11: the least any OpenAI-compatible gateway on this stack can cost per call.

A raw ASGI application under the same uvicorn settings as `dynaspark gateway` (uvicorn's
`http="auto"` and `loop="auto"`: httptools and uvloop where installed; no access log; no
lifespan). Per `POST /v1/chat/completions` it reads and parses the OpenAI JSON body, makes
the same upstream call as the gateway (the url-encoded form POST with the web page's headers,
through one shared `httpx.AsyncClient` with keep-alive and at most 10 plain calls upstream at
once, as the SDK's default `max_concurrency`; streams, as the SDK's, take no slot) and answers
a fixed OpenAI-shaped JSON with the upstream's text, or for `"stream": true` the same as
server-sent events (the role with the content, the stop, `[DONE]`). No checks, no error
mapping, no log line.

    python -m benchmarks._floor UPSTREAM_URL    # prints its own URL (ending in /v1), serves until killed
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx

__all__ = ["Floor"]

CHAT_PATH = "/dsai_fuck_u_spammer"  # the chat path the SDK tries first (spec.CHAT_PATHS[0])
UPSTREAM_SLOTS = 10
Scope = dict[str, Any]


class Floor:
    """The ASGI application."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.headers = {"origin": self.upstream, "referer": self.upstream + "/", "x-requested-with": "XMLHttpRequest"}
        self.http: httpx.AsyncClient | None = None
        self.slots: asyncio.Semaphore | None = None

    async def _ask(self, prompt: str, model: str, slot: bool) -> str:
        if self.http is None or self.slots is None:
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
            self.http = httpx.AsyncClient(limits=limits, trust_env=False)
            self.slots = asyncio.Semaphore(UPSTREAM_SLOTS)
        form = {"user_input": prompt, "ai_model": model}
        url = self.upstream + CHAT_PATH
        if slot:
            async with self.slots:
                answer = await self.http.post(url, data=form, headers=self.headers)
        else:
            answer = await self.http.post(url, data=form, headers=self.headers)
        text: str = answer.json()["response"]
        return text

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = json.loads(body)
        model = request["model"]
        prompt = request["messages"][-1]["content"]
        stream = bool(request.get("stream"))
        text = await self._ask(prompt, model, slot=not stream)
        if not stream:
            payload = {
                "id": "chatcmpl-floor",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
            data = json.dumps(payload, separators=(",", ":")).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": data})
            return
        head = {"id": "chatcmpl-floor", "object": "chat.completion.chunk", "created": 0, "model": model}
        first = {
            **head,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}],
        }
        last = {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        events = b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in (first, last))
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": events, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


def main(upstream: str) -> None:
    """Serve the floor on a free port of 127.0.0.1; print its URL first."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    config = uvicorn.Config(Floor(upstream), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1])
