"""`scripts/bench --smoke`: every benchmark runs (tiny counts) and the table comes out with numbers.

It runs `python -m benchmarks --smoke` with this interpreter, which is what scripts/bench
runs in .venv-bench. Nothing here asserts how fast anything is. Only the comparisons whose
benchmark-only package is missing here (gpt4free, the service's own client, httpx-sse,
aiohttp) may be marked skipped; the SDK's own side of every measurement still runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# The benchmarks time what they run, but nothing here depends on the figures (smoke mode's
# tiny counts make them meaningless anyway): the module runs in the parallel pass.

pytestmark = pytest.mark.slow(35)  # the whole benchmark suite in smoke mode: about 35 s


ROOT = Path(__file__).resolve().parents[2]
# What a skipped row may name: only packages that live in .venv-bench, not in the dev group.
OPTIONAL_PACKAGES = ("g4f", "dynaspark", "httpx-sse", "aiohttp")

SmokeRun = tuple[subprocess.CompletedProcess[str], dict[str, object]]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """One smoke run for the whole pytest run. pytest-xdist may hand this module's tests to
    different workers: they share a folder (their basetemp's parent), the first to take its
    lock runs the benchmarks and keeps what came out, the others wait and read it."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "bench-smoke"
    shared.mkdir(exist_ok=True)
    kept = shared / "run.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not kept.exists():
            results = shared / "results.json"
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks", "--smoke", "--json", str(results)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            written = results.read_text() if results.exists() else None
            kept.write_text(json.dumps([done.args, done.returncode, done.stdout, done.stderr, written]))
    args, returncode, stdout, stderr, written = json.loads(kept.read_text())
    completed = subprocess.CompletedProcess(args, returncode, stdout, stderr)
    assert completed.returncode == 0, completed.stderr
    loaded: dict[str, object] = json.loads(written)
    return completed, loaded


@pytest.mark.timeout(300)
def test_the_table_is_printed_with_every_target(
    smoke_run: SmokeRun,
) -> None:
    completed, _ = smoke_run
    lines = completed.stdout.splitlines()
    assert any(line.startswith("machine: ") and "CPUs" in line for line in lines)
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].split("|")[1].strip() == "#"
    targets = {line.split("|")[1].strip() for line in table[1:]}
    assert targets == {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}


@pytest.mark.timeout(300)
def test_every_row_has_a_number_or_a_permitted_skip(
    smoke_run: SmokeRun,
) -> None:
    _, results = smoke_run
    rows = results["rows"]
    assert isinstance(rows, list)
    assert results["smoke"] is True
    for row in rows:
        assert not row["verdict"].startswith("error"), row
        # The SDK's own figure is always measured, skipped baseline or not.
        assert re.search(r"\d", row["value"]), row
        if row["verdict"].startswith("skipped"):
            assert any(package in row["verdict"] for package in OPTIONAL_PACKAGES), row
        else:
            assert row["verdict"] in ("met", "missed", "info"), row
            assert re.search(r"\d", row["baseline"]), row


@pytest.mark.timeout(300)
def test_ratios_are_present_where_a_baseline_ran(
    smoke_run: SmokeRun,
) -> None:
    _, results = smoke_run
    rows = results["rows"]
    assert isinstance(rows, list)
    ratios = [row["ratio"] for row in rows if row["ratio"] is not None]
    # Targets 1, 5, 6, 8 and 11 have baselines in the dev environment itself (httpx, the SDK, the floor).
    with_ratio = {row["target"] for row in rows if row["ratio"] is not None}
    assert {"1", "5", "6", "8", "11"} <= with_ratio
    assert all(ratio > 0 for ratio in ratios)
