"""The life of a call, written once for both clients, as generators that do no I/O.

A flow yields actions (`Send`, `Read`, `Discard`, `Sleep`, `Emit`); a shell performs each
one with its own I/O (blocking httpx in `Client`, awaiting httpx under anyio in
`AsyncClient`) and sends the outcome back in. Retries, rate-limit waits, error mapping and
stream decoding therefore live here, in one place, and are tested through both shells.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Generator, Mapping
from typing import Any, Literal, TypeVar

import attrs

from ._answers import error_for_status, is_retryable_validation_error
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    DynasparkError,
    MediaError,
    RateLimitError,
    ResponseValidationError,
    StreamInterruptedError,
)
from ._image_fetch import FetchedAnswer, Resolve, fetch_public_image
from ._media import RemoteImage, redact_url
from ._operations.download import fetch_plan
from ._plans import RequestPlan
from ._rate_limit import RateLimit
from ._retry import RetryPolicy, is_retryable_status, retry_after_seconds
from ._text_decoders import text_decoder_for

__all__ = [
    "Answer",
    "ClientState",
    "Discard",
    "Emit",
    "Failure",
    "Opened",
    "Read",
    "Resolve",
    "Send",
    "Sleep",
    "call_flow",
    "stream_flow",
]

T = TypeVar("T")

logger = logging.getLogger("dynaspark_sdk")


# --------------------------------------------------------------------------- actions


@attrs.frozen
class Send:
    """Send the plan's request. The shell answers `Answer` (stream=False, body read in full),
    `Opened` (stream=True, body left to `Read`), or `Failure`."""

    plan: RequestPlan
    stream: bool = False

    @property
    def takes_slot(self) -> bool:
        """Whether the request waits for one of the client's request slots. A streamed answer
        does not: it could hold its slot for minutes, while the slots bound short calls."""
        return not self.stream


@attrs.frozen
class Read:
    """Read the next piece of the open body: bytes, b"" at its end, or `Failure`."""


@attrs.frozen
class Discard:
    """Close the open body, if any."""


@attrs.frozen
class Sleep:
    """Wait this many seconds."""

    seconds: float


@attrs.frozen
class Emit:
    """Hand this text to the caller of a stream."""

    text: str


Action = Send | Read | Discard | Sleep | Emit | Resolve
# The actions without fields, made once (a flow yields them for every piece of a body).
_READ = Read()
_DISCARD = Discard()


# --------------------------------------------------------------------------- outcomes


def _rate_limit_of(answer: Answer) -> RateLimit:
    return RateLimit.from_headers(answer.headers)


@attrs.frozen
class Answer:
    """A whole answer. `rate_limit` holds its headers' numbers, read once for the flow and
    for the result."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    rate_limit: RateLimit = attrs.field(default=attrs.Factory(_rate_limit_of, takes_self=True), repr=False)


@attrs.frozen
class Opened:
    """An answer whose body is still to be read."""

    status: int
    headers: Mapping[str, str]


@attrs.frozen
class Failure:
    """A transport failure, already described without URL or key.

    `kind`: "timeout", "connection" (worth a retry) or "fatal" (a bad URL or protocol: not);
    `after_bytes`: whether any byte of the answer had arrived.
    """

    kind: Literal["timeout", "connection", "fatal"]
    message: str
    after_bytes: bool = False

    def error(self) -> APIConnectionError:
        """The SDK error for this failure."""
        if self.kind == "timeout":
            return APITimeoutError(f"timed out: {self.message}")
        return APIConnectionError(f"connection failed: {self.message}")

    @property
    def retryable(self) -> bool:
        """Connection errors always; timeouts only before any byte arrived."""
        return self.kind == "connection" or (self.kind == "timeout" and not self.after_bytes)


# --------------------------------------------------------------------------- state


