"""What a user gives as an image, checked and normalised into the one upload the chat
endpoint takes: the pure half of the media input. No I/O (reading files and streams is in
`_media_files.py`, whose `prepare_media` is the entry point).

`POST /generate_response` takes at most one image, as the multipart `file` part, with a
filename and an image content type. Every form gpt4free's provider accepted (bytes, a path, a
`data:` URI, an open binary file, a PIL image, `(data, filename)` pairs and lists of them)
plus http(s) URLs is accepted, and everything that can be is checked before any request:
the format (from the magic bytes, never from the filename), emptiness, the size cap, and that
there is exactly one image. Every refusal is a `MediaError` (a `ValueError`).

    >>> upload = image_from_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    >>> upload.filename, upload.content_type, upload.size
    ('image.png', 'image/png', 16)
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import BinaryIO, Final, Protocol, cast

import attrs

from ._errors import MediaError
from ._generated import spec_values
from ._image_types import detect_image_type

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ImageSource",
    "ImageUpload",
    "RemoteImage",
    "detect_image_type",
    "image_from_bytes",
    "image_from_url",
    "redact_url",
]

DEFAULT_MAX_BYTES: Final[int] = spec_values.MAX_IMAGE_BYTES
"""The largest image the SDK sends, from the spec (20 MB)."""

# Enough for every signature below, including RIFF????WEBP.
_HEAD_BYTES: Final = 12
# Streams without a real file behind them are read into memory in pieces this big, so an
# over-size stream costs at most about max_bytes + this before it is refused.
_STREAM_CHUNK_BYTES: Final = 1024 * 1024
_SHOWN_CHARS: Final = 120

_EXTENSIONS: Final = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_ACCEPTED: Final = "JPEG, PNG, GIF or WebP"

# What other common files start with, so a refusal can say what was actually given.
_OTHER_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "a ZIP archive (or DOCX/XLSX/ODT)"),
    (b"\x1f\x8b", "gzip data"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
    (b"8BPS", "a Photoshop PSD"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg media"),
    (b"fLaC", "FLAC audio"),
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
)


def _looks_like(head: bytes) -> str | None:
    """A guess at what a non-image starts as, for error messages."""
    for signature, kind in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC/HEIF"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        return "an MP4/QuickTime file"
    if head.startswith(b"RIFF"):
        return {b"WAVE": "WAV audio", b"AVI ": "AVI video"}.get(head[8:12], "a RIFF file")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<svg", b"<?xml")):
        return "SVG/XML"
    if stripped.startswith((b"<!doctype", b"<html")):
        return "HTML"
    if head and all(byte in b"\t\n\r" or 0x20 <= byte < 0x7F for byte in head):
        return "text"
    return None


def _require_image_type(head: bytes, source: str) -> str:
    content_type = detect_image_type(head)
    if content_type is not None:
        return content_type
    kind = _looks_like(head)
    what = f"it looks like {kind}, not" if kind else "it is not"
    first_bytes = head[:8].hex(" ")
    raise MediaError(f"cannot send the image from {source}: {what} {_ACCEPTED} (first bytes: {first_bytes})")


def _check_size(size: int, max_bytes: int, source: str) -> None:
    if size == 0:
        raise MediaError(f"the image from {source} is empty")
    if size > max_bytes:
        raise MediaError(f"the image from {source} is {size:,} bytes, over the {max_bytes:,}-byte limit")


def _check_max_bytes(max_bytes: int) -> None:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise MediaError(f"max_bytes must be a positive int, got {max_bytes!r}")


def _shown(text: str) -> str:
    """`text` quoted and shortened so a message stays readable."""
    shown = repr(text)
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 1] + "…"


def _default_filename(content_type: str) -> str:
    return f"image.{_EXTENSIONS[content_type]}"


def filename_from_url(url: str, data: bytes) -> str:
    """A file name for an image downloaded from `url`: its last path segment, with the
    extension of what `data` is when it lacks one; "image.<ext>" when the URL names nothing
    usable (no segment, a dot file, a separator or NUL once unquoted).

        >>> filename_from_url("https://x.test/images/3f2a.png?t=1", b"\\x89PNG\\r\\n\\x1a\\n")
        '3f2a.png'
    """
    from urllib.parse import unquote, urlsplit

    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    content_type = detect_image_type(data[:_HEAD_BYTES])
    extension = _EXTENSIONS.get(content_type or "", "")
    if not name or name.startswith(".") or any(char in name for char in "/\\\0"):
        return f"image.{extension}" if extension else "image"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension and suffix not in ({"jpg", "jpeg"} if extension == "jpg" else {extension}):
        name = f"{name}.{extension}"
    return name


def redact_url(url: str) -> str:
    """The URL without credentials, query or fragment: those may hold keys and must not reach messages."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return "<URL>"
    for mark in "?#":
        rest = rest.split(mark, 1)[0]
    authority, slash, path = rest.partition("/")
    authority = authority.rpartition("@")[2]
    shown = f"{scheme}://{authority}{slash}{path}"
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 1] + "…"


