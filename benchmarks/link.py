"""Target 2: sequential calls over a realistic link, the SDK against the two existing clients.

The link: a TLS-terminating proxy with `LATENCY` seconds one way in front of the emulator
(`benchmarks._servers`, kind ``link``; the certificate is self-signed, made for this run).
The contenders run in a child process whose environment trusts that certificate the way each
client is normally told to: ``SSL_CERT_FILE`` (httpx, and aiohttp through Python's default
SSL context) and ``REQUESTS_CA_BUNDLE`` (requests).

- gpt4free's provider (``g4f==0.5.2.0``, its real `Dynaspark` class, `api_endpoint` pointed
  at the link): a new aiohttp session, so a new TCP + TLS connection, per call. Against it:
  the SDK's `AsyncClient.chat()` and the SDK's drop-in `Dynaspark` provider.
- The service's own client (``dynaspark==1.2.2.3``, `DynaSpark.generate_response`, its
  `BASE_URL` pointed at the link): `requests` without a session, a new connection per call.
  Against it: the SDK's `Client.generate_text()`.

The figure is wall time per call; the ratio is the SDK's over the other client's (0.50x means
twice as fast).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from ._harness import Budget, Measured, Row, Skipped, alternate, alternate_async, format_ms, verdict
from ._servers import spawn
from ._tls import make_certificate

__all__ = ["run"]

LATENCY = 0.010
GOAL = 0.5
PROMPT = "hello"
MESSAGES = [{"role": "user", "content": PROMPT}]
CHAT_MODEL = "gemini-1.5-flash-8b"


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _measure_sync(url: str, calls: int, rounds: int) -> dict[str, Measured]:
    from dynaspark_sdk import Client

    with Client(base_url=url) as sdk:

        def sdk_text() -> None:
            for _ in range(calls):
                sdk.generate_text(PROMPT)

        contenders = {"sdk Client.generate_text": sdk_text}
        dynaspark = _optional("dynaspark")
        if dynaspark is not None:
            DynaSpark: Any = dynaspark.DynaSpark
            DynaSpark.BASE_URL = url + "/api/"
            theirs = DynaSpark()

            def their_text() -> None:
                for _ in range(calls):
                    theirs.generate_response(PROMPT)

            contenders["dynaspark generate_response"] = their_text
        return alternate(contenders, calls=calls, rounds=rounds)


async def _measure_async(url: str, calls: int, rounds: int) -> dict[str, Measured]:
    from dynaspark_sdk import AsyncClient, Dynaspark

    os.environ["DYNASPARK_BASE_URL"] = url
    async with AsyncClient(base_url=url) as sdk:

        async def sdk_chat() -> None:
            for _ in range(calls):
                await sdk.chat(PROMPT, model=CHAT_MODEL)

        async def sdk_provider() -> None:
            for _ in range(calls):
                async for _piece in Dynaspark.create_async_generator(CHAT_MODEL, MESSAGES):
                    pass

        contenders: dict[str, Callable[[], Awaitable[None]]] = {
            "sdk AsyncClient.chat": sdk_chat,
            "sdk Dynaspark provider": sdk_provider,
        }
        g4f_providers = _optional("g4f.Provider")
        if g4f_providers is not None:
            G4FDynaspark: Any = g4f_providers.Dynaspark
            G4FDynaspark.api_endpoint = url + "/generate_response"

            async def g4f_provider() -> None:
                for _ in range(calls):
                    async for _piece in G4FDynaspark.create_async_generator(CHAT_MODEL, MESSAGES):
                        pass

            contenders["g4f Dynaspark provider"] = g4f_provider
        return await alternate_async(contenders, calls=calls, rounds=rounds)


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    options = parser.parse_args(argv)
    results = _measure_sync(options.url, options.calls, options.rounds)
    results.update(asyncio.run(_measure_async(options.url, options.calls, options.rounds)))
    print(json.dumps({name: {"wall": m.wall, "cpu": m.cpu} for name, m in results.items()}))


def _row(results: dict[str, Measured], sdk: str, theirs: str, missing: str) -> Row:
    ours = results[sdk]
    measurement = f"TLS + {LATENCY * 1e3:.0f} ms link: {sdk}"
    if theirs not in results:
        value = format_ms(ours.wall_median)
        return Row("2", measurement, value, "-", None, f"<= {GOAL}x", f"skipped ({missing})")
    baseline = results[theirs]
    ratio = ours.wall_ratio(baseline)
    return Row(
        target="2",
        measurement=measurement,
        value=format_ms(ours.wall_median),
        baseline=f"{theirs} {format_ms(baseline.wall_median)}",
        ratio=ratio,
        goal=f"<= {GOAL}x",
        verdict=verdict(ratio <= GOAL),
    )


def run(budget: Budget) -> list[Row]:
    """Measure target 2 and return its rows."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            cert, key = make_certificate(directory)
        except Skipped as skipped:
            return [Row("2", "realistic link", "-", "-", None, f"<= {GOAL}x", f"skipped ({skipped})")]
        env = {**os.environ, "SSL_CERT_FILE": cert, "REQUESTS_CA_BUNDLE": cert}
        link_args = ["--cert", cert, "--key", key, "--latency", str(LATENCY)]
        with spawn("emulator") as upstream, spawn("link", "--upstream", upstream, *link_args) as url:
            counts = ["--calls", str(budget.pick(20, 2)), "--rounds", str(budget.pick(9, 1))]
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.link", url, *counts],
                env=env,
                capture_output=True,
                text=True,
                check=False,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            )
    if child.returncode != 0:
        raise RuntimeError(f"the link benchmark failed:\n{child.stderr}")
    raw = json.loads(child.stdout.strip().splitlines()[-1])
    results = {name: Measured(tuple(m["wall"]), tuple(m["cpu"])) for name, m in raw.items()}
    return [
        _row(results, "sdk AsyncClient.chat", "g4f Dynaspark provider", "g4f not installed"),
        _row(results, "sdk Dynaspark provider", "g4f Dynaspark provider", "g4f not installed"),
        _row(results, "sdk Client.generate_text", "dynaspark generate_response", "dynaspark not installed"),
    ]


if __name__ == "__main__":
    _child(sys.argv[1:])
