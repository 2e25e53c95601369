"""The generation pipeline: deterministic, typed, and guarded against drift from the spec."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _copy_project(dest: Path) -> Path:
    for name in ("openapi", "scripts", "dynaspark_sdk"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


@functools.cache
def _generator_bin() -> str:
    """The generator's own environment (made once, here): the copies of the project share it."""
    made = subprocess.run(
        ["bash", str(ROOT / "scripts" / "_codegen_venv.sh")], capture_output=True, text=True, timeout=300, check=True
    )
    return made.stdout.strip().splitlines()[-1]


def _codegen(project: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "scripts" / "codegen.py"), command],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, DYNASPARK_CODEGEN_BIN=_generator_bin()),
    )


def test_committed_layer_matches_the_spec() -> None:
    result = _codegen(ROOT, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_with_a_diff_when_the_spec_changes_without_regenerating(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    spec = project / "openapi" / "dynaspark.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("enum: [flux, turbo, gptimage]", "enum: [flux, turbo, gptimage, sdxl]"))
    result = _codegen(project, "check")
    assert result.returncode == 1
    assert "+    SDXL = " in result.stdout  # the generated enum gains a member
    assert "sdxl" in result.stdout and "spec_values.py" in result.stdout
    assert "run scripts/generate" in result.stderr


def test_check_fails_when_the_layer_is_edited_by_hand(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    client = project / "dynaspark_sdk" / "_generated" / "client.py"
    client.write_text(client.read_text(encoding="utf-8") + "# edited by hand\n")
    result = _codegen(project, "check")
    assert result.returncode == 1
    assert "-# edited by hand" in result.stdout


def test_check_fails_when_the_sync_shell_is_edited_by_hand(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    client = project / "dynaspark_sdk" / "client.py"
    client.write_text(client.read_text(encoding="utf-8") + "# edited by hand\n")
    result = _codegen(project, "check")
    assert result.returncode == 1
    assert "-# edited by hand" in result.stdout
    assert "scripts/unasync.py" in result.stderr


def test_check_fails_when_the_async_shell_changes_without_regenerating(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    source = project / "dynaspark_sdk" / "async_client.py"
    text = source.read_text(encoding="utf-8")
    marker = "    async def status(self) -> ServiceStatus:\n"
    assert marker in text
    source.write_text(
        text.replace(marker, "    async def ping(self) -> None:\n        await self.status()\n\n" + marker)
    )
    result = _codegen(project, "check")
    assert result.returncode == 1
    assert "+    def ping(self) -> None:" in result.stdout  # the sync twin, without async/await
    assert "+        self.status()" in result.stdout
    assert _codegen(project, "generate").returncode == 0
    assert (
        "    def ping(self) -> None:\n        self.status()\n" in (project / "dynaspark_sdk" / "client.py").read_text()
    )
    assert _codegen(project, "check").returncode == 0


def test_generation_is_byte_identical_between_runs(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    target = project / "dynaspark_sdk" / "_generated"
    assert _codegen(project, "generate").returncode == 0
    first = {p.relative_to(target): p.read_bytes() for p in sorted(target.rglob("*.py"))}
    assert _codegen(project, "generate").returncode == 0
    second = {p.relative_to(target): p.read_bytes() for p in sorted(target.rglob("*.py"))}
    assert first == second
    committed = ROOT / "dynaspark_sdk" / "_generated"
    assert first == {p.relative_to(committed): p.read_bytes() for p in sorted(committed.rglob("*.py"))}


def test_generated_layer_passes_mypy_strict() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.fail("mypy is not installed beside this Python")
    result = subprocess.run(
        [mypy, "--strict", "--no-incremental", str(ROOT / "dynaspark_sdk" / "_generated")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout


_NEW_MODEL_PROGRAM = """
import httpx
from dynaspark_sdk import Client
from dynaspark_sdk.testing import Emulator, EmulatorTransport

emulator = Emulator()
http = httpx.Client(transport=EmulatorTransport(emulator))
with Client(base_url="http://dynaspark.test", http_client=http, max_retries=0) as client:
    answer = client.chat("hello", model="gemini-9.9-ultra")
print(emulator.requests[-1].fields["ai_model"])
print(answer.model)
"""


def test_a_model_added_to_the_spec_is_accepted_after_regenerating(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(project)}
    before = subprocess.run(
        [sys.executable, "-c", _NEW_MODEL_PROGRAM], capture_output=True, text=True, env=env, cwd=project, timeout=120
    )
    assert before.returncode != 0
    assert "ModelNotSupportedError" in before.stderr

    spec = project / "openapi" / "dynaspark.yaml"
    text = spec.read_text(encoding="utf-8")
    marker = "        - gemini-2.0-flash-lite\n      default:"
    assert text.count(marker) == 1
    spec.write_text(text.replace(marker, "        - gemini-2.0-flash-lite\n        - gemini-9.9-ultra\n      default:"))
    assert _codegen(project, "generate").returncode == 0

    after = subprocess.run(
        [sys.executable, "-c", _NEW_MODEL_PROGRAM], capture_output=True, text=True, env=env, cwd=project, timeout=120
    )
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == ["gemini-9.9-ultra", "gemini-9.9-ultra"]