class ClientState:
    """What a client remembers between calls: the last rate-limit numbers seen, and which
    path of a moved endpoint answered last.

    The rate-limit numbers are one API key's; `paths` (which path answers, by base URL and
    operation) may be shared by the states of several keys, as it is a fact of the service.
    """

    def __init__(self, paths: dict[tuple[str, str], str] | None = None) -> None:
        self._lock = threading.Lock()
        self._rate_limit = RateLimit()
        self._paths: dict[tuple[str, str], str] = paths if paths is not None else {}

    def answering_path(self, base_url: str, operation: str) -> str | None:
        """The path of `operation` that last answered at `base_url` (None before any)."""
        return self._paths.get((base_url, operation))

    def path_answered(self, base_url: str, operation: str, path: str) -> None:
        """Remember that `operation` answers at `path`."""
        with self._lock:
            self._paths[(base_url, operation)] = path

    @property
    def rate_limit(self) -> RateLimit:
        """The last `X-RateLimit-*` numbers seen (all None before any answer)."""
        return self._rate_limit

    def observe(self, headers: Mapping[str, str]) -> RateLimit:
        """Remember the rate-limit numbers of an answer that carries them; return them."""
        return self.remember(RateLimit.from_headers(headers))

    def remember(self, seen: RateLimit) -> RateLimit:
        """Remember `seen`, an answer's rate-limit numbers, if it carries any; return them."""
        if seen.known:
            with self._lock:
                self._rate_limit = seen
        return seen

    def window_waited(self, reset: int | None) -> None:
        """After waiting for a reset, forget that the old window was used up."""
        with self._lock:
            if self._rate_limit.reset == reset:
                self._rate_limit = attrs.evolve(self._rate_limit, remaining=None)


@attrs.frozen
class FlowConfig:
    """What a flow needs to know of its client."""

    retry: RetryPolicy
    on_rate_limit: Literal["wait", "raise"]
    max_media_bytes: int
    clock: Callable[[], float]
    base_url: str = ""
    #: False: image URLs are fetched from public addresses only (see `_image_fetch`).
    private_image_urls: bool = True
    #: The backoff's random source (None: the `random` module's); a seeded one makes the
    #: jittered waits repeatable.
    rng: random.Random | None = None


# --------------------------------------------------------------------------- pieces


def _rate_gate(config: FlowConfig, state: ClientState) -> Generator[Action, Any, None]:
    """When the window is used up, wait for its reset (or refuse) instead of burning a request."""
    limit = state.rate_limit
    if limit.remaining != 0 or limit.reset is None:
        return
    wait = limit.seconds_until_reset(config.clock())
    if not wait:
        return
    if config.on_rate_limit == "raise" or wait > config.retry.max_wait:
        raise RateLimitError(
            f"the rate limit is used up ({limit.limit} requests); the window resets in {wait:.0f} s",
            status_code=429,
            retry_after=wait,
            rate_limit=limit,
        )
    yield Sleep(wait)
    state.window_waited(limit.reset)


def _read_all() -> Generator[Action, Any, bytes | Failure]:
    parts: list[bytes] = []
    while True:
        piece = yield _READ
        if isinstance(piece, Failure):
            return piece
        if not piece:
            return b"".join(parts)
        parts.append(piece)


def _wait_for_error(config: FlowConfig, retries: int, error: DynasparkError) -> float:
    """The backoff before retrying after `error`, or raise it when no retry is left."""
    delay = config.retry.delay(retries, rng=config.rng)
    if delay is None:
        raise error
    return delay


def _status_delay(config: FlowConfig, retries: int, error: APIStatusError, headers: Mapping[str, str]) -> float | None:
    if not is_retryable_status(error.status_code):
        return None
    # A 429's wait also reads the body's reset_time; other statuses only Retry-After.
    requested = error.retry_after if isinstance(error, RateLimitError) else None
    if requested is None:
        requested = retry_after_seconds(headers, now=config.clock(), status=error.status_code)
    return config.retry.delay(retries, requested=requested, rng=config.rng)


def _fetch_remote(plan: RequestPlan, config: FlowConfig, state: ClientState) -> Generator[Action, Any, RequestPlan]:
    upload = plan.upload
    if not isinstance(upload, RemoteImage):
        return plan
    if not config.private_image_urls:
        limit = config.max_media_bytes
        body = yield from fetch_public_image(upload.url, lambda fetch: _read_capped(fetch, limit), max_bytes=limit)
        return plan.with_upload(upload.to_upload(body, max_bytes=limit))
    try:
        body = yield from call_flow(fetch_plan(upload.url), lambda a: a.body, config, state)
    except APIStatusError as failed:
        # The image's host failed, not the service: say so, not NotFoundError of the service.
        raise MediaError(
            f"cannot fetch the image at URL {redact_url(upload.url)}: HTTP {failed.status_code}"
            + (f" ({failed.error})" if failed.error else "")
        ) from None
    except APIConnectionError as failed:
        raise MediaError(f"cannot fetch the image at URL {redact_url(upload.url)}: {failed.message}") from None
    return plan.with_upload(upload.to_upload(body, max_bytes=config.max_media_bytes))


