"""JSON answers (`{"response": ...}`), and answers without a Content-Type, decided at the end."""

from __future__ import annotations

import json
import time

from dynaspark_sdk._errors import APIStatusError, ResponseValidationError, excerpt
from dynaspark_sdk._service_errors import error_in_answer, read_service_error

from ._base import WholeBodyDecoder

_JSON_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


class JSONAnswerDecoder(WholeBodyDecoder):
    """`application/json`: the whole body is `{"response": "<text>"}`; parsed at `close()`."""

    def __init__(self, content_type: str = "application/json") -> None:
        super().__init__()
        self._content_type = content_type

    def close(self) -> list[str]:
        """Parse the body; return its "response" as one chunk (none when it is empty).

        Raises `ResponseValidationError` when the body is not JSON, not an object, has no string
        "response", or is the service's `{"error": ...}`.
        """
        body = self._take_body()
        answer = _answer_from_json(body, self._content_type)
        self.done = True
        if not answer:
            return []
        self._pieces.append(answer)
        return [answer]


def _answer_from_json(body: bytes, content_type: str) -> str:
    """The "response" string of a JSON answer body, or a ResponseValidationError."""

    def invalid(message: str) -> ResponseValidationError:
        return ResponseValidationError(message, content_type=content_type, body_excerpt=excerpt(body))

    if not body.strip():
        raise invalid('the answer is empty where a JSON object with a string "response" was expected')
    try:
        value = json.loads(body)
    except UnicodeDecodeError as exc:
        raise invalid(f"the answer is not valid JSON: it is not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise invalid(f"the answer is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise invalid("the answer is not valid JSON: it is nested too deeply") from None
    if not isinstance(value, dict):
        raise invalid(
            f'the answer is JSON {_json_type_name(value)} where an object with a string "response" was expected'
        )
    response = value.get("response")
    if isinstance(response, str):
        return response
    error = value.get("error")
    if error is not None:
        raise refusal(error, content_type, body)
    if "response" not in value:
        keys = ", ".join(repr(key) for key in list(value)[:10]) or "none"
        raise invalid(f'the answer\'s JSON object has no "response" (its keys: {keys})')
    raise invalid(f'the answer\'s "response" is {_json_type_name(response)} where a string was expected')


def _json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), "a number")


def refusal(error: object, content_type: str, body: bytes) -> APIStatusError:
    # A text answer is decoded only when its status was not an error, so this is a 2xx (the
    # decoders are not told which one; 200 is by far the likeliest).
    headers = {"content-type": content_type} if content_type else {}
    return error_in_answer(read_service_error(error), status=200, headers=headers, body=body, now=time.time())


class UntypedAnswerDecoder(WholeBodyDecoder):
    """No Content-Type: decided at `close()`, once the whole body is there.

    A JSON object with a string "response" gives that string (like `application/json`); a JSON
    object with an "error" and no "response" raises `ResponseValidationError` (an error must not
    pass for the answer); anything else is plain UTF-8 text.
    """

    def close(self) -> list[str]:
        """The answer: the JSON "response" if the body is such an object, else the body's text."""
        body = self._take_body()
        answer = self._json_answer(body)
        if answer is None:
            answer = body.decode("utf-8", "replace")
        else:
            self.done = True
        if not answer:
            return []
        self._pieces.append(answer)
        return [answer]

    def _json_answer(self, body: bytes) -> str | None:
        if body.lstrip()[:1] != b"{":
            return None
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(value, dict):
            return None
        response = value.get("response")
        if isinstance(response, str):
            return response
        if "response" not in value and value.get("error") is not None:
            raise refusal(value["error"], "", body)
        return None
