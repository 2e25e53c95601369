"""Every Python example in README.md runs, against the emulator on a loopback socket."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

README = Path(__file__).resolve().parents[2] / "README.md"
# Examples that need gpt4free run in its own venvs: tests/integrations/test_gpt4free.py.
BLOCKS = [
    block
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    if "from g4f" not in block
]


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 8


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=10_000)) as running:
        yield running


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{n}" for n in range(1, len(BLOCKS) + 1)])
def test_readme_example_runs(block: str, server: EmulatorServer, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    env["DYNASPARK_BASE_URL"] = server.url
    env["NO_PROXY"] = "127.0.0.1,localhost"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the example printed nothing"
    assert "Traceback" not in result.stderr


def test_the_seed_example_in_the_readme_prints_the_answer(server: EmulatorServer, tmp_path: Path) -> None:
    seed = next(block for block in BLOCKS if "create_async_generator" in block)
    script = tmp_path / "seed.py"
    script.write_text(seed, encoding="utf-8")
    env = {**os.environ, "DYNASPARK_BASE_URL": server.url, "NO_PROXY": "127.0.0.1,localhost"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout == "Ответ модели: [gemini-1.5-flash-8b] You said: Привет! Как дела?\n"


@pytest.mark.parametrize("runner", ["anyio.run(main)", "trio.run(main)", 'anyio.run(main, backend="trio")'])
def test_the_async_example_runs_on_asyncio_and_on_trio(server: EmulatorServer, tmp_path: Path, runner: str) -> None:
    """The README says its async example runs under trio as written: run it there."""
    block = next(block for block in BLOCKS if "AsyncClient()" in block and "async def main" in block)
    *body, last = block.rstrip().splitlines()
    assert last.startswith("anyio.run(main)"), "the example ends by running main"
    script = tmp_path / "async_example.py"
    script.write_text("\n".join([*body, "import trio", runner, ""]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    env["DYNASPARK_BASE_URL"] = server.url
    env["NO_PROXY"] = "127.0.0.1,localhost"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    *_, answers = result.stdout.splitlines()
    assert answers == str([f"[gemini-1.5-flash-8b] You said: Question {n}" for n in range(5)])
