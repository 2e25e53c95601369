"""`dynaspark demo`: the seed document's example and the rest of the SDK, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dynaspark_sdk.cli import main
from dynaspark_sdk.cli._demo import SEED_EXAMPLE
from dynaspark_sdk.testing import MP3_FRAME_HEADER

# The usage example of the seed document, as it is written there.
SEED_DOCUMENT_EXAMPLE = """\
from hypotez.src.endpoints.gpt4free.g4f.Provider.Dynaspark import Dynaspark

async def main():
    provider = Dynaspark()
    messages = [
        {"role": "user", "content": "Привет! Как дела?"},
    ]
    async for response in provider.create_async_generator(model="gemini-1.5-flash-8b", messages=messages):
        print(f"Ответ модели: {response}")

if __name__ == "__main__":
    import asyncio
    asyncio.run(main())
"""

SEED_ANSWER = "Ответ модели: [gemini-1.5-flash-8b] You said: Привет! Как дела?"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNASPARK_BASE_URL", raising=False)
    monkeypatch.setenv("DYNASPARK_API_KEY", "users-real-key-must-stay-home")


def test_the_demo_runs_the_seed_example_unchanged_but_for_its_import() -> None:
    seed_lines = SEED_DOCUMENT_EXAMPLE.splitlines()
    demo_lines = SEED_EXAMPLE.splitlines()
    assert demo_lines[0] == "from dynaspark_sdk import Dynaspark"
    assert demo_lines[1:] == seed_lines[1:]


def test_demo_output_and_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["demo", "--output-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert SEED_ANSWER in lines
    # Section 2 printed the streamed answer, then its chunks.
    assert "  [openai] You said: Explain streaming in one line" in lines
    assert any(line.startswith("  (8 chunks: '[openai] ' 'You ' 'said: '") for line in lines)
    # Section 3: the second turn carried the first in its prompt.
    assert "    | User: Name a colour." in lines
    assert "    | Assistant:" in lines

    png = (tmp_path / "lighthouse.png").read_bytes()
    mp3 = (tmp_path / "hello.mp3").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert mp3.startswith(MP3_FRAME_HEADER)
    assert f"    lighthouse.png: {len(png)} bytes (PNG 320x200)" in lines
    assert f"    hello.mp3: {len(mp3)} bytes (MP3)" in lines
    assert "  the emulator received 7 requests:" in lines
    assert "    3 x POST /dsai_fuck_u_spammer" in lines


def test_demo_restores_the_environment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = dict(os.environ)
    assert main(["demo", "--output-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert dict(os.environ) == before


def test_demo_json_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--json", "demo", "--output-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # stdout holds the summary alone...
    assert SEED_ANSWER in captured.err.splitlines()  # ...and the narrative went to stderr
    assert summary["seed_answers"] == [SEED_ANSWER]
    assert summary["emulator_url"].startswith("http://127.0.0.1:")
    assert summary["calls"] == {
        "Dynaspark.create_async_generator": 1,
        "Client.stream_text": 1,
        "Conversation.send": 2,
        "Client.generate_image": 1,
        "ImageResult.download": 1,
        "Client.generate_audio": 1,
    }
    assert summary["requests"] == {
        "GET /api/generate_image": 1,
        "GET /api/generate_response": 2,
        "GET /images/<id>.png": 1,
        "POST /dsai_fuck_u_spammer": 3,
    }
    assert summary["request_count"] == 7
    assert [Path(saved["path"]).name for saved in summary["files"]] == ["lighthouse.png", "hello.mp3"]
    for saved in summary["files"]:
        assert Path(saved["path"]).stat().st_size == saved["bytes"]


def test_demo_in_a_subprocess_uses_a_temporary_folder() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run(
        [sys.executable, "-m", "dynaspark_sdk", "demo"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert SEED_ANSWER in done.stdout.splitlines()
    folder_line = next(line for line in done.stdout.splitlines() if line.startswith("  files in "))
    folder = Path(folder_line.removeprefix("  files in ").removesuffix(":"))
    try:
        assert (folder / "lighthouse.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert (folder / "hello.mp3").read_bytes().startswith(MP3_FRAME_HEADER)
    finally:
        for name in ("lighthouse.png", "hello.mp3"):
            (folder / name).unlink(missing_ok=True)
        folder.rmdir()
