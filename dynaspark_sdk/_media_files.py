"""Reading an image from where the user keeps it: a path, an open file or stream. The I/O
half of the media input (`_media.py` is the pure half: sniffing, checks, data: URIs, URLs).

`prepare_media` is the entry point. Opening, `fstat`-ing and reading a file block, so the
async client calls it in a worker thread. Paths and seekable real files are not read beyond
their first bytes here: the upload (`ImageUpload.open()`) streams them while the request is
sent, and refuses a file that changed in the meantime.
"""

from __future__ import annotations

import io
import os
import stat
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast

import attrs

from ._errors import MediaError
from ._media import (
    _HEAD_BYTES,
    _STREAM_CHUNK_BYTES,
    DEFAULT_MAX_BYTES,
    ImageUpload,
    RemoteImage,
    _check_max_bytes,
    _check_size,
    _default_filename,
    _from_pil_image,
    _is_pil_image,
    _media_items,
    _require_image_type,
    _shown,
    image_from_bytes,
    image_from_url,
    is_image_uri,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["prepare_media"]


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
        if is_image_uri(data):
            return image_from_url(data, filename, max_bytes=max_bytes)
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
    path = os.path.expanduser(path)  # "~/x.png" is the user's home, as `ImageResult.save()` takes it
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
