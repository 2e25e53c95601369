"""Reading HTML form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`."""

from __future__ import annotations

import email.message
import email.utils
import urllib.parse

import attrs

__all__ = ["FormError", "UploadedFile", "parse_form"]


class FormError(ValueError):
    """The body cannot be read as a form; the message says why (it is sent back as a 400)."""


@attrs.frozen
class UploadedFile:
    """One file part of a multipart form, as it arrived."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        return len(self.data)


Fields = list[tuple[str, str]]


def parse_form(content_type: str | None, body: bytes) -> tuple[Fields, list[UploadedFile]]:
    """The fields (in order) and uploaded files of a form body; FormError if it is not one."""
    media_type, params = _parse_header_value(content_type or "")
    if media_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FormError("form body is not UTF-8") from error
        return urllib.parse.parse_qsl(text, keep_blank_values=True), []
    if media_type == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise FormError("multipart/form-data without a boundary")
        return _parse_multipart(body, boundary.encode("latin-1"))
    shown = media_type or "none"
    raise FormError(f"unsupported content type {shown}: send multipart/form-data or application/x-www-form-urlencoded")


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """A header's main value (lower-cased) and its parameters, RFC 2231 forms included."""
    message = email.message.Message()
    message["x"] = value
    params = message.get_params(header="x") or []
    if not params:
        return "", {}
    main = params[0][0].strip().lower()
    rest: dict[str, str] = {}
    for key, raw in params[1:]:
        rest[key.lower()] = email.utils.collapse_rfc2231_value(raw)
    return main, rest


def _unescape_form_name(name: str) -> str:
    # Browsers and httpx escape these three in form-data names and filenames (WHATWG rules).
    return name.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


def _parse_multipart(body: bytes, boundary: bytes) -> tuple[Fields, list[UploadedFile]]:
    delimiter = b"\r\n--" + boundary
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2:
        raise FormError("multipart body does not contain its boundary")
    fields: Fields = []
    files: list[UploadedFile] = []
    closed = False
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            closed = True
            break
        head, separator, content = piece.partition(b"\r\n\r\n")
        if not separator:
            raise FormError("multipart part without a blank line after its headers")
        headers = _part_headers(head)
        disposition, params = _parse_header_value(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in params:
            raise FormError("multipart part without Content-Disposition: form-data; name=...")
        name = _unescape_form_name(params["name"])
        part_type = headers.get("content-type")
        filename = params.get("filename")
        if filename is not None or (part_type is not None and not part_type.startswith("text/plain")):
            files.append(
                UploadedFile(
                    field=name,
                    filename=None if filename is None else _unescape_form_name(filename),
                    content_type=part_type,
                    data=content,
                )
            )
        else:
            try:
                fields.append((name, content.decode("utf-8")))
            except UnicodeDecodeError as error:
                raise FormError(f"form field {name} is not UTF-8") from error
    if not closed:
        raise FormError("multipart body ends without its closing boundary")
    return fields, files


def _part_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    # The piece starts right after the boundary: the rest of that line is padding.
    for line in head.split(b"\r\n")[1:]:
        if not line.strip():
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            raise FormError("malformed multipart part header")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("utf-8", "replace")
    return headers
