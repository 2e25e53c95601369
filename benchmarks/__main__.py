"""``python -m benchmarks [--smoke] [--only 1,3] [--json PATH]``: run the benchmarks, print the table.

`scripts/bench` runs this in .venv-bench, where the benchmark-only packages are installed.
Exit status 1 when a benchmark failed to run (a missed target is a result, not a failure).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

import attrs

from ._harness import Budget, Row, format_table

TARGETS: dict[str, tuple[str, str]] = {
    "1": ("overhead", "per-call overhead against raw httpx"),
    "2": ("link", "sequential calls over a TLS link with 10 ms latency"),
    "3": ("streaming", "first-chunk lag and SSE decoding throughput"),
    "4": ("memory", "peak RSS uploading 100 MB from a path"),
    "5": ("imports", "import time"),
    "6": ("concurrency", "200 requests in flight"),
    "7": ("transport", "httpx async path against aiohttp; AiohttpTransport"),
    "8": ("gateway", "the OpenAI-compatible gateway's added latency and first streamed chunk"),
    "9": ("stall", "event-loop stall during a new AsyncClient's first calls"),
    "10": ("provider", "the drop-in provider against the seed's on loopback"),
    "11": ("gateway_floor", "the gateway against the floor (a bare pass-through) and gpt4free's API server"),
}


def machine() -> str:
    """One line naming the machine the numbers come from."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or model
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def _run_target(target: str, budget: Budget) -> list[Row]:
    module, title = TARGETS[target]
    run: Callable[[Budget], list[Row]] = importlib.import_module(f"benchmarks.{module}").run
    started = time.perf_counter()
    print(f"[{target}] {title} ...", file=sys.stderr, flush=True)
    try:
        rows = run(budget)
    except Exception as error:
        traceback.print_exc()
        rows = [Row(target, title, "-", "-", None, "-", f"error: {type(error).__name__}")]
    print(f"[{target}] done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print the table; the exit status."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts: check that everything runs")
    parser.add_argument("--only", default="", help="comma-separated target numbers (default: all)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    options = parser.parse_args(argv)
    chosen = [target.strip() for target in options.only.split(",") if target.strip()] or list(TARGETS)
    unknown = [target for target in chosen if target not in TARGETS]
    if unknown:
        parser.error(f"unknown targets {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    budget = Budget(smoke=options.smoke)
    rows = [row for target in chosen for row in _run_target(target, budget)]
    print(f"machine: {machine()}")
    print(f"mode: {'smoke (tiny counts: the numbers mean nothing)' if budget.smoke else 'full'}")
    print(format_table(rows))
    if options.json:
        with open(options.json, "w") as file:
            results = {"machine": machine(), "smoke": budget.smoke, "rows": [attrs.asdict(r) for r in rows]}
            json.dump(results, file)
    return 1 if any(row.verdict.startswith("error") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
