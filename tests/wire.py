"""Helpers for reading what went on the wire in respx-mocked tests."""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)


def form_of(request: httpx.Request) -> dict[str, str]:
    """The fields of a url-encoded body."""
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def multipart_of(request: httpx.Request) -> dict[str, dict[str, Any]]:
    """The parts of a multipart body: name -> {"value", "filename", "content_type"}."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        parts[name] = {
            "value": part.get_payload(decode=True),
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
        }
    return parts


def query_of(request: httpx.Request) -> dict[str, str]:
    """The query parameters as a dict (asserting none is repeated)."""
    pairs = parse_qsl(request.url.query.decode(), keep_blank_values=True)
    assert len(pairs) == len({k for k, _ in pairs})
    return dict(pairs)


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


def sse(*payloads: str) -> bytes:
    return b"".join(f"data: {p}\n\n".encode() for p in payloads)


def openai_chunk(text: str) -> str:
    import json

    return json.dumps({"choices": [{"delta": {"content": text}}]})


class PiecesThenFail(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that yields `pieces`, then fails the way a cut connection does (or ends)."""

    def __init__(self, pieces: list[bytes], fail: bool = True) -> None:
        self.pieces = pieces
        self.fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