def _read_capped(plan: RequestPlan, limit: int) -> Generator[Action, Any, FetchedAnswer]:
    """One GET for someone else (see `_image_fetch`): no retries, and at most `limit` + 1 bytes
    of its body read, so an endless answer costs no more memory than an image may take."""
    outcome = yield Send(plan, stream=True)
    if isinstance(outcome, Failure):
        raise outcome.error()
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        piece = yield _READ
        if isinstance(piece, Failure):
            yield _DISCARD
            raise piece.error()
        if not piece:
            break
        parts.append(piece)
        size += len(piece)
    yield _DISCARD
    return FetchedAnswer(outcome.status, outcome.headers, b"".join(parts))


#: What a moved endpoint answers at its old address (or a path that never existed).
MOVED_STATUSES = frozenset({404, 405})


class _Route:
    """Which of a plan's paths one call goes to.

    A plan with several `paths` (the chat endpoint, newest first) goes to the path that last
    answered for this client, else the newest. When that path answers 404 or 405 the call
    tries the next one, once (no second probe per call), and the client remembers whichever
    path answers: a client that fell back to the previous path moves forward again the same
    way when that one starts answering 404 or 405. A plan with one path is sent as it is.
    """

    def __init__(self, plan: RequestPlan, config: FlowConfig, state: ClientState) -> None:
        self._config, self._state = config, state
        self._first_status: int | None = None
        if len(plan.paths) > 1:
            remembered = state.answering_path(config.base_url, plan.operation)
            plan = plan.at(remembered if remembered in plan.paths else plan.paths[0])
        self.plan = plan

    def switch(self, status: int) -> bool:
        """After an answer of `status`: whether to send again at the next path (now `self.plan`)."""
        plan = self.plan
        if status not in MOVED_STATUSES or self._first_status is not None or len(plan.paths) < 2 or plan.path is None:
            return False
        self._first_status = status
        paths = plan.paths
        following = paths[(paths.index(plan.path) + 1) % len(paths)]
        logger.debug("%s: %s answered %d; trying %s", plan.operation, plan.path, status, following)
        self.plan = plan.at(following)
        return True

    def answered(self, status: int) -> None:
        """Remember the path when it answered as the endpoint (not 404/405, not a 5xx)."""
        plan = self.plan
        if len(plan.paths) < 2 or plan.path is None or status in MOVED_STATUSES or status >= 500:
            return
        key = (self._config.base_url, plan.operation)
        if self._state.answering_path(*key) != plan.path:
            if self._first_status is not None:
                logger.debug("%s: now sent to %s", plan.operation, plan.path)
            self._state.path_answered(*key, plan.path)

    def explain(self, error: APIStatusError) -> APIStatusError:
        """A 404/405 after the switch says that both paths were tried."""
        if self._first_status is None or error.status_code not in MOVED_STATUSES:
            return error
        error.message = (
            f"{error.message} (the {self.plan.operation} endpoint was not found at any of its paths:"
            f" {', '.join(self.plan.paths)})"
        )
        error.args = (error.message,)
        return error


# --------------------------------------------------------------------------- flows


def call_flow(
    plan: RequestPlan,
    parse: Callable[[Answer], T],
    config: FlowConfig,
    state: ClientState,
) -> Generator[Action, Any, T]:
    """One call with retries: returns `parse(answer)` or raises the SDK's error.

    Only calls of the service pass the rate-limit gate and update its state; a fetch of an
    image (`fetch_plan`) does neither.
    """
    api_call = plan.operation != "fetch"
    # The gate and the fetch only when there is something to do: a generator less each.
    if api_call and state.rate_limit.remaining == 0:
        yield from _rate_gate(config, state)
    if isinstance(plan.upload, RemoteImage):
        plan = yield from _fetch_remote(plan, config, state)
    route = _Route(plan, config, state)
    retries = 0
    while True:
        outcome = yield Send(route.plan)
        if isinstance(outcome, Failure):
            error: DynasparkError = outcome.error()
            if not outcome.retryable:
                raise error
            delay = _wait_for_error(config, retries, error)
        else:
            if api_call:
                state.remember(outcome.rate_limit)
            if route.switch(outcome.status):
                continue
            route.answered(outcome.status)
            if outcome.status >= 400:
                status_error = error_for_status(outcome.status, outcome.headers, outcome.body, now=config.clock())
                delay_or_none = _status_delay(config, retries, status_error, outcome.headers)
                if delay_or_none is None:
                    raise route.explain(_explain_refused_wait(status_error, config))
                delay = delay_or_none
            else:
                try:
                    return parse(outcome)
                except ResponseValidationError as invalid:
                    if not is_retryable_validation_error(invalid):
                        raise
                    delay = _wait_for_error(config, retries, invalid)
        yield Sleep(delay)
        retries += 1


