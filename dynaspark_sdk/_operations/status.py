"""The status operation (GET /status; `_generated/api/status/status.py`): its request plan,
the parsing of its answer and its call. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dynaspark_sdk._answers import json_answer, media_type
from dynaspark_sdk._operations import Call, answer_meta
from dynaspark_sdk._plans import RequestPlan
from dynaspark_sdk._results import ServiceStatus

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer

__all__ = ["parse_status", "plan_status", "status_call"]


def plan_status() -> RequestPlan:
    """GET /status."""
    from dynaspark_sdk._generated.api.status import status as status_api

    kwargs = status_api._get_kwargs()
    return RequestPlan(operation="status", expect="json", model=None, make=lambda _payload, _image: kwargs)


def parse_status(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str | None, dict[str, Any]]:
    """(status word, details) of GET /status; a plain-text body is kept as the status word."""
    kind = media_type(headers)
    if kind == "application/json" or body.lstrip().startswith(b"{"):
        data = json_answer(status, headers, body)
        word = data.get("status")
        return (word if isinstance(word, str) else None), data
    if kind == "text/html":
        json_answer(status, headers, body)  # raises the HTML-page error
    text = body.decode("utf-8", "replace").strip()
    return (text[:100] or None), {}


def status_call() -> Call[ServiceStatus]:
    """GET /status."""

    def parse(answer: Answer) -> ServiceStatus:
        word, details = parse_status(answer.status, answer.headers, answer.body)
        return ServiceStatus(status=word, details=details, **answer_meta(answer))

    return plan_status(), parse
