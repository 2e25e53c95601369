"""The core, one module per operation, mirroring `_generated/api/<tag>/<op>.py`. No I/O.

Each module holds everything about its operation: the checks and the request plan
(`plan_<op>`), the parsing of its answer (`parse_<op>...`) and the (plan, parse) pair a shell
runs (`<op>_call`). What the operations share sits beside this package: `_plans.py` (the
`RequestPlan` and the parameter checks), `_answers.py` (status and JSON checks of an
answer), `_flow.py` (retries, the rate-limit gate, streams), `_results.py` (the results).

    chat.py      POST the chat endpoint (the folded conversation, an optional image)
    text.py      GET /api/generate_response (JSON, or server-sent events)
    speech.py    GET /api/generate_response with the audio model (MP3)
    image.py     GET /api/generate_image
    status.py    GET /status
    download.py  GET an absolute URL: an image result's image, or an image URL to send
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer
    from dynaspark_sdk._plans import RequestPlan

__all__ = ["Call", "answer_meta"]

T = TypeVar("T")
#: A call as a shell runs it: the checked request, and what turns a successful answer into
#: the call's result.
Call = tuple["RequestPlan", Callable[["Answer"], T]]


def answer_meta(answer: Answer) -> dict[str, Any]:
    """The fields every result has: the answer's headers and rate-limit numbers."""
    # httpx's Headers: a case-insensitive mapping, kept as it came rather than copied.
    return {"headers": answer.headers, "rate_limit": answer.rate_limit}
