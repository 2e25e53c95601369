"""Timing, rounds and the results table: what every benchmark shares.

Numbers on a shared 2-core machine drift by tens of percent within a minute, so nothing is
timed once: each contender runs in batches, the batches of all contenders alternate (ABAB...,
the order reversed every round), and the reported figure is the median over rounds. A ratio
is the median of the per-round ratios, each taken between batches that ran side by side, so
slow drift cancels out instead of landing on whichever contender ran later.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence

import attrs

__all__ = [
    "Budget",
    "Measured",
    "Row",
    "Skipped",
    "alternate",
    "alternate_async",
    "format_ms",
    "format_table",
    "format_us",
    "has_trio",
    "verdict",
]


@attrs.frozen
class Budget:
    """How much work a benchmark does: `smoke` shrinks everything to a quick check that it runs."""

    smoke: bool

    def pick(self, full: int, smoke: int) -> int:
        """`smoke` in smoke mode, else `full`."""
        return smoke if self.smoke else full


@attrs.frozen
class Measured:
    """Per-call wall and CPU seconds of one contender, one entry per round."""

    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    @property
    def wall_median(self) -> float:
        """Median over rounds of the wall seconds per call."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        """Median over rounds of this process's CPU seconds per call."""
        return statistics.median(self.cpu)

    def wall_ratio(self, baseline: Measured) -> float:
        """Median of the per-round ratios of wall time, this over `baseline`."""
        return statistics.median(a / b for a, b in zip(self.wall, baseline.wall, strict=True))

    def cpu_ratio(self, baseline: Measured) -> float:
        """Median of the per-round ratios of CPU time, this over `baseline`."""
        return statistics.median(a / b for a, b in zip(self.cpu, baseline.cpu, strict=True) if b > 0)


class Skipped(Exception):
    """A measurement that cannot run here (a benchmark-only package is missing)."""


@attrs.frozen
class Row:
    """One line of the results table.

    `ratio` is the contender over its baseline (lower is better unless `goal` says otherwise);
    `verdict` is "met", "missed", "info" (no target) or "skipped".
    """

    target: str
    measurement: str
    value: str
    baseline: str
    ratio: float | None
    goal: str
    verdict: str

    @property
    def ratio_text(self) -> str:
        """The ratio as printed: two decimals, or a dash."""
        if self.ratio is None or math.isnan(self.ratio):
            return "-"
        return f"{self.ratio:.2f}x"


def has_trio() -> bool:
    """Whether trio is installed (the async benchmarks then run on it too)."""
    return importlib.util.find_spec("trio") is not None


def verdict(met: bool) -> str:
    """ "met" or "missed"."""
    return "met" if met else "missed"


def format_us(seconds: float) -> str:
    """Seconds as microseconds, for per-call costs."""
    return f"{seconds * 1e6:,.0f} us"


def format_ms(seconds: float) -> str:
    """Seconds as milliseconds."""
    return f"{seconds * 1e3:,.2f} ms"


def _timed_batch(run_batch: Callable[[], None], calls: int) -> tuple[float, float]:
    gc.collect()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    run_batch()
    wall1, cpu1 = time.perf_counter(), time.process_time()
    return (wall1 - wall0) / calls, (cpu1 - cpu0) / calls


def alternate(
    contenders: dict[str, Callable[[], None]], *, calls: int, rounds: int, warmup: int = 1
) -> dict[str, Measured]:
    """Run each contender's batch (`calls` calls) `rounds` times, alternating between them.

    Every contender first runs `warmup` untimed batches (connections opened, caches filled).
    """
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            per_call_wall, per_call_cpu = _timed_batch(contenders[name], calls)
            wall[name].append(per_call_wall)
            cpu[name].append(per_call_cpu)
    return {name: Measured(tuple(wall[name]), tuple(cpu[name])) for name in names}


async def alternate_async(
    contenders: dict[str, Callable[[], Awaitable[None]]], *, calls: int, rounds: int, warmup: int = 1
) -> dict[str, Measured]:
    """`alternate` for coroutine batches, run on the current event loop."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            await contenders[name]()
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            gc.collect()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            await contenders[name]()
            wall1, cpu1 = time.perf_counter(), time.process_time()
            wall[name].append((wall1 - wall0) / calls)
            cpu[name].append((cpu1 - cpu0) / calls)
    return {name: Measured(tuple(wall[name]), tuple(cpu[name])) for name in names}


_HEADERS = ("#", "measurement", "contender", "baseline", "ratio", "goal", "")


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width text table (also valid Markdown)."""
    cells = [_HEADERS]
    for row in rows:
        cells.append(
            (
                row.target,
                row.measurement,
                row.value,
                row.baseline,
                row.ratio_text,
                row.goal,
                row.verdict,
            )
        )
    widths = [max(len(line[column]) for line in cells) for column in range(len(_HEADERS))]

    def line(values: Sequence[str]) -> str:
        padded = (value.ljust(width) for value, width in zip(values, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])
