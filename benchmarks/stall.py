"""Target 9: the longest event-loop stall while a new `AsyncClient` (or the drop-in provider)
makes its first calls.

An application (a web server) that makes its first Dynaspark call must not freeze for the
duration of it. Each measurement runs in a fresh interpreter (a child process), so nothing is
warm, and it is a plain application: it imports the client and its event loop's library
(asyncio or trio) and nothing else (not anyio, whose backends load on first use since 4.16),
then runs `asyncio.run()` / `trio.run()` with a ticker task that sleeps 1 ms at a time (the
library's own sleep) and records how late each wake-up is, and beside it, on the same loop:

- *first calls*: builds the client and makes its first `generate_text("hello")` and `chat("hello")`;
- *20 MB upload*: `chat(media=path)` with a 20 MB image read from a file;
- *later calls*: five more `chat("hello")` calls.

The drop-in `Dynaspark` provider (asyncio) gets runs of its own: its first
`create_async_generator` call, then five more.

A stall is how much longer than its 1 ms a ticker sleep took; the figure of a run is the
longest stall seen in each phase, and the row gives the median over runs (the worst run in
parentheses). On a loaded machine a stall also happens when the OS runs another process;
so each late sleep is also measured by this process's CPU time meanwhile (all its threads:
the loop's own work, and a worker thread holding the GIL), and the row gives, as "on CPU",
the median over runs of the longest stall counted that way (min(stall, CPU time)), and, as
"loop thread", the same counted in the loop thread's own CPU time (what the loop itself did;
under heavy load a worker thread's CPU lands in "on CPU" while the OS keeps the loop waiting).

The baseline is raw `httpx.AsyncClient`, created in the same place, sending
the same requests (the upload as a file object, which httpx streams). The server (the
emulator) runs in its own process. asyncio and trio (when installed) each get their runs;
the contenders' runs alternate.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from ._harness import Budget, Row, format_ms, has_trio, verdict

__all__ = ["run"]

GOAL = 0.005
TICK = 0.001
UPLOAD_BYTES = 20_000_000
CHAT_MODEL = "gemini-1.5-flash-8b"
PHASES = ("first calls", "20 MB upload", "later calls")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def _sdk_phases(url: str, path: str, mark: Any) -> None:
    from dynaspark_sdk import AsyncClient

    mark("first calls")
    client = AsyncClient(base_url=url, max_media_bytes=UPLOAD_BYTES)
    await client.generate_text("hello")
    await client.chat("hello", model=CHAT_MODEL)
    mark("20 MB upload")
    await client.chat("describe", model=CHAT_MODEL, media=path)
    mark("later calls")
    for _ in range(5):
        await client.chat("hello", model=CHAT_MODEL)
    mark(None)
    await client.aclose()


async def _httpx_phases(url: str, path: str, mark: Any) -> None:
    import httpx

    form = {"user_input": "hello", "ai_model": CHAT_MODEL}
    headers = {"origin": url, "referer": url + "/", "x-requested-with": "XMLHttpRequest"}
    mark("first calls")
    client = httpx.AsyncClient(base_url=url)
    (await client.get("/api/generate_response", params={"user_input": "hello"})).json()
    (await client.post("/generate_response", data=form, headers=headers)).json()
    mark("20 MB upload")
    with open(path, "rb") as file:  # noqa: ASYNC230 - what a raw httpx caller writes
        files = {"file": ("image.png", file, "image/png")}
        (await client.post("/generate_response", data=form, headers=headers, files=files)).json()
    mark("later calls")
    for _ in range(5):
        (await client.post("/generate_response", data=form, headers=headers)).json()
    mark(None)
    await client.aclose()


async def _provider_phases(url: str, path: str, mark: Any) -> None:
    from dynaspark_sdk import Dynaspark

    os.environ["DYNASPARK_BASE_URL"] = url
    messages = [{"role": "user", "content": "hello"}]
    mark("first calls")
    async for _ in Dynaspark.create_async_generator(model=CHAT_MODEL, messages=messages):
        pass
    mark("later calls")
    for _ in range(5):
        async for _ in Dynaspark.create_async_generator(model=CHAT_MODEL, messages=messages):
            pass
    mark(None)


def _child(contender: str, backend: str, url: str, path: str) -> None:
    """One run in this fresh interpreter, as a plain application meets it: it imports the
    client and its event loop's library (asyncio or trio) and nothing else, anyio included,
    so nothing has loaded anyio's backends; prints the longest stall of each phase as JSON."""
    if contender == "provider":
        from dynaspark_sdk import Dynaspark  # noqa: F401 - the application's own import

        phases = _provider_phases
    elif contender == "sdk":
        import dynaspark_sdk

        dynaspark_sdk.AsyncClient  # noqa: B018 - the application's own import, before the loop runs
        phases = _sdk_phases
    else:
        import httpx  # noqa: F401 - the same for raw httpx

        phases = _httpx_phases
    worst: dict[str, float] = {}
    on_cpu: dict[str, float] = {}
    on_loop: dict[str, float] = {}
    state: dict[str, Any] = {"phase": "idle"}

    def mark(phase: str | None) -> None:
        state["phase"] = phase

    async def ticker(sleep: Any) -> None:
        while state["phase"] is not None:
            started, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
            phase = state["phase"]
            await sleep(TICK)
            late = time.perf_counter() - started - TICK
            busy = min(late, time.process_time() - cpu)
            looping = min(late, time.thread_time() - own)
            # A sleep that spans a change of phase is charged to both phases (never to none).
            for charged in {phase, state["phase"]} & set(PHASES):
                worst[charged] = max(worst.get(charged, 0.0), late)
                on_cpu[charged] = max(on_cpu.get(charged, 0.0), busy)
                on_loop[charged] = max(on_loop.get(charged, 0.0), looping)

    if backend == "asyncio":
        import asyncio

        async def on_asyncio() -> None:
            tick = asyncio.create_task(ticker(asyncio.sleep))
            await asyncio.sleep(0.05)  # the ticker is running before the first call
            await phases(url, path, mark)
            await tick

        asyncio.run(on_asyncio())
    else:
        import trio

        async def on_trio() -> None:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ticker, trio.sleep)
                await trio.sleep(0.05)
                await phases(url, path, mark)

        trio.run(on_trio)
    print(json.dumps({"wall": worst, "cpu": on_cpu, "loop": on_loop}))


