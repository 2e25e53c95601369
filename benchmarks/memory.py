"""Target 4: uploading a 100 MB image from a path must raise peak RSS by at most 16 MB.

Each measurement runs in a fresh child process: it uploads a small image from a path first
(so imports, the connection and httpx's buffers are all in place), reads its peak RSS
(`resource.getrusage(...).ru_maxrss`), uploads the 100 MB image from a path, and reads the
peak again; the figure is the growth. The server (``discard``, its own process) reads the
body and keeps none of it. The image is a PNG signature followed by zeros (the SDK checks
the first bytes only). Baseline: raw httpx posting the same multipart form with the file
opened in binary mode (httpx streams it), which is what streaming costs without the SDK.
A control, raw httpx given the file's bytes read into memory, shows that the method sees an
upload that is not streamed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile

import anyio
import httpx

from ._harness import Budget, Row, verdict
from ._servers import spawn

__all__ = ["run"]

GOAL_BYTES = 16 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHAT_MODEL = "gemini-1.5-flash-8b"
MODES = ("sdk Client.chat", "sdk AsyncClient.chat", "httpx", "control")


def write_image(path: str, size: int) -> None:
    """A file of `size` bytes that the SDK takes for a PNG (sparse: cheap to make)."""
    with open(path, "wb") as file:
        file.write(PNG_SIGNATURE)
        file.truncate(size)


def _peak_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _upload(mode: str, url: str, path: str, limit: int) -> None:
    from dynaspark_sdk import AsyncClient, Client

    if mode == "sdk Client.chat":
        with Client(base_url=url, max_media_bytes=limit) as client:
            client.chat("describe", model=CHAT_MODEL, media=path)
    elif mode == "sdk AsyncClient.chat":

        async def upload() -> None:
            async with AsyncClient(base_url=url, max_media_bytes=limit) as client:
                await client.chat("describe", model=CHAT_MODEL, media=path)

        anyio.run(upload)
    else:
        with httpx.Client(base_url=url) as raw, open(path, "rb") as file:
            form = {"user_input": "describe", "ai_model": CHAT_MODEL}
            # The control reads the file into memory first: the method must see that.
            content = file.read() if mode == "control" else file
            raw.post("/generate_response", data=form, files={"file": ("image.png", content, "image/png")})


def _child(mode: str, url: str, small: str, large: str) -> None:
    limit = os.path.getsize(large) + 1
    _upload(mode, url, small, limit)
    before = _peak_bytes()
    _upload(mode, url, large, limit)
    after = _peak_bytes()
    print(json.dumps({"before": before, "after": after}))


def _growth(mode: str, url: str, small: str, large: str) -> int:
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", mode, url, small, large],
        capture_output=True,
        text=True,
        check=False,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    if child.returncode != 0:
        raise RuntimeError(f"the memory benchmark ({mode}) failed:\n{child.stderr}")
    peaks = json.loads(child.stdout.strip().splitlines()[-1])
    growth: int = peaks["after"] - peaks["before"]
    return growth


def run(budget: Budget) -> list[Row]:
    """Measure target 4 and return its rows."""
    size = budget.pick(100, 5) * 1_000_000
    repeats = budget.pick(3, 1)
    with tempfile.TemporaryDirectory() as directory, spawn("discard") as url:
        small, large = os.path.join(directory, "small.png"), os.path.join(directory, "large.png")
        write_image(small, 4096)
        write_image(large, size)
        growths = {mode: sorted(_growth(mode, url, small, large) for _ in range(repeats)) for mode in MODES}
    baseline = growths["httpx"][len(growths["httpx"]) // 2]
    control = growths["control"][len(growths["control"]) // 2]
    rows = []
    for mode in MODES[:2]:
        growth = growths[mode][len(growths[mode]) // 2]
        rows.append(
            Row(
                target="4",
                measurement=f"peak RSS growth uploading {size / 1e6:.0f} MB from a path: {mode}",
                value=_mib(growth),
                baseline=f"httpx {_mib(baseline)} (bytes in memory: {_mib(control)})",
                ratio=None,
                goal=f"<= {GOAL_BYTES // (1024 * 1024)} MiB",
                verdict=verdict(growth <= GOAL_BYTES),
            )
        )
    return rows


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


if __name__ == "__main__":
    _child(*sys.argv[1:])
