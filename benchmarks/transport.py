"""Target 7: CPU per call of httpx's async path against aiohttp, and the aiohttp transport.

Every contender sends the same small multipart POST to the emulator's chat endpoint (its own
process), one call after another on one asyncio event loop, with one reused client or
session: the fields `user_input` and `ai_model` and a 1 KiB PNG as `file`. The figure is this
process's CPU time per call (`time.process_time()`: the server's work is not in it).

- raw httpx.AsyncClient (httpcore underneath) and a reused aiohttp.ClientSession: the gap;
- httpx.AsyncClient over `AiohttpTransport`: how much of the gap the transport closes;
- the SDK's `AsyncClient.chat()` on its default transport and on `AiohttpTransport`;
- when `httpx-aiohttp` is installed (openai-python's `DefaultAioHttpClient` is built on it):
  raw httpx and the SDK over its `AiohttpTransport`, the library weighed against the project's own.

"Gap closed" is (httpx - httpx over AiohttpTransport) / (httpx - aiohttp).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from ._harness import Budget, Measured, Row, alternate_async, format_us
from ._servers import spawn

__all__ = ["run"]

CHAT_MODEL = "gemini-1.5-flash-8b"
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(1016)
FORM = {"user_input": "describe", "ai_model": CHAT_MODEL}


async def _measure(aiohttp: Any, url: str, budget: Budget) -> dict[str, Measured]:
    from dynaspark_sdk import AsyncClient
    from dynaspark_sdk.aiohttp_transport import AiohttpTransport

    calls = budget.pick(200, 5)
    endpoint = url + "/generate_response"
    files = {"file": ("image.png", IMAGE, "image/png")}
    library = _optional("httpx_aiohttp")
    async with contextlib.AsyncExitStack() as stack:
        raw = await stack.enter_async_context(httpx.AsyncClient())
        raw_over_aiohttp = await stack.enter_async_context(httpx.AsyncClient(transport=AiohttpTransport()))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        sdk = await stack.enter_async_context(AsyncClient(base_url=url))
        # The SDK leaves a client it was given open, so this one is closed here.
        http_over_aiohttp = await stack.enter_async_context(httpx.AsyncClient(transport=AiohttpTransport()))
        sdk_over_aiohttp = await stack.enter_async_context(AsyncClient(base_url=url, http_client=http_over_aiohttp))

        def httpx_batch(client: httpx.AsyncClient) -> Callable[[], Awaitable[None]]:
            async def batch() -> None:
                for _ in range(calls):
                    response = await client.post(endpoint, data=FORM, files=files)
                    response.raise_for_status()
                    response.json()["response"]

            return batch

        async def aiohttp_batch() -> None:
            for _ in range(calls):
                form = aiohttp.FormData()
                for name, value in FORM.items():
                    form.add_field(name, value)
                form.add_field("file", IMAGE, filename="image.png", content_type="image/png")
                async with session.post(endpoint, data=form) as response:
                    response.raise_for_status()
                    (await response.json())["response"]

        def sdk_batch(client: AsyncClient) -> Callable[[], Awaitable[None]]:
            async def batch() -> None:
                for _ in range(calls):
                    await client.chat("describe", model=CHAT_MODEL, media=IMAGE)

            return batch

        contenders: dict[str, Callable[[], Awaitable[None]]] = {
            "httpx": httpx_batch(raw),
            "aiohttp": aiohttp_batch,
            "httpx over AiohttpTransport": httpx_batch(raw_over_aiohttp),
            "sdk": sdk_batch(sdk),
            "sdk over AiohttpTransport": sdk_batch(sdk_over_aiohttp),
        }
        if library is not None:
            raw_over_library = await stack.enter_async_context(httpx.AsyncClient(transport=library.AiohttpTransport()))
            http_over_library = await stack.enter_async_context(httpx.AsyncClient(transport=library.AiohttpTransport()))
            sdk_over_library = await stack.enter_async_context(AsyncClient(base_url=url, http_client=http_over_library))
            contenders["httpx over httpx-aiohttp"] = httpx_batch(raw_over_library)
            contenders["sdk over httpx-aiohttp"] = sdk_batch(sdk_over_library)
        return await alternate_async(contenders, calls=calls, rounds=budget.pick(11, 2))


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _row(name: str, measured: Measured, baseline_name: str, baseline: Measured, note: str = "") -> Row:
    return Row(
        target="7",
        measurement=f"multipart POST, client CPU per call: {name}{note}",
        value=format_us(measured.cpu_median),
        baseline=f"{baseline_name} {format_us(baseline.cpu_median)}",
        ratio=measured.cpu_ratio(baseline),
        goal="-",
        verdict="info",
    )


def run(budget: Budget) -> list[Row]:
    """Measure target 7 and return its rows."""
    try:
        aiohttp = importlib.import_module("aiohttp")
    except ImportError:
        return [Row("7", "httpx async path vs aiohttp", "-", "-", None, "-", "skipped (no aiohttp)")]
    with spawn("emulator") as url:
        results = anyio.run(_measure, aiohttp, url, budget, backend="asyncio")
    raw, fast, over = results["httpx"], results["aiohttp"], results["httpx over AiohttpTransport"]
    sdk, sdk_over = results["sdk"], results["sdk over AiohttpTransport"]
    gap = raw.cpu_median - fast.cpu_median
    closed = (raw.cpu_median - over.cpu_median) / gap if gap > 0 else float("nan")
    rows = [
        _row("httpx.AsyncClient", raw, "aiohttp", fast),
        _row("httpx over AiohttpTransport", over, "aiohttp", fast, f" (closes {closed:.0%} of the gap)"),
        _row("sdk AsyncClient.chat", sdk, "aiohttp", fast),
        _row("sdk AsyncClient.chat over AiohttpTransport", sdk_over, "sdk AsyncClient.chat", sdk),
    ]
    if "sdk over httpx-aiohttp" in results:
        library, sdk_library = results["httpx over httpx-aiohttp"], results["sdk over httpx-aiohttp"]
        closed = (raw.cpu_median - library.cpu_median) / gap if gap > 0 else float("nan")
        rows += [
            _row("httpx over httpx-aiohttp", library, "aiohttp", fast, f" (closes {closed:.0%} of the gap)"),
            _row("sdk AsyncClient.chat over httpx-aiohttp", sdk_library, "sdk over AiohttpTransport", sdk_over),
        ]
    return rows
