"""Target 10: the drop-in provider at least as fast as the seed's on loopback.

Both send the same chat call (one user message, "hello", model `gemini-1.5-flash-8b`) to
the emulator (its own process) on 127.0.0.1, one call after another on one asyncio loop,
and read the answer to its end:

- the seed's provider, reproduced in `benchmarks/_seed_provider.py` (gpt4free 0.5.2.0's
  `Dynaspark`: a new aiohttp session, so a new connection, per call);
- the SDK's drop-in `dynaspark_sdk.Dynaspark.create_async_generator` (its base URL from
  `DYNASPARK_BASE_URL`), which shares one client and its connections between calls.

The figure is wall time per call (what a gpt4free user waits); client CPU per call is
reported next to it. The ratio is the drop-in's over the seed's: at most 1.00x means the
drop-in is at least as fast (the issue's "seed / drop-in >= 1.0").
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable

import anyio

from ._harness import Budget, Measured, Row, alternate_async, format_us, verdict
from ._seed_provider import seed_provider_call
from ._servers import spawn

__all__ = ["run"]

GOAL = 1.0
CHAT_MODEL = "gemini-1.5-flash-8b"
MESSAGES = [{"role": "user", "content": "hello"}]


async def _measure(url: str, budget: Budget) -> dict[str, Measured]:
    from dynaspark_sdk import Dynaspark

    calls = budget.pick(100, 5)
    endpoint = url + "/generate_response"

    async def seed() -> None:
        for _ in range(calls):
            async for _piece in seed_provider_call(endpoint, CHAT_MODEL, MESSAGES):
                pass

    async def drop_in() -> None:
        for _ in range(calls):
            async for _piece in Dynaspark.create_async_generator(CHAT_MODEL, MESSAGES):
                pass

    contenders: dict[str, Callable[[], Awaitable[None]]] = {"seed provider": seed, "drop-in": drop_in}
    return await alternate_async(contenders, calls=calls, rounds=budget.pick(11, 2))


def run(budget: Budget) -> list[Row]:
    """Measure target 10 and return its rows."""
    try:
        importlib.import_module("aiohttp")
    except ImportError:
        return [Row("10", "drop-in provider vs the seed's", "-", "-", None, "-", "skipped (no aiohttp)")]
    with spawn("emulator") as url:
        os.environ["DYNASPARK_BASE_URL"] = url
        try:
            results = anyio.run(_measure, url, budget, backend="asyncio")
        finally:
            del os.environ["DYNASPARK_BASE_URL"]
    ours, seed = results["drop-in"], results["seed provider"]
    ratio = ours.wall_ratio(seed)
    return [
        Row(
            target="10",
            measurement="loopback chat call, wall per call: sdk Dynaspark provider (drop-in)",
            value=format_us(ours.wall_median),
            baseline=f"seed provider {format_us(seed.wall_median)}",
            ratio=ratio,
            goal=f"<= {GOAL:.2f}x",
            verdict=verdict(ratio <= GOAL),
        ),
        Row(
            target="10",
            measurement="loopback chat call, client CPU per call: sdk Dynaspark provider (drop-in)",
            value=format_us(ours.cpu_median),
            baseline=f"seed provider {format_us(seed.cpu_median)}",
            ratio=ours.cpu_ratio(seed),
            goal="-",
            verdict="info",
        ),
    ]
