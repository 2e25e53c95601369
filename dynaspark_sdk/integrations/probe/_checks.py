"""What the probe checks in each answer (status, content type, body, stream, rate-limit
headers), the error body's shape, the docs' claims and the spec's ASSUMED parts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dynaspark_sdk.sse import EventTooLargeError

from ._report import Row
from ._schema import (
    assumed_markers,
    chat_paths,
    kind_of,
    new_fields,
    resolve,
    schema_problems,
    spec_operation,
    spec_response,
)
from ._wire import Exchange, parse_events, snippet


@attrs.define
class Checker:
    spec: Mapping[str, Any]
    rows: list[Row] = attrs.field(factory=list)

    def add(self, path: str, operation: str, check: str, verdict: str, detail: str = "") -> Row:
        row = Row(path, operation, check, verdict, detail)
        self.rows.append(row)
        return row

    def answer(
        self,
        exchange: Exchange | None,
        operation: str,
        *,
        method: str,
        path: str,
        body: str,
        content_types: Sequence[str] | None = None,
        may_be_absent: bool = False,
    ) -> bool:
        """Rows for one answer that the spec says should be a 200; True when it was one.

        `body` is "json", "stream" or "audio": how the body is checked. With `may_be_absent`
        (a chat path the service used before) a 404 or 405 is "absent", not drift.
        """
        if exchange is None or exchange.status is None:
            detail = exchange.error if exchange is not None and exchange.error else "no answer"
            self.add(path, operation, "status", "failed", detail)
            return False
        spec_op = spec_operation(self.spec, path, method)
        if exchange.status != 200:
            # A rate limit or a server error (Render's 502/503 while it wakes) says nothing of drift.
            verdict = "failed" if exchange.status == 429 or exchange.status >= 500 else "drift"
            if exchange.status in (404, 405) and may_be_absent:
                verdict, detail = "absent", f"{exchange.status}: nothing answers {method.upper()} {path} any more"
            elif exchange.status in (404, 405):
                detail = f"{exchange.status}: nothing answers {method.upper()} {path}, the spec says 200"
            else:
                detail = f"{exchange.status}, the spec says 200: {snippet(exchange)}"
            self.add(path, operation, "status", verdict, detail)
            return False
        self.add(path, operation, "status", "ok", "200")
        response = spec_response(self.spec, spec_op, 200) or {}
        content: Mapping[str, Any] = response.get("content", {})
        allowed = list(content_types or content)
        if exchange.content_type in allowed:
            self.add(path, operation, "content type", "ok", exchange.content_type)
        else:
            shown = exchange.content_type or "none"
            self.add(path, operation, "content type", "drift", f"{shown}, the spec says {' or '.join(allowed)}")
        if body == "json":
            self._json_body(exchange, operation, path, content)
        elif body == "stream":
            self._stream_body(exchange, operation, path)
        else:
            self._audio_body(exchange, operation, path)
        self._rate_limit_headers(exchange, operation, path, response)
        return True

    def _json_body(self, exchange: Exchange, operation: str, path: str, content: Mapping[str, Any]) -> None:
        media: Mapping[str, Any] = content.get("application/json") or next(iter(content.values()), {})
        schema = media.get("schema", {})
        if exchange.content_type == "text/plain" and "text/plain" in content:
            self.add(path, operation, "body", "ok", f"plain text, {len(exchange.body)} bytes")
            return
        try:
            value = json.loads(exchange.body)
        except ValueError:
            self.add(path, operation, "body", "drift", f"not JSON: {snippet(exchange)}")
            return
        problems = schema_problems(self.spec, value, schema)
        if problems:
            self.add(path, operation, "body", "drift", "; ".join(problems))
            return
        extra = new_fields(self.spec, value, schema)
        note = f" (also fields the spec does not name: {', '.join(map(json.dumps, extra))})" if extra else ""
        fields = ", ".join(json.dumps(name) for name in value) if isinstance(value, dict) else kind_of(value)
        self.add(path, operation, "body", "ok", f"fits the spec: {fields}{note}")

    def _stream_body(self, exchange: Exchange, operation: str, path: str) -> None:
        try:
            events = parse_events(exchange.body)
        except EventTooLargeError as too_large:
            self.add(path, operation, "stream", "drift", str(too_large))
            return
        if not events:
            self.add(path, operation, "stream", "drift", "no events in the stream")
            return
        done = [i for i, data in enumerate(events) if data.strip() == "[DONE]"]
        kinds = {_payload_kind(data) for data in events if data.strip() != "[DONE]"}
        if not done:
            self.add(path, operation, "stream", "drift", f"{len(events)} events and no data: [DONE] at the end")
        elif done[0] != len(events) - 1:
            self.add(path, operation, "stream", "drift", f"events after data: [DONE] ({len(events)} events)")
        elif "other JSON" in kinds:
            self.add(
                path, operation, "stream", "drift", "events whose JSON is neither an OpenAI-style chunk nor a response"
            )
        else:
            shown = ", ".join(sorted(kinds)) or "no content"
            self.add(path, operation, "stream", "ok", f"{len(events) - 1} events ({shown}), then data: [DONE]")

    def _audio_body(self, exchange: Exchange, operation: str, path: str) -> None:
        data = exchange.body
        if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
            self.add(path, operation, "body", "ok", f"MP3, {len(data)} bytes")
        else:
            self.add(path, operation, "body", "drift", f"not MP3 ({len(data)} bytes, starting {data[:8]!r})")

    def _rate_limit_headers(self, exchange: Exchange, operation: str, path: str, response: Mapping[str, Any]) -> None:
        names = list(response.get("headers", {}))
        if not names:
            return
        missing = [name for name in names if name.lower() not in exchange.headers]
        bad = [
            name
            for name in names
            if name.lower() in exchange.headers and not exchange.headers[name.lower()].strip().isdigit()
        ]
        if missing or bad:
            parts = [f"no {name}" for name in missing] + [f"{name} is not a whole number" for name in bad]
            self.add(path, operation, "rate-limit headers", "drift", "; ".join(parts))
        else:
            shown = ", ".join(f"{name.split('-')[-1].lower()} {exchange.headers[name.lower()]}" for name in names)
            self.add(path, operation, "rate-limit headers", "ok", shown)


def _payload_kind(data: str) -> str:
    try:
        value = json.loads(data)
    except ValueError:
        return "plain text"
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return "OpenAI-style chunks"
    if isinstance(value, dict) and "response" in value:
        return "response objects"
    return "other JSON"


def _model_names(value: Any) -> list[str] | None:
    """Model names from a listing: a list of names or of objects with a name/id, or an object
    holding such a list under `models` or `data`."""
    if isinstance(value, dict):
        for key in ("models", "data"):
            if isinstance(value.get(key), list):
                return _model_names(value[key])
        return None
    if not isinstance(value, list):
        return None
    names: list[str] = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name") or item.get("id"), str):
            names.append(str(item.get("name") or item.get("id")))
        else:
            return None
    return names


def describe(result: object) -> str:
    for name in ("text", "status", "url"):
        value = getattr(result, name, None)
        if isinstance(value, str):
            return f"{type(result).__name__}.{name} = {value[:60]!r}"
    data = getattr(result, "data", None)
    if isinstance(data, bytes):
        return f"{type(result).__name__} with {len(data)} bytes"
    if isinstance(result, str):
        return f"stream text = {result[:60]!r}"
    return type(result).__name__


def json_member(exchange: Exchange | None, name: str) -> Any:
    if exchange is None or exchange.status != 200:
        return None
    try:
        value = json.loads(exchange.body)
    except ValueError:
        return None
    return value.get(name) if isinstance(value, dict) else None


_ERROR_CLAIM = 'error {"code", "message", "details"}'


def check_error_shape(checker: Checker, spec: Mapping[str, Any], exchange: Exchange | None, path: str) -> None:
    operation = "bad request"
    if exchange is None or exchange.status is None:
        checker.add(path, operation, "status", "failed", exchange.error if exchange and exchange.error else "no answer")
        return
    if exchange.status != 400:
        verdict = "failed" if exchange.status == 429 or exchange.status >= 500 else "drift"
        checker.add(path, operation, "status", verdict, f"{exchange.status} for width=1, the spec says 400")
        checker.add(path, "docs claim", _ERROR_CLAIM, "not checked", "no 400 answer")
        return
    checker.add(path, operation, "status", "ok", "400 for width=1")
    response = spec_response(spec, spec_operation(spec, path, "get"), exchange.status)
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema")
    nested: bool | None = None
    try:
        value = json.loads(exchange.body)
    except ValueError:
        checker.add(path, operation, "error body", "drift", f"not JSON: {snippet(exchange)}")
    else:
        problems = schema_problems(spec, value, schema) if schema is not None else []
        if problems:
            checker.add(path, operation, "error body", "drift", "; ".join(problems))
        else:
            checker.add(path, operation, "error body", "ok", f"fits the spec: {snippet(exchange)}")
        if isinstance(value, dict) and "error" in value:
            nested = isinstance(value["error"], dict)
    checker.add(
        path,
        "docs claim",
        _ERROR_CLAIM,
        "not checked" if nested is None else "confirmed" if nested else "contradicted",
        "no error object"
        if nested is None
        else "the error is an object"
        if nested
        else f"the error is {kind_of(value['error'])}",
    )


def check_listing(checker: Checker, exchange: Exchange | None, path: str, spec_enum: Sequence[str] | None) -> None:
    check = "lists models"
    if exchange is None or exchange.status is None:
        detail = exchange.error if exchange is not None and exchange.error else "not sent: the request budget is spent"
        checker.add(path, "docs claim", check, "not checked", detail)
        return
    if exchange.status in (404, 405):
        checker.add(path, "docs claim", check, "absent", f"{exchange.status}")
        return
    names: list[str] | None = None
    if exchange.status == 200:
        try:
            names = _model_names(json.loads(exchange.body))
        except ValueError:
            names = None
    if names is None:
        checker.add(
            path, "docs claim", check, "contradicted", f"{exchange.status}, no list of models: {snippet(exchange)}"
        )
        return
    detail = ", ".join(names) or "an empty list"
    if spec_enum is not None:
        extra = [n for n in names if n not in spec_enum]
        lacking = [n for n in spec_enum if n not in names]
        if extra or lacking:
            detail += (
                f" (the spec lacks {', '.join(extra) or 'none'}; the service lacks {', '.join(lacking) or 'none'})"
            )
        else:
            detail += " (the same as the spec)"
    else:
        detail += " (the spec lists no text models)"
    checker.add(path, "docs claim", check, "confirmed", detail)


def check_assumptions(checker: Checker, spec: Mapping[str, Any], image_model: Any) -> None:
    """A row for each ASSUMED paragraph of the spec: what the checks above made of it."""

    def verdict_of(path: str, operation: str, check: str) -> tuple[str, str] | None:
        for row in checker.rows:
            if row.path == path and row.operation == operation and row.check == check:
                if row.verdict == "ok":
                    return "confirmed", row.detail
                if row.verdict in ("drift", "absent"):
                    return "contradicted", row.detail
                return None
        return None

    for pointer, paragraph in assumed_markers(spec):
        location = _location(pointer)
        found: tuple[str, str] | None = None
        claim: Row | None
        lower = paragraph.lower()
        if pointer.startswith("/paths/~1api~1generate_response/get/responses/200") and "stream" in lower:
            found = verdict_of("/api/generate_response", "text streamed", "stream")
        elif pointer.startswith("/paths/~1api~1generate_response/get/responses/200") and "text/plain" in lower:
            claim = next((r for r in checker.rows if r.operation == "text" and r.check == "content type"), None)
            if claim is not None:
                found = ("confirmed" if claim.detail == "text/plain" else "contradicted", f"answered {claim.detail}")
        elif pointer.startswith("/paths/~1status/"):
            found = verdict_of("/status", "status", "body")
        elif pointer.startswith("/components/schemas/ImageModel") and image_model is not None:
            default = resolve(spec, spec["components"]["schemas"]["ImageModel"]).get("default")
            found = ("confirmed" if image_model == default else "contradicted", f"the service chose {image_model}")
        elif pointer.startswith("/paths/") and pointer.endswith("/post/description"):
            path = location.split(" ")[0]
            status_row = verdict_of(path, "chat" if path != chat_paths(spec)[0] else "chat with image", "status")
            if status_row is not None:
                found = status_row[0], f"{path} answers" if status_row[0] == "confirmed" else status_row[1]
        elif pointer.startswith("/components/schemas/") and "Error" in pointer.split("/")[3] and "reset" not in lower:
            # The error body's shape (the reset time inside it is not something one bad request shows).
            claim = next((r for r in checker.rows if r.check == _ERROR_CLAIM), None)
            if claim is not None and claim.verdict in ("confirmed", "contradicted"):
                found = claim.verdict, claim.detail
        verdict, detail = found or ("not checked", "the probe has no request that shows it")
        checker.add(location, "ASSUMED", _first_words(paragraph), verdict, detail)


def _location(pointer: str) -> str:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
    if parts and parts[0] == "paths" and len(parts) > 1:
        return parts[1]
    if len(parts) > 2 and parts[0] == "components":
        return f"{parts[1]}.{parts[2]}"
    return pointer


def _first_words(paragraph: str) -> str:
    """The assumption in a few words: the sentence that holds the marker, without it."""
    sentences = re.split(r"(?<=\.)\s+", paragraph)
    sentence = next(s for s in sentences if "ASSUMED" in s)
    head, _, tail = sentence.partition("ASSUMED")
    if head.strip(" (") == "":
        text = re.sub(r"^\s*(\([^)]*\))?\s*:?\s*", "", tail)
    else:
        text = re.sub(r"\s*\(ASSUMED[^)]*\)", "", sentence).replace("ASSUMED:", "").replace("ASSUMED", "")
    text = re.sub(r"[`\"]", "", " ".join(text.split()))
    return text if len(text) <= 48 else text[:45].rsplit(" ", 1)[0] + "..."
