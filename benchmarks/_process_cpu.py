"""Another process's CPU time (a server the benchmarks run as a child), as finely as the system gives it.

Linux has a CPU-time clock for every process, which any process may read:
``clock_gettime(MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED))``, the clock id ``(~pid << 3) | 2``.
It counts, in nanoseconds, the time the scheduler ran any thread of the process, user and
system alike (the figure of ``/proc/PID/schedstat``). Where it cannot be read (another
system), the CPU time comes from ``/proc/PID/stat`` (user + system time in clock ticks,
10 ms on most kernels: too coarse for a batch of a few hundred millisecond-long calls), and
`ProcessCPU.precise` says so; without /proc either, `seconds()` is None.
"""

from __future__ import annotations

import os
import time

__all__ = ["ProcessCPU"]


def _clock_id(pid: int) -> int | None:
    """The CPU-time clock of process `pid`, None where it cannot be read."""
    clock = ((~pid) << 3) | 2  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    try:
        time.clock_gettime(clock)
    except (AttributeError, OSError, OverflowError):
        return None
    return clock


class ProcessCPU:
    """The CPU seconds process `pid` has used so far: `seconds()`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._clock = _clock_id(pid)
        self._stat = f"/proc/{pid}/stat"

    @property
    def precise(self) -> bool:
        """Whether the nanosecond clock is read (else /proc's ticks)."""
        return self._clock is not None

    @property
    def coarse_note(self) -> str:
        """What a row adds to its measurement when the figures come from /proc's ticks ("" else)."""
        return "" if self.precise else "; CPU from /proc in 10 ms ticks"

    def seconds(self) -> float | None:
        """User + system CPU seconds of the process so far (None where neither source is readable)."""
        if self._clock is not None:
            return time.clock_gettime(self._clock)
        try:
            with open(self._stat) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
