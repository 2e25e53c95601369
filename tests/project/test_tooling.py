"""The project's own set-up: uv.lock kept in step with pyproject.toml (and the scripts saying
so when it is not), and a wheel whose metadata offers users no `dev` extra."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _uv() -> str:
    """The project's uv, as the scripts find (or install) it."""
    found = subprocess.run(
        ["bash", "-c", 'source scripts/_uv.sh && echo "$UV"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return found.stdout.strip().splitlines()[-1]


def test_the_committed_lock_matches_pyproject() -> None:
    checked = subprocess.run(
        [_uv(), "lock", "--check", "--offline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, UV_PYTHON_DOWNLOADS="never"),
    )
    assert checked.returncode == 0, checked.stderr


def test_a_stale_lock_stops_the_scripts_with_the_one_fix(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    for name in ("uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # What a branch that changes the dev packages without relocking looks like.
    stale = pyproject.replace('    "types-pyyaml",\n', "", 1)
    assert stale != pyproject
    (tmp_path / "pyproject.toml").write_text(stale, encoding="utf-8")
    (tmp_path / "dynaspark_sdk").mkdir()
    shutil.copy(ROOT / "dynaspark_sdk" / "__init__.py", tmp_path / "dynaspark_sdk" / "__init__.py")

    demo = subprocess.run(
        ["bash", "-c", 'source scripts/_venv.sh && echo "not reached"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, UV_OFFLINE="1"),
    )
    assert demo.returncode != 0
    assert "not reached" not in demo.stdout
    assert "uv.lock does not match pyproject.toml: run `scripts/uv lock`" in demo.stderr
    assert not (tmp_path / ".venv" / ".dynaspark-installed").exists()


def test_the_wheel_offers_users_only_their_extras(tmp_path: Path) -> None:
    built = subprocess.run(
        [_uv(), "build", "--wheel", "--out-dir", str(tmp_path), "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, UV_PYTHON_DOWNLOADS="never"),
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("dynaspark_sdk-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    extras = sorted(line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Provides-Extra: "))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert extras == sorted(declared["optional-dependencies"])
    assert "dev" not in extras
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: ")]
    # No test tool reaches users, under any extra.
    assert not [line for line in requires if any(tool in line for tool in ("pytest", "ruff", "mypy", "griffe"))]
    assert "Requires-Dist: httpx<1,>=0.28" in requires