# --- where an upload's bytes come from -------------------------------------------------------


@attrs.frozen
class _BytesSource:
    data: bytes

    def open(self) -> BinaryIO:
        # BytesIO over bytes shares the buffer until written to: no copy.
        return io.BytesIO(self.data)


class ImageSource(Protocol):
    """Where an upload's bytes come from: memory here, a file or stream (`_media_files.py`)."""

    def open(self) -> BinaryIO: ...


@attrs.frozen
class ImageUpload:
    """One checked image, ready to go as the multipart `file` part of `POST /generate_response`.

    `filename` is never empty: the user's, else the path's name, else `image.<ext>`.
    `content_type` comes from the magic bytes. `size` is the exact number of bytes `open()` yields.

        >>> upload = image_from_bytes(b"GIF89a" + bytes(10), "cat.gif")
        >>> files = {"file": (upload.filename, upload.open(), upload.content_type)}
    """

    filename: str
    content_type: str
    size: int
    _source: ImageSource = attrs.field(repr=False, alias="source")

    def open(self) -> BinaryIO:
        """A fresh reader at the start of the image; each call gives a new one (a retry re-sends).

        The caller closes it. For a file on disk it reads at most `size` bytes in small chunks,
        reports `size` as its length (seek(0, SEEK_END)), rewinds with seek(0), and raises
        MediaError while reading if the file shrank or grew since it was checked.
        """
        return self._source.open()

    def read(self) -> bytes:
        """The whole image in memory: for small images, the emulator and tests."""
        if isinstance(self._source, _BytesSource):
            return self._source.data
        with self.open() as reader:
            return reader.read()