def _explain_refused_wait(error: APIStatusError, config: FlowConfig) -> APIStatusError:
    """A 429 whose wait is past the cap says so, instead of a bare 429."""
    wait = error.retry_after if isinstance(error, RateLimitError) else None
    if wait is not None and wait > config.retry.max_wait:
        error.message = (
            f"{error.message}; the wait is longer than max_wait={config.retry.max_wait:.0f} s, so it was not retried"
        )
        error.args = (error.message,)
    return error


#: The numbers of a stream before its answer (a RateLimit is immutable: one serves every stream).
_NO_RATE_LIMIT = RateLimit()


class StreamProgress:
    """What a stream has handed over so far (read by the shells' Stream objects)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.status: int | None = None
        self.headers: Mapping[str, str] = {}
        self.rate_limit = _NO_RATE_LIMIT
        # The model the stream says answered, when its events name one.
        self.model: str | None = None

    @property
    def text(self) -> str:
        """Everything emitted so far."""
        return "".join(self.parts)


def stream_flow(
    plan: RequestPlan, config: FlowConfig, state: ClientState, progress: StreamProgress
) -> Generator[Action, Any, None]:
    """A streamed call: emits text as it arrives; retries only until the first emit."""
    if state.rate_limit.remaining == 0:  # as in `call_flow`
        yield from _rate_gate(config, state)
    if isinstance(plan.upload, RemoteImage):
        plan = yield from _fetch_remote(plan, config, state)
    route = _Route(plan, config, state)
    retries = 0
    while True:
        outcome = yield Send(route.plan, stream=True)
        if isinstance(outcome, Failure):
            error: DynasparkError = outcome.error()
            if not outcome.retryable:
                raise error
            yield Sleep(_wait_for_error(config, retries, error))
            retries += 1
            continue
        progress.status, progress.headers = outcome.status, outcome.headers
        progress.rate_limit = state.observe(outcome.headers)
        if outcome.status >= 400:
            body = yield from _read_all()
            yield _DISCARD
            raw = body if isinstance(body, bytes) else b""
            if route.switch(outcome.status):
                continue
            route.answered(outcome.status)
            status_error = error_for_status(outcome.status, outcome.headers, raw, now=config.clock())
            delay = _status_delay(config, retries, status_error, outcome.headers)
            if delay is None:
                raise route.explain(_explain_refused_wait(status_error, config))
            yield Sleep(delay)
            retries += 1
            continue
        route.answered(outcome.status)
        finished = yield from _decode_body(outcome.headers, progress)
        yield _DISCARD
        if finished is None:
            return
        # Nothing reached the caller yet, so another attempt is safe.
        yield Sleep(_wait_for_error(config, retries, finished))
        retries += 1


def _decode_body(headers: Mapping[str, str], progress: StreamProgress) -> Generator[Action, Any, DynasparkError | None]:
    """Emit the body's text. Returns None when complete, or a retryable error when it failed
    before anything was emitted; raises when it failed after."""
    decoder = text_decoder_for(headers.get("content-type"))
    emitted = False
    while True:
        piece = yield _READ
        if isinstance(piece, Failure):
            if decoder.done:
                # [DONE] had arrived, and the decoder ignores whatever follows it: only the end
                # of the HTTP body broke, not the answer.
                return None
            # The answer had begun, so this is a stream broken off, whether or not text had been
            # emitted yet (a JSON answer emits only once whole): the last attempt must say so,
            # not pass for a connection that never answered.
            interrupted = StreamInterruptedError(
                f"the stream broke off after {len(decoder.text)} characters: {piece.message}",
                partial_text=decoder.text,
            )
            if emitted or not piece.retryable:
                raise interrupted
            return interrupted
        try:
            chunks = decoder.feed(piece) if piece else decoder.close()
        except ResponseValidationError as invalid:
            if emitted or not is_retryable_validation_error(invalid):
                raise
            return invalid
        progress.model = decoder.model or progress.model
        for chunk in chunks:
            emitted = True
            progress.parts.append(chunk)
            yield Emit(chunk)
        if not piece:
            return None
