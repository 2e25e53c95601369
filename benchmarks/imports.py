"""Target 5: `import dynaspark_sdk` must take at most 1.3x `import httpx`.

Each import runs in a fresh interpreter (``python -c``) that times the import statement with
`time.perf_counter()` around it, so the interpreter's own start-up, the same for all, does
not dilute the ratio. The statements take turns, round after round (the order rotating),
after one untimed round that leaves the bytecode caches written; the figures are medians
over rounds and the ratios medians of per-round ratios. `from dynaspark_sdk import Client`
(everything a first call needs, httpx included) has the same goal since issue 15;
`from dynaspark_sdk import AsyncClient` is reported.

The CLI's start is timed as a user sees it: the whole `dynaspark --version` and `dynaspark
models` processes (the installed console script, interpreter start-up included), against a
whole `python -c "import httpx"` process, in the same alternating rounds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from ._harness import Budget, Row, format_ms, verdict

__all__ = ["run"]

GOAL = 1.3
STATEMENTS = {
    "import httpx": "import httpx",
    "import dynaspark_sdk": "import dynaspark_sdk",
    "from dynaspark_sdk import Client": "from dynaspark_sdk import Client",
    "from dynaspark_sdk import AsyncClient": "from dynaspark_sdk import AsyncClient",
}
TARGETED = ("import dynaspark_sdk", "from dynaspark_sdk import Client")
PROCESSES = {
    'python -c "import httpx"': ("-c", "import httpx"),
    "dynaspark --version": ("--version",),
    "dynaspark models": ("models",),
}
_TIMER = "import time; t0 = time.perf_counter(); {statement}; print(time.perf_counter() - t0)"


def import_seconds(statement: str) -> float:
    """Seconds `statement` takes in a fresh interpreter."""
    child = subprocess.run(
        [sys.executable, "-c", _TIMER.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    return float(child.stdout.strip())


def _command(name: str) -> list[str]:
    args = PROCESSES[name]
    if args[0] == "-c":
        return [sys.executable, *args]
    script = os.path.join(os.path.dirname(sys.executable), "dynaspark")
    if os.path.exists(script):
        return [script, *args]
    return [sys.executable, "-c", "import sys; from dynaspark_sdk.cli import main; sys.exit(main())", *args]


def process_seconds(name: str) -> float:
    """Wall seconds of the whole process `name` (interpreter start-up included)."""
    started = time.perf_counter()
    subprocess.run(_command(name), capture_output=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    return time.perf_counter() - started


def run(budget: Budget) -> list[Row]:
    """Measure target 5 and return its rows."""
    names = list(STATEMENTS)
    processes = list(PROCESSES)
    for name in names:
        import_seconds(STATEMENTS[name])
    for name in processes:
        process_seconds(name)
    times: dict[str, list[float]] = {name: [] for name in names + processes}
    for round_index in range(budget.pick(40, 2)):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(import_seconds(STATEMENTS[name]))
        shift = round_index % len(processes)
        for name in processes[shift:] + processes[:shift]:
            times[name].append(process_seconds(name))
    baseline = times["import httpx"]
    rows = []
    for name in names[1:]:
        ratio = statistics.median(a / b for a, b in zip(times[name], baseline, strict=True))
        targeted = name in TARGETED
        rows.append(
            Row(
                target="5",
                measurement=f"`{name}` in a fresh interpreter",
                value=format_ms(statistics.median(times[name])),
                baseline=f"import httpx {format_ms(statistics.median(baseline))}",
                ratio=ratio,
                goal=f"<= {GOAL}x" if targeted else "-",
                verdict=verdict(ratio <= GOAL) if targeted else "info",
            )
        )
    whole = times[processes[0]]
    for name in processes[1:]:
        rows.append(
            Row(
                target="5",
                measurement=f"`{name}`, the whole process",
                value=format_ms(statistics.median(times[name])),
                baseline=f"{processes[0]} {format_ms(statistics.median(whole))}",
                ratio=statistics.median(a / b for a, b in zip(times[name], whole, strict=True)),
                goal="-",
                verdict="info",
            )
        )
    return rows
