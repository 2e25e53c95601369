"""Target 5: `import dynaspark_sdk` must take at most 1.3x `import httpx`.

Each import runs in a fresh interpreter (``python -c``) that times the import statement with
`time.perf_counter()` around it, so the interpreter's own start-up, the same for all, does
not dilute the ratio. The statements take turns, round after round (the order rotating),
after one untimed round that leaves the bytecode caches written; the figures are medians
over rounds and the ratios medians of per-round ratios. `from dynaspark_sdk import Client`
(everything a first call needs, httpx included) is measured the same way and reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from ._harness import Budget, Row, format_ms, verdict

__all__ = ["run"]

GOAL = 1.3
STATEMENTS = {
    "import httpx": "import httpx",
    "import dynaspark_sdk": "import dynaspark_sdk",
    "from dynaspark_sdk import Client": "from dynaspark_sdk import Client",
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


def run(budget: Budget) -> list[Row]:
    """Measure target 5 and return its rows."""
    names = list(STATEMENTS)
    for name in names:
        import_seconds(STATEMENTS[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(budget.pick(40, 2)):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(import_seconds(STATEMENTS[name]))
    baseline = times["import httpx"]
    rows = []
    for name in names[1:]:
        ratio = statistics.median(a / b for a, b in zip(times[name], baseline, strict=True))
        targeted = name == "import dynaspark_sdk"
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
    return rows
