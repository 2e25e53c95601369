"""What a probe reports: one `Row` per operation and check, and the `ProbeReport`."""

from __future__ import annotations

from typing import Any

import attrs

from dynaspark_sdk.frontend import redact

__all__ = ["MAX_REQUESTS", "ProbeReport", "Row"]

MAX_REQUESTS = 10
"""The most requests a probe sends: a tenth of the free key's hourly limit."""

_FAILING = frozenset({"drift", "failed"})


@attrs.frozen
class Row:
    """One check of one operation.

    `verdict` is "ok", "drift" (the answer differs from the spec), "failed" (no usable
    answer: a connection error, a 5xx, a rate limit), "confirmed" / "contradicted" (an ASSUMED
    part of the spec or a claim of the service's docs), "absent" (a claimed endpoint, or a chat
    path the service used before, that does not answer) or "not checked".
    """

    path: str
    operation: str
    check: str
    verdict: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """The row as plain JSON data."""
        return attrs.asdict(self)


@attrs.frozen
class ProbeReport:
    """What `probe()` found: the rows, and how many requests it spent."""

    base_url: str
    rows: tuple[Row, ...]
    requests: int
    max_requests: int = MAX_REQUESTS

    @property
    def ok(self) -> bool:
        """True when no row shows drift or a failure."""
        return not any(row.verdict in _FAILING for row in self.rows)

    @property
    def problems(self) -> tuple[Row, ...]:
        """The rows showing drift or a failure."""
        return tuple(row for row in self.rows if row.verdict in _FAILING)

    def summary(self) -> str:
        """One line: requests spent and the outcome."""
        spent = f"{self.requests} of {self.max_requests} requests spent"
        if self.ok:
            return f"{spent}; the service matches the spec"
        drift = sum(row.verdict == "drift" for row in self.rows)
        failed = sum(row.verdict == "failed" for row in self.rows)
        return f"{spent}; {drift} drift, {failed} failed: the service does not match the spec"

    def lines(self) -> list[str]:
        """The report as a table for a terminal, then the summary line."""
        header = Row("PATH", "OPERATION", "CHECK", "VERDICT", "DETAIL")
        table = [header, *self.rows]
        names = ("path", "operation", "check", "verdict")
        widths = [max(len(getattr(row, name)) for row in table) for name in names]
        out = []
        for row in table:
            cells = [str(getattr(row, name)).ljust(width) for name, width in zip(names, widths, strict=True)]
            out.append("  ".join([*cells, row.detail]).rstrip())
        out.append(f"probe of {redact(self.base_url)}: {self.summary()}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        return {
            "base_url": redact(self.base_url),
            "ok": self.ok,
            "requests": self.requests,
            "max_requests": self.max_requests,
            "rows": [row.to_dict() for row in self.rows],
        }
