"""What every operation's request building shares: the `RequestPlan`, the parameter checks. No I/O.

Each operation builds its plan in its own module (`_operations/<op>.py`) with these parts.

Every check runs here, before anything is sent, against the enumerations and ranges the
spec gives (`_generated.spec_values`). The wire shape comes from the generated layer's
`_get_kwargs()`, with two corrections the generator cannot make: multipart bodies get a
boundary chosen by httpx (the generator pins `+++`, which a prompt could contain), and the
upload is re-opened for each attempt so a retry re-sends the whole image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO, Literal
from urllib.parse import urlencode

import attrs

from ._errors import InvalidRequestError
from ._generated import spec_values
from ._generated.types import UNSET, Unset
from ._media import ImageUpload, RemoteImage
from ._secrets import ApiKey

__all__ = [
    "ACCEPT_HEADERS",
    "Expect",
    "MessagesInput",
    "RequestPlan",
    "check_parameter",
    "check_utf8",
]

Expect = Literal["json", "text", "audio", "image"]
MessagesInput = str | Sequence[Mapping[str, Any]]

# The text endpoint answers JSON, an event stream or MP3 depending on its parameters; say
# which one is expected, for servers (and Prism) that choose by Accept.
ACCEPT_HEADERS: dict[str, dict[str, str]] = {
    "text": {"accept": "text/event-stream, text/plain;q=0.9, application/json;q=0.8"},
    "audio": {"accept": "audio/mpeg"},
    "json": {"accept": "application/json"},
    "image": {"accept": "image/*"},
}

#: Longest URL the SDK will send. ASSUMPTION: the service sits behind Render's proxy, and
#: common front ends refuse request lines past 8 KiB; a longer prompt fails clearly here.
MAX_URL_BYTES = 8192


@attrs.frozen
class RequestPlan:
    """Everything needed to send one request, any number of times.

    `kwargs(payload)` gives the keyword arguments of `httpx.Client.build_request`, with
    `payload` the freshly opened upload (or None when the request has none). `make` gets
    the payload and the plan's upload (which `with_upload` may have replaced).

    `paths` are the URL paths the operation can be found at, newest first, when it has moved
    (chat); the flow picks one with `at(path)`. Empty for an operation with one fixed path.
    """

    operation: str
    expect: Expect
    model: str | None
    _make: Callable[[BinaryIO | None, ImageUpload | RemoteImage | None], dict[str, Any]] = attrs.field(
        alias="make", repr=False
    )
    upload: ImageUpload | RemoteImage | None = None
    paths: tuple[str, ...] = ()
    path: str | None = None
    #: Whether the shell follows redirects (None: as its http client does; False for a fetch
    #: that checks every hop itself, see `_image_fetch`).
    follow_redirects: bool | None = None

    def kwargs(self, payload: BinaryIO | None = None) -> dict[str, Any]:
        """`build_request` keyword arguments for one attempt."""
        made = self._make(payload, self.upload)
        return made if self.path is None else {**made, "url": self.path}

    def at(self, path: str) -> RequestPlan:
        """The same plan sent to `path` (one of `paths`)."""
        return self if path == self.path else attrs.evolve(self, path=path)

    def with_upload(self, upload: ImageUpload) -> RequestPlan:
        """The same plan with a fetched remote image in place of its URL."""
        return attrs.evolve(self, upload=upload)


# --------------------------------------------------------------------------- checks


def check_parameter(operation: str, name: str, value: object) -> None:
    """Raise InvalidRequestError unless `value` fits the spec's rule for that parameter."""
    rule = spec_values.PARAMETERS[operation][name]
    shown = _show(name)
    if rule.type == "boolean":
        if not isinstance(value, bool):
            raise InvalidRequestError(f"{shown} must be True or False, not {type(value).__name__}")
        return
    if rule.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequestError(f"{shown} must be a number, not {type(value).__name__}")
        if rule.type == "integer" and not isinstance(value, int):
            raise InvalidRequestError(f"{shown} must be a whole number, not {_repr(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequestError(f"{shown} must be a finite number, not {_repr(value)}")
        low, high = rule.minimum, rule.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidRequestError(f"{shown} must be between {_num(low)} and {_num(high)}, not {_repr(value)}")
        return
    if not isinstance(value, str):
        raise InvalidRequestError(f"{shown} must be a string, not {type(value).__name__}")
    check_utf8(shown, value)
    if rule.min_length is not None and len(value) < rule.min_length:
        raise InvalidRequestError(f"{shown} must not be empty")
    if rule.enum is not None and value not in rule.enum:
        raise InvalidRequestError(f"{shown} must be one of {', '.join(rule.enum)}; got {value!r}")


def check_utf8(what: str, text: str) -> None:
    """Raise InvalidRequestError when `text` cannot go on the wire as UTF-8 (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            f"{what} holds a lone surrogate (U+{ord(text[error.start]):04X}) at position {error.start},"
            " which cannot be sent as UTF-8"
        ) from None


def _repr(value: object) -> str:
    """A short repr for error messages; Python refuses to print integers of over 4300 digits."""
    try:
        shown = repr(value)
    except ValueError:
        return "an integer too long to print"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _show(name: str) -> str:
    return {"wm": "watermark", "user_input": "the prompt"}.get(name, name)


def _num(value: float | None) -> str:
    if value is None:
        return "-inf"
    return str(int(value)) if float(value).is_integer() else str(value)


def _optional(operation: str, name: str, value: object) -> Any:
    """UNSET for None (so the generated layer leaves it off the wire), else the checked value."""
    if value is None:
        return UNSET
    check_parameter(operation, name, value)
    return value


def _key(api_key: ApiKey | None) -> str | Unset:
    return api_key.reveal() if api_key is not None else UNSET


def _check_url_length(path: str, params: Mapping[str, Any], base_url_bytes: int, *, advice: str | None = None) -> None:
    texts = [(k, _wire(v)) for k, v in params.items()]
    # A character percent-encodes to at most 12 bytes (4 UTF-8 bytes, "%XX" each): most
    # requests are short enough to skip encoding the query just to measure it.
    worst = base_url_bytes + len(path) + 1 + sum(12 * (len(k) + len(v)) + 2 for k, v in texts)
    if worst <= MAX_URL_BYTES:
        return
    query = urlencode(texts)
    size = base_url_bytes + len(path) + 1 + len(query)
    if size > MAX_URL_BYTES:
        raise InvalidRequestError(
            f"the request URL would be {size} bytes, over the {MAX_URL_BYTES}-byte limit of a GET "
            "request; shorten the prompt" + (f" ({advice})" if advice else "")
        )


def _wire(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- models


# --------------------------------------------------------------------------- operations


def _prompt(text: str, operation: str) -> str:
    if not isinstance(text, str):
        raise InvalidRequestError(f"the prompt must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InvalidRequestError("the prompt is empty")
    check_parameter(operation, "user_input", text)
    return text
