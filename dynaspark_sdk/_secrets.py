"""Keeping the API key out of every text a user or a log can see.

The key travels as the `api_key` query parameter, so any URL holds it, and a base URL may
carry a password (`http://alice:pw@host`). httpx logs each request's full URL at INFO;
`install_log_redaction()` puts a filter on the loggers of httpx and httpcore, of their forks
httpx2 and httpcore2 (which an application may route `import httpx` to), and ours, that
rewrites such records before any handler sees them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

__all__ = [
    "HTTP_LOGGER_ROOTS",
    "REDACTED",
    "SECURE",
    "ApiKey",
    "install_log_redaction",
    "redact",
    "remember_url_password",
    "scrub_url",
]

REDACTED = "[REDACTED]"
#: What a URL's password becomes where it is shown (as httpx's repr of a URL shows it).
SECURE = "[secure]"

# api_key=<value> in a query string, raw or percent-encoded, in any case.
_QUERY_KEY = re.compile(r"(?i)(api_key|api%5fkey)=([^&#\s\"'<>]*)")
# scheme://user:password@ (the password up to the authority's last "@").
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/?#@:]*):([^\s/?#]*)@")

_known_keys: set[str] = set()
# The same, longest first (what `redact` replaces in that order), rebuilt when one is added.
_known_by_length: tuple[str, ...] = ()
_known_lock = threading.Lock()


def _remember(key: str) -> None:
    global _known_by_length
    with _known_lock:
        if key not in _known_keys:
            _known_keys.add(key)
            _known_by_length = tuple(sorted(_known_keys, key=len, reverse=True))


def scrub_url(text: str) -> str:
    """`text` with the password of every URL in it shown as `[secure]`.

    >>> scrub_url("upstream http://alice:pw@127.0.0.1:8000/v1")
    'upstream http://alice:[secure]@127.0.0.1:8000/v1'
    """
    if "@" not in text or "://" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{SECURE}@", text)


def remember_url_password(url: str) -> None:
    """Redact the password of `url` (a base URL) wherever it appears from now on, as the
    API key is: in a URL it is scrubbed anyway, but an error may quote it alone."""
    from urllib.parse import unquote

    match = _URL_PASSWORD.search(url)
    if match is None:
        return
    for password in {match.group(2), unquote(match.group(2))}:
        if len(password) >= 4:  # as for keys: a very short one would turn redaction into noise
            _remember(password)


def redact(text: str, *, also: str | None = None) -> str:
    """`text` with every `api_key=...` value, every URL's password and every key (or base URL
    password) the SDK was given replaced, and `also` (a key of any length, which the caller
    knows is secret) wherever it appears."""
    if also:
        text = text.replace(also, REDACTED)
    text = scrub_url(text)
    lowered = text.lower()
    if "api_key" in lowered or "api%5f" in lowered:
        text = _QUERY_KEY.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    for key in _known_by_length:  # one tuple, replaced whole when a key is added
        if key in text:
            text = text.replace(key, REDACTED)
    return text


class ApiKey:
    """An API key that never shows itself in a repr or str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        # Very short keys would turn redaction into noise ("a" everywhere), and the query
        # pattern already covers URLs.
        if len(value) >= 4:
            _remember(value)

    def reveal(self) -> str:
        """The key itself, for the one place that needs it: the request's query string."""
        return self._value

    def fingerprint(self) -> str:
        """A digest that tells keys apart without holding the key (for per-key state)."""
        return hashlib.sha256(self._value.encode("utf-8", "surrogatepass")).hexdigest()

    def __repr__(self) -> str:
        return f"ApiKey({REDACTED!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("ApiKey", self._value))


class _RedactingFilter(logging.Filter):
    """Rewrites a record's message so no handler ever formats the key into a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_FILTER = _RedactingFilter()
#: A filter acts on the records of its own logger only (not on those its children pass up):
#: every logger of httpx, httpcore and their forks httpx2 and httpcore2 is named.
_HTTP_LOGGERS = tuple(
    f"{package}{part}"
    for package in ("httpcore", "httpcore2")
    for part in ("", ".http11", ".http2", ".connection", ".proxy", ".socks")
)
_LOGGERS = ("httpx", "httpx2", *_HTTP_LOGGERS, "dynaspark_sdk")
#: The loggers that can print a request's URL, for a handler to attach to (`dynaspark --debug`).
HTTP_LOGGER_ROOTS: tuple[str, ...] = ("httpx", "httpx2", "httpcore", "httpcore2")


def install_log_redaction() -> None:
    """Attach the redacting filter to the loggers that may print a URL (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