def _one_run(contender: str, backend: str, url: str, path: str) -> dict[str, dict[str, float]]:
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.stall", contender, backend, url, path],
        capture_output=True,
        text=True,
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    if child.returncode != 0:
        raise RuntimeError(f"the stall benchmark ({contender}, {backend}) failed:\n{child.stderr}")
    result: dict[str, dict[str, float]] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


Stalls = dict[str, dict[str, list[float]]]


def measure(
    backend: str, url: str, path: str, runs: int, contenders: tuple[str, ...] = ("sdk", "httpx")
) -> dict[str, Stalls]:
    """Per figure ("wall", "cpu", "loop"), contender and phase, the longest stall of each run."""
    figures: dict[str, Stalls] = {
        figure: {name: {phase: [] for phase in PHASES} for name in contenders} for figure in ("wall", "cpu", "loop")
    }
    for index in range(runs):
        order = contenders if index % 2 == 0 else contenders[::-1]
        for contender in order:
            worst = _one_run(contender, backend, url, path)
            for phase in PHASES:
                if phase in worst["wall"]:
                    for figure, stalls in figures.items():
                        stalls[contender][phase].append(worst[figure][phase])
    return figures


def _figure(figures: dict[str, Stalls], name: str, phase: str) -> str:
    """median (worst run; median on CPU; median on the loop's thread)"""
    wall = figures["wall"][name][phase]
    cpu, loop = (format_ms(statistics.median(figures[figure][name][phase])) for figure in ("cpu", "loop"))
    return f"{format_ms(statistics.median(wall))} ({format_ms(max(wall))}; {cpu}; {loop})"


def run(budget: Budget) -> list[Row]:
    """Measure target 9 and return its rows."""
    from ._servers import spawn

    backends = ["asyncio", "trio"] if has_trio() else ["asyncio"]
    rows = []
    with tempfile.TemporaryDirectory() as directory, spawn("emulator") as url:
        path = os.path.join(directory, "image.png")
        with open(path, "wb") as file:
            file.write(PNG_SIGNATURE + os.urandom(UPLOAD_BYTES - len(PNG_SIGNATURE)))
        for backend in backends:
            # The drop-in provider's async path is gpt4free's, on asyncio.
            contenders = ("sdk", "httpx", "provider") if backend == "asyncio" else ("sdk", "httpx")
            figures = measure(backend, url, path, budget.pick(9, 1), contenders)
            wall = figures["wall"]
            for name in ("sdk", "provider"):
                what = "new AsyncClient" if name == "sdk" else "the drop-in Dynaspark provider"
                for phase in PHASES:
                    if name not in wall or not wall[name][phase]:
                        continue
                    rows.append(
                        Row(
                            target="9",
                            measurement=(
                                f"longest loop stall, {what} ({backend}): {phase} (worst run; on CPU; loop thread)"
                            ),
                            value=_figure(figures, name, phase),
                            baseline=f"httpx {_figure(figures, 'httpx', phase)}",
                            ratio=None,
                            goal=f"<= {GOAL * 1e3:.0f} ms",
                            verdict=verdict(statistics.median(wall[name][phase]) <= GOAL),
                        )
                    )
    return rows


if __name__ == "__main__":
    _child(*sys.argv[1:])
