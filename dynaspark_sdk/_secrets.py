"""Keeping the API key out of every text a user or a log can see.

The key travels as the `api_key` query parameter, so any URL holds it. httpx logs each
request's full URL at INFO; `install_log_redaction()` puts a filter on httpx's and
httpcore's loggers (and ours) that rewrites such records before any handler sees them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

__all__ = ["REDACTED", "ApiKey", "install_log_redaction", "redact"]

REDACTED = "[REDACTED]"

# api_key=<value> in a query string, raw or percent-encoded, in any case.
_QUERY_KEY = re.compile(r"(?i)(api_key|api%5fkey)=([^&#\s\"'<>]*)")

_known_keys: set[str] = set()
_known_lock = threading.Lock()


def _remember(key: str) -> None:
    with _known_lock:
        _known_keys.add(key)


def redact(text: str, *, also: str | None = None) -> str:
    """`text` with every `api_key=...` value and every key the SDK was given replaced, and
    `also` (a key of any length, which the caller knows is secret) wherever it appears."""
    if also:
        text = text.replace(also, REDACTED)
    if "api_key" in text.lower() or "api%5f" in text.lower():
        text = _QUERY_KEY.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    with _known_lock:
        keys = sorted(_known_keys, key=len, reverse=True)
    for key in keys:
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
_LOGGERS = ("httpx", "httpcore", "httpcore.http11", "httpcore.connection", "httpcore.proxy", "dynaspark_sdk")


def install_log_redaction() -> None:
    """Attach the redacting filter to the loggers that may print a URL (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
