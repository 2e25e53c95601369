"""Turn whatever a user gives as an image into the one upload the chat endpoint takes.

`POST /generate_response` takes at most one image, as the multipart `file` part, with a
filename and an image content type. `prepare_media` accepts every form gpt4free's provider
accepted (bytes, a path, a `data:` URI, an open binary file, a PIL image, `(data, filename)`
pairs and lists of them) plus http(s) URLs, and checks everything it can before any request:
the format (from the magic bytes, never from the filename), emptiness, the size cap, and that
there is exactly one image. Every refusal is a `MediaError` (a `ValueError`).

No network I/O happens here. Paths and real files are not read into memory: `ImageUpload.open()`
streams them in small chunks and fails loudly if the file changed size in the meantime.

    >>> upload = prepare_media(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    >>> upload.filename, upload.content_type, upload.size
    ('image.png', 'image/png', 16)
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import stat
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Protocol, cast

import attrs

from ._errors import MediaError
from ._generated import spec_values

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ImageUpload",
    "RemoteImage",
    "detect_image_type",
    "image_from_bytes",
    "prepare_media",
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


def detect_image_type(head: bytes) -> str | None:
    """The content type of an image the service accepts, from its first bytes; None for anything else.

    Only the first 12 bytes matter. The four accepted formats are the ones gpt4free's provider
    recognised:

        >>> detect_image_type(b"\\xff\\xd8\\xff\\xe0")
        'image/jpeg'
        >>> detect_image_type(b"RIFF\\x00\\x00\\x00\\x00WEBPVP8 ")
        'image/webp'
        >>> detect_image_type(b"%PDF-1.7") is None
        True
    """
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None


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


class _Seekable(Protocol):
    def fileno(self) -> int: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def read(self, size: int = ..., /) -> bytes: ...


def _read_at(file: _Seekable, offset: int, size: int, source: str) -> bytes:
    """Up to `size` bytes of a real file at `offset`.

    pread reads the file on disk without moving the file object's position and without going
    through its read buffer: several readers over one user's file do not disturb each other or
    the user, and a file that changed on disk is seen as it is now, not as a stale buffer.
    """
    try:
        if hasattr(os, "pread"):
            return os.pread(file.fileno(), size, offset)
        # No pread (Windows): seek before every read, for the same independence of readers.
        file.seek(offset)
        return file.read(size)
    except (OSError, ValueError) as exc:
        raise MediaError(f"cannot read the image from {source}: {exc}") from exc


class _FileRegion(io.RawIOBase):
    """Bytes [start, start + size) of a file, as a seekable stream of exactly `size` bytes.

    It has no `fileno()`, so httpx measures it with seek(0, SEEK_END) (= size) and sends a
    Content-Length that matches what is read. If the file turns out shorter (it shrank) or still
    has bytes after the region (it grew), reading raises MediaError instead of sending a body
    that is not the image that was checked.
    """

    def __init__(self, file: _Seekable, *, start: int, size: int, owns_file: bool, source: str) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._size = size
        self._owns_file = owns_file
        self._source = source
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._position + offset
        elif whence == os.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size:
            if self._position == self._size:
                self._refuse_if_grown()
            return 0
        wanted = min(len(view), self._size - self._position)
        chunk = self._read_at(self._start + self._position, wanted)
        if not chunk:
            raise MediaError(
                f"the image from {self._source} ended after {self._position:,} of {self._size:,} bytes: "
                "the file changed while it was being sent"
            )
        view[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def _refuse_if_grown(self) -> None:
        if self._read_at(self._start + self._size, 1):
            raise MediaError(
                f"the image from {self._source} grew past its {self._size:,} bytes "
                "while it was being sent: the file changed"
            )

    def _read_at(self, offset: int, size: int) -> bytes:
        return _read_at(self._file, offset, size, self._source)

    def close(self) -> None:
        if not self.closed:
            try:
                if self._owns_file:
                    cast(BinaryIO, self._file).close()
            finally:
                super().close()


@attrs.frozen
class _BytesSource:
    data: bytes

    def open(self) -> BinaryIO:
        # BytesIO over bytes shares the buffer until written to: no copy.
        return io.BytesIO(self.data)


@attrs.frozen
class _PathSource:
    path: str
    size: int
    source: str

    def open(self) -> BinaryIO:
        try:
            file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - owned and closed by the reader
        except OSError as exc:
            raise MediaError(f"cannot open the image from {self.source}: {exc.strerror or exc}") from exc
        try:
            now = os.fstat(file.fileno()).st_size
            if now != self.size:
                raise MediaError(
                    f"the image from {self.source} is now {now:,} bytes, not the {self.size:,} bytes "
                    "it had when it was prepared"
                )
        except BaseException:
            file.close()
            raise
        region = _FileRegion(file, start=0, size=self.size, owns_file=True, source=self.source)
        return io.BufferedReader(region)


@attrs.frozen
class _FileObjectSource:
    file: _Seekable
    start: int
    size: int
    source: str

    def open(self) -> BinaryIO:
        if getattr(self.file, "closed", False):
            raise MediaError(f"cannot read the image from {self.source}: the file object was closed")
        _flush(self.file, self.source)
        region = _FileRegion(self.file, start=self.start, size=self.size, owns_file=False, source=self.source)
        return io.BufferedReader(region)


_ImageSource = _BytesSource | _PathSource | _FileObjectSource


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
    _source: _ImageSource = attrs.field(repr=False, alias="source")

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


def prepare_media(media: object, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ImageUpload | RemoteImage | None:
    """The one image to send with a chat request, checked; None when there is none.

    `media` may be None or an empty list/tuple (no image); bytes, bytearray or memoryview;
    a path (str or os.PathLike; a str starting with `data:`, `http://` or `https://`, in any
    case, is a URI instead); a `data:` URI (base64 or percent-encoded; its declared type is
    ignored, the bytes decide); an http(s) URL (a `RemoteImage` the client fetches); an open
    binary file or stream; a PIL image (always sent as PNG, which is lossless for every mode:
    re-encoding a JPEG as JPEG would lose quality again). Any of these may come as a
    `(data, filename)` tuple whose filename is a str or None, and either may come in a list or
    tuple, as gpt4free took media; None items in a list are skipped. Only one image may be given.

    Paths and seekable real files are not read here beyond their first bytes; the upload
    streams them later, from the file's position at this call, without moving the user's file
    object. Other streams are read now, at most `max_bytes` + 1 bytes.

    Raises MediaError, before anything is sent, for: another format, empty data, a missing
    path, a directory, more than `max_bytes`, an unsupported type, more than one image, a bad
    `data:` URI or URL.

        >>> prepare_media([(b"GIF87a" + bytes(6), "a.gif")]).filename
        'a.gif'
        >>> prepare_media("https://example.com/cat.png?size=2")
        RemoteImage(url='https://example.com/cat.png', filename='cat.png')
    """
    _check_max_bytes(max_bytes)
    items = _media_items(media)
    if not items:
        return None
    if len(items) > 1:
        hint = ""
        if isinstance(media, tuple) and len(media) == 2:
            hint = " (a (data, filename) pair needs a str or None filename)"
        raise MediaError(f"Dynaspark takes one image per request, got {len(items)}{hint}")
    data, filename = items[0]
    return _prepare_one(data, filename, max_bytes)


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


def _prepare_one(data: object, filename: str | None, max_bytes: int) -> ImageUpload | RemoteImage:
    filename = filename or None
    if filename is not None:
        try:
            filename.encode("utf-8")
        except UnicodeEncodeError as error:
            raise MediaError(
                f"the image's filename holds a lone surrogate at position {error.start}, which cannot be sent"
            ) from None
    if data is None:
        raise MediaError("a (data, filename) pair has no data (None)")
    if isinstance(data, bytes | bytearray | memoryview):
        return image_from_bytes(bytes(data), filename, max_bytes=max_bytes)
    if isinstance(data, str):
        lowered = data[:8].lower()
        if lowered.startswith("data:"):
            decoded = _decode_data_uri(data)
            return image_from_bytes(decoded, filename, max_bytes=max_bytes, source="a data: URI")
        if lowered.startswith(("http://", "https://")):
            return _remote_image(data, filename)
        return _from_path(data, filename, max_bytes)
    if isinstance(data, os.PathLike):
        return _from_path(os.fsdecode(data), filename, max_bytes)
    if _is_pil_image(data):
        return _from_pil_image(data, filename, max_bytes)
    if isinstance(data, io.TextIOBase):
        raise MediaError(f"{type(data).__name__} is a text-mode file: open the image with 'rb'")
    if callable(getattr(data, "read", None)):
        return _from_stream(data, filename, max_bytes)
    raise MediaError(
        f"cannot send a {type(data).__module__}.{type(data).__qualname__} as an image: give bytes, a path, "
        "a data: URI, an http(s) URL, an open binary file or a PIL image"
    )


def _from_path(path: str, filename: str | None, max_bytes: int) -> ImageUpload:
    if not path:
        raise MediaError("the image path is an empty string")
    source = f"file {_shown(path)}"
    try:
        file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below on every path
    except FileNotFoundError as exc:
        raise MediaError(f"no such image file: {_shown(path)}") from exc
    except IsADirectoryError as exc:
        raise MediaError(f"{_shown(path)} is a directory, not an image file") from exc
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MediaError(f"cannot open the image file {_shown(path)}: {reason}") from exc
    name = filename or os.path.basename(path) or None
    with file:
        try:
            status = os.fstat(file.fileno())
            if stat.S_ISDIR(status.st_mode):
                raise MediaError(f"{_shown(path)} is a directory, not an image file")
            if not stat.S_ISREG(status.st_mode):
                # A pipe or device has no size to announce: read it, capped, like a stream.
                data = _read_capped(file, max_bytes, source)
                return image_from_bytes(data, name, max_bytes=max_bytes, source=source)
            size = status.st_size
            _check_size(size, max_bytes, source)
            head = file.read(_HEAD_BYTES) or b""
        except OSError as exc:
            raise MediaError(f"cannot read the image from {source}: {exc.strerror or exc}") from exc
    content_type = _require_image_type(head, source)
    return ImageUpload(
        filename=name or _default_filename(content_type),
        content_type=content_type,
        size=size,
        source=_PathSource(os.path.abspath(path), size, source),
    )


def _stream_name(stream: object) -> str | None:
    name = getattr(stream, "name", None)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str):
        return None
    return os.path.basename(name) or None


def _file_region(stream: Any) -> tuple[int, int] | None:
    """(start, size) when `stream` is a seekable regular file, to stream from; else None."""
    try:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode) or not stream.seekable():
            return None
        start = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(start)
    except (AttributeError, OSError, ValueError, TypeError):
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    return start, max(end - start, 0)


def _from_stream(stream: object, filename: str | None, max_bytes: int) -> ImageUpload:
    own_name = _stream_name(stream)
    source = f"file {_shown(own_name)}" if own_name else f"a {type(stream).__name__} stream"
    name = filename or own_name
    region = _file_region(stream)
    if region is None:
        data = _read_capped(stream, max_bytes, source)
        return image_from_bytes(data, name, max_bytes=max_bytes, source=source)
    start, size = region
    _check_size(size, max_bytes, source)
    seekable = cast(_Seekable, stream)
    _flush(seekable, source)
    head = _read_at(seekable, start, _HEAD_BYTES, source)
    content_type = _require_image_type(head, source)
    return ImageUpload(
        filename=name or _default_filename(content_type),
        content_type=content_type,
        size=size,
        source=_FileObjectSource(seekable, start, size, source),
    )


def _flush(file: object, source: str) -> None:
    """Push a writable file object's buffered writes to disk, where the upload reads them."""
    flush = getattr(file, "flush", None)
    if callable(flush):
        try:
            flush()
        except (OSError, ValueError) as exc:
            raise MediaError(f"cannot read the image from {source}: {exc}") from exc


def _read_capped(stream: object, max_bytes: int, source: str) -> bytes:
    """Up to max_bytes + 1 bytes of a stream: enough to refuse an over-size one without reading it all."""
    read = getattr(stream, "read")  # noqa: B009 - the object is only known to have a callable .read
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        try:
            chunk = read(min(_STREAM_CHUNK_BYTES, max_bytes + 1 - total))
        except (OSError, ValueError) as exc:
            raise MediaError(f"cannot read the image from {source}: {exc}") from exc
        if chunk is None:
            raise MediaError(f"{source} is non-blocking and had no data ready")
        if isinstance(chunk, str):
            raise MediaError(f"{source} is open in text mode: open the image with 'rb'")
        if not isinstance(chunk, bytes | bytearray):
            raise MediaError(f"{source} is not a binary stream: read() gave {type(chunk).__name__}")
        if not chunk:
            break
        chunks.append(bytes(chunk))
        total += len(chunk)
    if total > max_bytes:
        raise MediaError(f"the image from {source} is more than the {max_bytes:,}-byte limit")
    return b"".join(chunks)


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