@attrs.frozen
class RemoteImage:
    """An http(s) URL given as the image; the client fetches it (through its own httpx client,
    proxy and timeouts) and then calls `to_upload` with the bytes.

    `filename` is the user's, else the last segment of the URL's path, else None. The repr hides
    the URL's credentials, query and fragment.
    """

    url: str = attrs.field(repr=lambda url: repr(redact_url(url)))
    filename: str | None

    def to_upload(self, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ImageUpload:
        """Check the fetched bytes like any other image (format, emptiness, size cap)."""
        source = f"URL {redact_url(self.url)}"
        return image_from_bytes(data, self.filename, max_bytes=max_bytes, source=source)


# --- turning each accepted form into an upload -------------------------------------------------


def image_from_bytes(
    data: bytes | bytearray | memoryview,
    filename: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    source: str = "bytes",
) -> ImageUpload:
    """Check image bytes and wrap them as an upload; `source` says where they came from in errors.

    Raises MediaError if the bytes are empty, larger than `max_bytes`, or not JPEG/PNG/GIF/WebP.

        >>> image_from_bytes(b"\\xff\\xd8\\xff" + bytes(5)).filename
        'image.jpg'
    """
    _check_max_bytes(max_bytes)
    # A copy of a mutable buffer, so the upload cannot change after it was checked.
    data = data if isinstance(data, bytes) else bytes(data)
    _check_size(len(data), max_bytes, source)
    content_type = _require_image_type(data[:_HEAD_BYTES], source)
    return ImageUpload(
        filename=filename or _default_filename(content_type),
        content_type=content_type,
        size=len(data),
        source=_BytesSource(data),
    )


def is_image_uri(text: str) -> bool:
    """Whether a string given as an image is a URI (`data:`, `http://` or `https://`, in any
    case) rather than a path."""
    return text[:8].lower().startswith(("data:", "http://", "https://"))


def image_from_url(
    url: str, filename: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ImageUpload | RemoteImage:
    """The image a `data:` URI holds (decoded and checked) or an http(s) URL names (a
    `RemoteImage` the client fetches). No I/O: any other string, a path say, is refused, so an
    OpenAI-style `image_url` part never reads a local file (give a file as `media=`).

        >>> image_from_url("data:image/gif;base64,R0lGODdhAQABAAAAACw=").content_type
        'image/gif'
    """
    if url[:5].lower() == "data:":
        return image_from_bytes(_decode_data_uri(url), filename, max_bytes=max_bytes, source="a data: URI")
    if is_image_uri(url):
        return _remote_image(url, filename)
    raise MediaError(
        f"an image URL must be a data: URI or an http(s) URL, not {_shown(url)}: give an image file as media="
    )


def _is_pair(item: object) -> bool:
    return (
        isinstance(item, tuple)
        and len(item) == 2
        and (item[1] is None or isinstance(item[1], str))
        and not isinstance(item[0], list | tuple)
    )


def _media_items(media: object) -> list[tuple[object, str | None]]:
    if media is None:
        return []
    if _is_pair(media):
        return [cast(tuple[object, str | None], media)]
    if not isinstance(media, list | tuple):
        return [(media, None)]
    items: list[tuple[object, str | None]] = []
    for item in media:
        if item is None:
            continue
        if _is_pair(item):
            items.append(cast(tuple[object, str | None], item))
        elif isinstance(item, list | tuple):
            raise MediaError(
                f"a media list item must be an image or a (data, filename) pair with a str or None "
                f"filename, got a {type(item).__name__} of {len(item)}"
            )
        else:
            items.append((item, None))
    return items


def _decode_data_uri(uri: str) -> bytes:
    """The bytes of a `data:[<type>][;name=value]*[;base64],<data>` URI (RFC 2397)."""
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        raise MediaError("bad data: URI: no ',' between the header and the data")
    params = header.split(";")
    is_base64 = len(params) > 1 and params[-1].strip().lower() == "base64"
    if is_base64:
        params = params[:-1]
    media_type = params[0].strip()
    if media_type and "/" not in media_type:
        raise MediaError(f"bad data: URI: media type {_shown(media_type)} is not type/subtype")
    for param in params[1:]:
        if "=" not in param:
            raise MediaError(f"bad data: URI: parameter {_shown(param)} is not name=value")
    try:
        raw = _unquote_to_bytes(payload)
    except UnicodeEncodeError as exc:
        raise MediaError("bad data: URI: the data is not valid text") from exc
    if not is_base64:
        return raw
    compact = raw.translate(None, b" \t\r\n\f\v")
    if len(compact) % 4 == 1:
        raise MediaError("bad data: URI: the base64 data has an impossible length")
    compact += b"=" * (-len(compact) % 4)
    if b"-" in compact or b"_" in compact:
        compact = compact.translate(bytes.maketrans(b"-_", b"+/"))
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error as exc:
        raise MediaError(f"bad data: URI: the base64 data is invalid ({exc})") from exc


def _unquote_to_bytes(text: str) -> bytes:
    from urllib.parse import unquote_to_bytes

    # surrogatepass would let lone surrogates through as garbage; strict refuses them.
    return unquote_to_bytes(text.encode("utf-8"))


def _remote_image(url: str, filename: str | None) -> RemoteImage:
    # httpx is imported here, not at module level, to keep this module's import light;
    # validating with it means the URL the client later fetches cannot be refused by httpx.
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise MediaError(f"the image URL {redact_url(url)} is not a valid URL") from exc
    if not parsed.host:
        raise MediaError(f"the image URL {redact_url(url)} has no host")
    last_segment = parsed.path.rsplit("/", 1)[-1]
    return RemoteImage(url=url, filename=filename or last_segment or None)


class _PILImage(Protocol):
    mode: str
    size: tuple[int, int]

    def save(self, fp: BinaryIO, format: str) -> None: ...
    def convert(self, mode: str) -> _PILImage: ...


def _is_pil_image(obj: object) -> bool:
    # Pillow is optional: recognise its images without importing it.
    module = type(obj).__module__
    from_pillow = module == "PIL" or module.startswith("PIL.")
    return from_pillow and callable(getattr(obj, "save", None)) and hasattr(obj, "mode")


def _from_pil_image(obj: object, filename: str | None, max_bytes: int) -> ImageUpload:
    image = cast(_PILImage, obj)
    buffer = io.BytesIO()
    try:
        try:
            image.save(buffer, format="PNG")
        except (OSError, ValueError, KeyError):
            # Modes PNG cannot hold (CMYK, YCbCr, HSV, ...) go through RGBA.
            buffer = io.BytesIO()
            image.convert("RGBA").save(buffer, format="PNG")
    except Exception as exc:
        raise MediaError(
            f"cannot encode the PIL image (mode {getattr(image, 'mode', '?')}, size "
            f"{getattr(image, 'size', '?')}) as PNG: {exc}"
        ) from exc
    return image_from_bytes(
        buffer.getvalue(), filename or "image.png", max_bytes=max_bytes, source="a PIL image (encoded as PNG)"
    )
