"""Target 6: 200 requests in flight on one AsyncClient, against raw httpx.AsyncClient.

200 tasks share one client and each sends `generate_text("hello")` (raw httpx: the same GET,
JSON decoded) until the batch's total is reached; throughput is requests per second of wall
time. Both clients keep their default pools, which are the same (100 connections, 20 kept
alive), so the other 100 requests wait for a connection on both sides. The emulator serves
from its own process, so when it is the bottleneck both sides see the same ceiling; the
client process's CPU per request is reported next to it, since that is the part the SDK adds.
The ratio is SDK throughput over httpx throughput (>= 0.90x is the goal).

An experiment rides along (its own row, no target): the same SDK calls, each made through a
10-slot `anyio.Semaphore`. That is what a concurrency gate inside the SDK would do for plain
calls: httpcore's pool checks every connection (a socket-readability probe each) whenever a
request is queued or a connection is released, so its cost per request grows with the number
of requests it holds; a gate keeps that number at 10, the service's documented limit of
concurrent requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx

from ._harness import Budget, Measured, Row, alternate_async, format_us, has_trio, verdict
from ._servers import spawn

__all__ = ["run"]

GOAL = 0.9
IN_FLIGHT = 200
PROMPT = "hello"
GATE = 10


async def _in_flight(send: Callable[[], Awaitable[None]], total: int, in_flight: int) -> None:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    async with anyio.create_task_group() as group:
        for _ in range(in_flight):
            group.start_soon(worker)


async def _measure(url: str, budget: Budget) -> dict[str, Measured]:
    from dynaspark_sdk import AsyncClient

    total = budget.pick(600, 40)
    in_flight = budget.pick(IN_FLIGHT, 20)
    gate = anyio.Semaphore(GATE)
    async with AsyncClient(base_url=url) as sdk, httpx.AsyncClient(base_url=url) as raw:

        async def sdk_call() -> None:
            await sdk.generate_text(PROMPT)

        async def gated_sdk_call() -> None:
            async with gate:
                await sdk.generate_text(PROMPT)

        async def raw_call() -> None:
            response = await raw.get("/api/generate_response", params={"user_input": PROMPT})
            response.raise_for_status()
            response.json()["response"]

        def batch(call: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
            return lambda: _in_flight(call, total, in_flight)

        # Two contenders a run, so each one's batch follows the other's equally often (ABBA):
        # how a batch leaves the server's connections sways the next batch at this load.
        warmup = budget.pick(1, 0)
        main = await alternate_async(
            {"sdk": batch(sdk_call), "httpx": batch(raw_call)},
            calls=total,
            rounds=budget.pick(6, 1),
            warmup=warmup,
        )
        experiment = await alternate_async(
            {"sdk gated": batch(gated_sdk_call), "httpx again": batch(raw_call)},
            calls=total,
            rounds=budget.pick(4, 1),
            warmup=warmup,
        )
        return {**main, **experiment}


def _rows(label: str, results: dict[str, Measured], budget: Budget) -> list[Row]:
    in_flight = budget.pick(IN_FLIGHT, 20)
    sdk, raw = results["sdk"], results["httpx"]
    gated, raw_again = results["sdk gated"], results["httpx again"]
    # Throughput is the inverse of wall time per request, so its ratio is the inverse ratio.
    ratio = 1 / sdk.wall_ratio(raw)
    return [
        Row(
            target="6",
            measurement=f"{in_flight} in flight, {label}: throughput",
            value=f"{1 / sdk.wall_median:,.0f} req/s",
            baseline=f"httpx {1 / raw.wall_median:,.0f} req/s",
            ratio=ratio,
            goal=f">= {GOAL}x",
            verdict=verdict(ratio >= GOAL),
        ),
        Row(
            target="6",
            measurement=f"{in_flight} in flight, {label}: client CPU per request",
            value=format_us(sdk.cpu_median),
            baseline=f"httpx {format_us(raw.cpu_median)}",
            ratio=sdk.cpu_ratio(raw),
            goal="-",
            verdict="info",
        ),
        Row(
            target="6",
            measurement=f"{in_flight} in flight, {label}: throughput, SDK calls through a {GATE}-slot gate",
            value=f"{1 / gated.wall_median:,.0f} req/s",
            baseline=f"httpx {1 / raw_again.wall_median:,.0f} req/s",
            ratio=1 / gated.wall_ratio(raw_again),
            goal="-",
            verdict="info",
        ),
    ]


def run(budget: Budget) -> list[Row]:
    """Measure target 6 and return its rows."""
    with spawn("emulator") as url:
        rows = _rows("asyncio", anyio.run(_measure, url, budget, backend="asyncio"), budget)
        if has_trio():
            rows += _rows("trio", anyio.run(_measure, url, budget, backend="trio"), budget)
    return rows
