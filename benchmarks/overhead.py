"""Target 1: the SDK's per-call overhead over raw httpx, sync and async.

Both sides send the same requests to the same emulator (its own process, loopback) one after
another: `generate_text("hello")` against ``GET /api/generate_response?user_input=hello`` with
the JSON decoded, and `chat("hello")` against the same url-encoded form POST with the same
page headers. Raw httpx uses a default `httpx.Client` / `httpx.AsyncClient`, the SDK its own.
The ratio is wall time per call (server time included on both sides, as a user sees it);
the client process's CPU time per call is reported next to it, since that is where the SDK's
extra work shows undiluted; for the async `chat()` it has its own goal, at most 1.05x.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx

from ._harness import Budget, Measured, Row, alternate, alternate_async, format_us, has_trio, verdict
from ._servers import spawn

__all__ = ["run"]

GOAL = 1.15
CPU_GOAL = 1.05
PROMPT = "hello"
CHAT_MODEL = "gemini-1.5-flash-8b"


def _page_headers(base_url: str) -> dict[str, str]:
    # What the SDK's chat sends besides httpx's defaults, so both sides send the same request.
    return {"origin": base_url, "referer": base_url + "/", "x-requested-with": "XMLHttpRequest"}


def _rows(label: str, results: dict[str, Measured]) -> list[Row]:
    rows = []
    for operation in ("generate_text", "chat"):
        sdk, raw = results[f"sdk {operation}"], results[f"httpx {operation}"]
        ratio = sdk.wall_ratio(raw)
        rows.append(
            Row(
                target="1",
                measurement=f"{label} {operation}, wall per call",
                value=format_us(sdk.wall_median),
                baseline=f"httpx {format_us(raw.wall_median)}",
                ratio=ratio,
                goal=f"<= {GOAL}x",
                verdict=verdict(ratio <= GOAL),
            )
        )
        cpu_ratio = sdk.cpu_ratio(raw)
        # Issue 15: the async chat's client CPU at most 1.05x raw httpx's for the same form.
        targeted = label.startswith("async") and operation == "chat"
        rows.append(
            Row(
                target="1",
                measurement=f"{label} {operation}, client CPU per call",
                value=format_us(sdk.cpu_median),
                baseline=f"httpx {format_us(raw.cpu_median)}",
                ratio=cpu_ratio,
                goal=f"<= {CPU_GOAL}x" if targeted else "-",
                verdict=verdict(cpu_ratio <= CPU_GOAL) if targeted else "info",
            )
        )
    return rows


def _sync(url: str, budget: Budget) -> dict[str, Measured]:
    from dynaspark_sdk import Client

    calls = budget.pick(200, 5)
    form = {"user_input": PROMPT, "ai_model": CHAT_MODEL}
    headers = _page_headers(url)
    with Client(base_url=url) as sdk, httpx.Client(base_url=url) as raw:

        def sdk_text() -> None:
            for _ in range(calls):
                sdk.generate_text(PROMPT)

        def raw_text() -> None:
            for _ in range(calls):
                response = raw.get("/api/generate_response", params={"user_input": PROMPT})
                response.raise_for_status()
                response.json()["response"]

        def sdk_chat() -> None:
            for _ in range(calls):
                sdk.chat(PROMPT, model=CHAT_MODEL)

        def raw_chat() -> None:
            for _ in range(calls):
                response = raw.post("/generate_response", data=form, headers=headers)
                response.raise_for_status()
                response.json()["response"]

        contenders = {
            "sdk generate_text": sdk_text,
            "httpx generate_text": raw_text,
            "sdk chat": sdk_chat,
            "httpx chat": raw_chat,
        }
        return alternate(contenders, calls=calls, rounds=budget.pick(15, 2))


async def _async(url: str, budget: Budget) -> dict[str, Measured]:
    from dynaspark_sdk import AsyncClient

    calls = budget.pick(200, 5)
    form = {"user_input": PROMPT, "ai_model": CHAT_MODEL}
    headers = _page_headers(url)
    async with AsyncClient(base_url=url) as sdk, httpx.AsyncClient(base_url=url) as raw:

        async def sdk_text() -> None:
            for _ in range(calls):
                await sdk.generate_text(PROMPT)

        async def raw_text() -> None:
            for _ in range(calls):
                response = await raw.get("/api/generate_response", params={"user_input": PROMPT})
                response.raise_for_status()
                response.json()["response"]

        async def sdk_chat() -> None:
            for _ in range(calls):
                await sdk.chat(PROMPT, model=CHAT_MODEL)

        async def raw_chat() -> None:
            for _ in range(calls):
                response = await raw.post("/generate_response", data=form, headers=headers)
                response.raise_for_status()
                response.json()["response"]

        contenders: dict[str, Callable[[], Awaitable[None]]] = {
            "sdk generate_text": sdk_text,
            "httpx generate_text": raw_text,
            "sdk chat": sdk_chat,
            "httpx chat": raw_chat,
        }
        return await alternate_async(contenders, calls=calls, rounds=budget.pick(15, 2))


def run(budget: Budget) -> list[Row]:
    """Measure target 1 and return its rows."""
    with spawn("emulator") as url:
        rows = _rows("sync", _sync(url, budget))
        rows += _rows("async (asyncio)", anyio.run(_async, url, budget, backend="asyncio"))
        if has_trio():
            rows += _rows("async (trio)", anyio.run(_async, url, budget, backend="trio"))
    return rows
