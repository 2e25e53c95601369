"""Media: every form an image may take becomes one checked upload, or a MediaError before any request."""

from __future__ import annotations

import base64
import io
import os
import tracemalloc
from pathlib import Path
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dynaspark_sdk import spec
from dynaspark_sdk._errors import InvalidRequestError, MediaError
from dynaspark_sdk._media import (
    DEFAULT_MAX_BYTES,
    ImageUpload,
    RemoteImage,
    detect_image_type,
    filename_from_url,
    image_from_bytes,
)
from dynaspark_sdk._media_files import prepare_media

# Tiny "images": only the magic bytes matter to the SDK; the tails make each one distinct.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR-png"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00-jpeg"
JPEG_SHORT_MARKER = b"\xff\xd8\x00\x01-jpeg"
GIF87 = b"GIF87a" + b"\x01\x00\x01\x00-gif87"
GIF89 = b"GIF89a" + b"\x01\x00\x01\x00-gif89"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 -webp"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

IMAGES = [
    (PNG, "image/png", "image.png"),
    (JPEG, "image/jpeg", "image.jpg"),
    (JPEG_SHORT_MARKER, "image/jpeg", "image.jpg"),
    (GIF87, "image/gif", "image.gif"),
    (GIF89, "image/gif", "image.gif"),
    (WEBP, "image/webp", "image.webp"),
]


def upload_of(media: object, **kwargs: int) -> ImageUpload:
    result = prepare_media(media, **kwargs)
    assert isinstance(result, ImageUpload), result
    return result


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- magic bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "content_type", "default_name"), IMAGES)
def test_detect_image_type_knows_the_four_formats(data: bytes, content_type: str, default_name: str) -> None:
    assert detect_image_type(data) == content_type
    assert detect_image_type(data[:12]) == content_type


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff",
        b"\x89PNG\r\n\x1a",
        b"GIF88a",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"RIFF\x00\x00\x00\x00WEB",
        PDF,
    ],
)
def test_detect_image_type_refuses_anything_else(head: bytes) -> None:
    assert detect_image_type(head) is None


def test_default_cap_comes_from_the_spec() -> None:
    assert DEFAULT_MAX_BYTES == spec.MAX_IMAGE_BYTES == 20_000_000


# --- bytes-like ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "content_type", "default_name"), IMAGES)
@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_media(data: bytes, content_type: str, default_name: str, wrap: type) -> None:
    upload = upload_of(wrap(data))
    assert (upload.filename, upload.content_type, upload.size) == (default_name, content_type, len(data))
    assert upload.read() == data
    with upload.open() as reader:
        assert reader.read() == data


def test_bytearray_changed_after_prepare_does_not_change_the_upload() -> None:
    buffer = bytearray(PNG)
    upload = upload_of(buffer)
    buffer[:] = b"changed"
    assert upload.read() == PNG


def test_every_open_gives_a_fresh_reader_at_the_start() -> None:
    upload = upload_of(PNG)
    first = upload.open()
    assert first.read(4) == PNG[:4]
    second = upload.open()
    assert second.read() == PNG
    assert first.read() == PNG[4:]
    first.close()
    second.close()


def test_image_from_bytes_names_and_checks() -> None:
    upload = image_from_bytes(GIF89, "anim.gif")
    assert (upload.filename, upload.content_type, upload.size, upload.read()) == (
        "anim.gif",
        "image/gif",
        len(GIF89),
        GIF89,
    )
    assert image_from_bytes(WEBP, "").filename == "image.webp"
    with pytest.raises(MediaError, match=r"the image from URL https://h/x is empty"):
        image_from_bytes(b"", source="URL https://h/x")


def test_content_type_comes_from_the_bytes_not_the_filename() -> None:
    upload = upload_of((PNG, "photo.jpg"))
    assert (upload.filename, upload.content_type) == ("photo.jpg", "image/png")


def test_repr_does_not_dump_the_bytes() -> None:
    upload = upload_of(PNG + b"secret-pixels")
    size = len(PNG) + 13
    assert repr(upload) == f"ImageUpload(filename='image.png', content_type='image/png', size={size})"


# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_type", [str, Path])
def test_path_media(tmp_path: Path, as_type: type) -> None:
    path = write(tmp_path / "cat.gif", GIF89)
    upload = upload_of(as_type(path))
    assert (upload.filename, upload.content_type, upload.size) == ("cat.gif", "image/gif", len(GIF89))
    assert upload.read() == GIF89


def test_path_with_users_filename(tmp_path: Path) -> None:
    path = write(tmp_path / "IMG_0001.bin", JPEG)
    upload = upload_of([(path, "holiday.jpg")])
    assert (upload.filename, upload.content_type, upload.read()) == ("holiday.jpg", "image/jpeg", JPEG)


def test_path_with_bytes_fspath(tmp_path: Path) -> None:
    class BytesPath(os.PathLike[bytes]):
        def __fspath__(self) -> bytes:
            return os.fsencode(tmp_path / "b.webp")

    write(tmp_path / "b.webp", WEBP)
    upload = upload_of(BytesPath())
    assert (upload.filename, upload.read()) == ("b.webp", WEBP)


def test_relative_path_keeps_working_after_chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "rel.png", PNG)
    monkeypatch.chdir(tmp_path)
    upload = upload_of("rel.png")
    monkeypatch.chdir(tmp_path.parent)
    assert upload.read() == PNG


def test_path_reader_behaves_like_a_file_of_exactly_size_bytes(tmp_path: Path) -> None:
    data = PNG + bytes(range(256)) * 1000
    upload = upload_of(write(tmp_path / "big.png", data))
    with upload.open() as reader:
        with pytest.raises(OSError, match="fileno"):
            reader.fileno()
        assert reader.read(100) == data[:100]
        assert reader.tell() == 100
        assert reader.seek(0, os.SEEK_END) == len(data)
        assert reader.read() == b""
        assert reader.seek(0) == 0
        assert reader.read(70_000) == data[:70_000]
        assert reader.read() == data[70_000:]


def test_path_is_checked_but_not_read_when_prepared(tmp_path: Path) -> None:
    # 20 MB + 1 of sparse zeros after a PNG signature: refused from the size alone.
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.write(PNG)
        file.truncate(DEFAULT_MAX_BYTES + 1)
    with pytest.raises(MediaError) as caught:
        prepare_media(path)
    assert caught.value.message == (
        f"the image from file {str(path)!r} is 20,000,001 bytes, over the 20,000,000-byte limit"
    )
    path.write_bytes(b"")
    with path.open("wb") as file:
        file.write(PNG)
        file.truncate(DEFAULT_MAX_BYTES)
    assert upload_of(path).size == DEFAULT_MAX_BYTES


def test_non_regular_path_is_read_like_a_stream() -> None:
    if not os.path.exists("/dev/null"):
        pytest.skip("needs /dev/null")
    with pytest.raises(MediaError, match=r"^the image from file '/dev/null' is empty$"):
        prepare_media("/dev/null")


# --- the file changing size under the upload ---------------------------------------------------


def test_path_that_shrinks_while_sent_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "shrinks.png", PNG + bytes(100_000))
    upload = upload_of(path)
    with upload.open() as reader:
        assert reader.read(10) == PNG[:10]
        os.truncate(path, 50_000)
        message = rf"ended after 50,000 of {len(PNG) + 100_000:,} bytes: the file changed"
        with pytest.raises(MediaError, match=message):
            reader.read()


def test_path_that_grows_while_sent_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "grows.png", PNG + bytes(1000))
    upload = upload_of(path)
    with upload.open() as reader:
        with path.open("ab") as file:
            file.write(b"more")
        message = rf"grew past its {len(PNG) + 1000:,} bytes while it was being sent"
        with pytest.raises(MediaError, match=message):
            reader.read()


def test_path_that_changed_size_before_open_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "edited.png", PNG)
    upload = upload_of(path)
    path.write_bytes(PNG + b"x")
    with pytest.raises(
        MediaError,
        match=rf"is now {len(PNG) + 1} bytes, not the {len(PNG)} bytes it had when it was prepared",
    ):
        upload.open()
    path.unlink()
    with pytest.raises(MediaError, match=r"cannot open the image from file .*edited\.png'"):
        upload.open()


def test_changing_size_is_caught_through_httpx_too(tmp_path: Path) -> None:
    path = write(tmp_path / "grows.png", PNG + bytes(200_000))
    upload = upload_of(path)
    files = {"file": (upload.filename, upload.open(), "image/png")}
    request = httpx.Request("POST", "http://x/", files=files)
    with path.open("ab") as file:
        file.write(b"!")
    with pytest.raises(MediaError, match="grew past"):
        request.read()


# --- multipart through httpx ---------------------------------------------------------------------


def multipart_body(upload: ImageUpload) -> tuple[httpx.Request, bytes]:
    with upload.open() as reader:
        request = httpx.Request(
            "POST",
            "http://x/",
            data={"user_input": "hi"},
            files={"file": (upload.filename, reader, upload.content_type)},
        )
        return request, request.read()


def assert_multipart_holds(request: httpx.Request, body: bytes, upload: ImageUpload, data: bytes) -> None:
    assert request.headers["Content-Length"] == str(len(body))
    part = (
        (
            f'Content-Disposition: form-data; name="file"; filename="{upload.filename}"\r\n'
            f"Content-Type: {upload.content_type}\r\n\r\n"
        ).encode()
        + data
        + b"\r\n--"
    )
    assert part in body
    assert b'name="user_input"\r\n\r\nhi\r\n' in body


def test_multipart_body_from_a_path_has_the_right_length_and_bytes(tmp_path: Path) -> None:
    data = WEBP + os.urandom(300_000)
    upload = upload_of(write(tmp_path / "photo.webp", data))
    request, body = multipart_body(upload)
    assert_multipart_holds(request, body, upload, data)


def test_multipart_body_from_bytes(tmp_path: Path) -> None:
    upload = upload_of((JPEG, "face.jpg"))
    request, body = multipart_body(upload)
    assert_multipart_holds(request, body, upload, JPEG)


def test_multipart_body_from_an_open_file_at_an_offset(tmp_path: Path) -> None:
    data = GIF89 + os.urandom(100_000)
    path = write(tmp_path / "archive.bin", b"HEADER" + data)
    with path.open("rb") as file:
        file.seek(6)
        upload = upload_of(file)
        request, body = multipart_body(upload)
        assert_multipart_holds(request, body, upload, data)
        # A retry sends the same bytes again.
        request, body = multipart_body(upload)
        assert_multipart_holds(request, body, upload, data)


@pytest.mark.serial  # measures memory
@pytest.mark.load
def test_uploading_100_mb_from_a_path_stays_small_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.write(PNG)
        file.truncate(100_000_000)
    upload = upload_of(path, max_bytes=200_000_000)
    with upload.open() as reader:
        request = httpx.Request("POST", "http://x/", files={"file": (upload.filename, reader, "image/png")})
        body = request.stream
        assert isinstance(body, httpx.SyncByteStream)
        tracemalloc.start()
        try:
            sent = sum(len(chunk) for chunk in body)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert int(request.headers["Content-Length"]) == sent > 100_000_000
    assert peak < 16 * 1024 * 1024


# --- open files and streams ----------------------------------------------------------------------


def test_open_binary_file_is_streamed_from_its_position(tmp_path: Path) -> None:
    path = write(tmp_path / "x.dat", b"junk" + PNG)
    with path.open("rb") as file:
        file.seek(4)
        upload = upload_of(file)
        assert (upload.filename, upload.content_type, upload.size) == ("x.dat", "image/png", len(PNG))
        file.seek(0)  # the user moving the file does not move the upload
        assert upload.read() == PNG
        assert upload.read() == PNG
        # Streamed, not copied: the upload sees the file on disk and notices it grew.
        with path.open("ab") as appender:
            appender.write(b"!")
        with pytest.raises(MediaError, match=rf"file 'x\.dat' grew past its {len(PNG)} bytes"):
            upload.read()


def test_open_file_that_shrinks_while_sent_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "s.png", PNG + bytes(10_000))
    with path.open("rb") as file:
        upload = upload_of(file)
        with upload.open() as reader:
            os.truncate(path, 100)
            with pytest.raises(MediaError, match=rf"ended after 100 of {len(PNG) + 10_000:,} bytes"):
                reader.read()


def test_closed_file_object_is_refused_at_open(tmp_path: Path) -> None:
    path = write(tmp_path / "c.png", PNG)
    with path.open("rb") as file:
        upload = upload_of(file)
    with pytest.raises(MediaError, match="the file object was closed"):
        upload.open()


def test_bytesio_is_read_from_its_position() -> None:
    stream = io.BytesIO(b"xx" + JPEG)
    stream.seek(2)
    upload = upload_of(stream)
    assert (upload.filename, upload.content_type, upload.read()) == ("image.jpg", "image/jpeg", JPEG)


class TrickleStream:
    """A non-seekable stream that gives a few bytes per read, like a pipe, and counts what it gave."""

    def __init__(self, data: bytes, piece: int = 7) -> None:
        self._data = data
        self._piece = piece
        self.given = 0

    def read(self, size: int = -1) -> bytes:
        end = self.given + min(self._piece, size if size >= 0 else self._piece)
        chunk = self._data[self.given : end]
        self.given += len(chunk)
        return chunk


def test_stream_read_in_pieces() -> None:
    data = GIF87 + bytes(100)
    upload = upload_of((TrickleStream(data), "anim.gif"))
    assert (upload.filename, upload.read()) == ("anim.gif", data)


def test_over_size_stream_is_refused_without_reading_all_of_it() -> None:
    stream = TrickleStream(PNG + bytes(10_000_000), piece=4096)
    with pytest.raises(MediaError) as caught:
        prepare_media(stream, max_bytes=50_000)
    assert caught.value.message == "the image from a TrickleStream stream is more than the 50,000-byte limit"
    assert stream.given == 50_001


def test_text_mode_files_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.png", PNG)
    with path.open("r", encoding="latin-1") as file, pytest.raises(MediaError, match=r"text-mode file.*'rb'"):
        prepare_media(file)
    with pytest.raises(MediaError, match=r"StringIO is a text-mode file"):
        prepare_media(io.StringIO("GIF89a"))

    class StrReader:
        def read(self, size: int = -1) -> str:
            return "GIF89a"

    with pytest.raises(MediaError, match=r"a StrReader stream is open in text mode"):
        prepare_media(StrReader())


# --- data: URIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "DATA:IMAGE/PNG;BASE64," + base64.b64encode(PNG).decode(),
        "data:;base64," + base64.b64encode(PNG).decode().rstrip("="),
        "data:image/png;base64,\n" + "\n".join(base64.b64encode(PNG).decode()),
        "data:image/png;base64," + quote_from_bytes(base64.b64encode(PNG), safe=""),
        "data:image/png;name=a.png;base64," + base64.urlsafe_b64encode(PNG).decode(),
        # The declared type is ignored: the bytes say PNG.
        "data:image/jpeg;base64," + base64.b64encode(PNG).decode(),
        "data:," + quote_from_bytes(PNG),
        "data:application/octet-stream;charset=x," + quote_from_bytes(PNG),
    ],
)
def test_data_uri_media(uri: str) -> None:
    upload = upload_of(uri)
    assert (upload.filename, upload.content_type, upload.read()) == ("image.png", "image/png", PNG)


def test_data_uri_with_users_filename() -> None:
    upload = upload_of(("data:image/gif;base64," + base64.b64encode(GIF87).decode(), "g.gif"))
    assert (upload.filename, upload.read()) == ("g.gif", GIF87)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data:image/png;base64" + base64.b64encode(PNG).decode(), r"bad data: URI: no ','"),
        ("data:image/png;base64,iVBO!!Rw0K", r"bad data: URI: the base64 data is invalid"),
        ("data:image/png;base64,iVBOR", r"bad data: URI: the base64 data has an impossible length"),
        ("data:png;base64,iVBORw0K", r"bad data: URI: media type 'png' is not type/subtype"),
        ("data:image/png;utf8;base64,iVBORw0K", r"bad data: URI: parameter 'utf8' is not name=value"),
        ("data:image/png;base64,", r"^the image from a data: URI is empty$"),
        ("data:image/png;base64," + base64.b64encode(PDF).decode(), r"data: URI: it looks like PDF"),
        ("data:,\ud800", r"bad data: URI: the data is not valid text"),
    ],
)
def test_bad_data_uris(uri: str, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        prepare_media(uri)


def test_data_uri_over_the_cap() -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG + bytes(100 - len(PNG))).decode()
    message = r"^the image from a data: URI is 100 bytes, over the 99-byte limit$"
    with pytest.raises(MediaError, match=message):
        prepare_media(uri, max_bytes=99)
    assert upload_of(uri, max_bytes=100).size == 100


# --- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "filename"),
    [
        ("https://example.com/pics/cat.png", "cat.png"),
        ("http://127.0.0.1:8000/a%20b.jpg?x=1#frag", "a b.jpg"),
        ("HTTPS://Example.com/", None),
        ("https://example.com", None),
    ],
)
def test_http_urls_become_remote_images(url: str, filename: str | None) -> None:
    assert prepare_media(url) == RemoteImage(url=url, filename=filename)


def test_remote_image_with_users_filename() -> None:
    assert prepare_media([("https://h/x?id=9", "mine.webp")]) == RemoteImage("https://h/x?id=9", "mine.webp")


def test_remote_image_repr_and_errors_hide_query_and_credentials() -> None:
    remote = prepare_media("https://user:pw@example.com/i.png?api_key=SECRET#f")
    assert isinstance(remote, RemoteImage)
    assert repr(remote) == "RemoteImage(url='https://example.com/i.png', filename='i.png')"
    with pytest.raises(MediaError) as caught:
        remote.to_upload(PDF)
    assert "SECRET" not in str(caught.value) and "pw" not in str(caught.value)
    assert caught.value.message.startswith("cannot send the image from URL https://example.com/i.png: ")


def test_remote_image_to_upload_checks_the_fetched_bytes() -> None:
    remote = prepare_media("https://example.com/dl?id=1")
    assert isinstance(remote, RemoteImage)
    upload = remote.to_upload(WEBP)
    assert (upload.filename, upload.content_type, upload.read()) == ("dl", "image/webp", WEBP)
    with pytest.raises(MediaError, match=rf"is {len(WEBP)} bytes, over the 10-byte limit"):
        remote.to_upload(WEBP, max_bytes=10)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://", r"^the image URL http:// has no host$"),
        ("https://exa mple.com/\n?k=SECRET", r"^the image URL https://exa mple.com/\n is not a valid URL$"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        prepare_media(url)


# --- PIL images ----------------------------------------------------------------------------------


def test_pil_image_is_sent_as_png() -> None:
    image = Image.new("RGB", (3, 2), (10, 200, 30))
    upload = upload_of(image)
    assert (upload.filename, upload.content_type) == ("image.png", "image/png")
    decoded = Image.open(io.BytesIO(upload.read()))
    assert (decoded.format, decoded.size, decoded.getpixel((2, 1))) == ("PNG", (3, 2), (10, 200, 30))


def test_pil_image_loaded_from_jpeg_is_still_sent_as_png_with_users_name() -> None:
    buffer = io.BytesIO()
    Image.new("L", (4, 4), 128).save(buffer, format="JPEG")
    image = Image.open(io.BytesIO(buffer.getvalue()))
    upload = upload_of([(image, "scan.png")])
    assert (upload.filename, upload.content_type) == ("scan.png", "image/png")


@pytest.mark.parametrize("mode", ["CMYK", "YCbCr", "1", "P", "LA", "I;16", "F"])
def test_pil_modes_png_cannot_hold_are_converted(mode: str) -> None:
    upload = upload_of(Image.new(mode, (2, 2)))
    assert Image.open(io.BytesIO(upload.read())).size == (2, 2)


def test_pil_image_over_the_cap() -> None:
    message = r"^the image from a PIL image \(encoded as PNG\) is \d+ bytes, over"
    with pytest.raises(MediaError, match=message):
        prepare_media(Image.new("RGB", (64, 64)), max_bytes=50)


# --- lists, pairs and counting -------------------------------------------------------------------


@pytest.mark.parametrize("media", [None, [], (), [None], (None,)])
def test_no_image(media: object) -> None:
    assert prepare_media(media) is None


@pytest.mark.parametrize(
    ("media", "filename"),
    [
        ([(PNG, "a.png")], "a.png"),
        ((PNG, "a.png"), "a.png"),
        ((PNG, None), "image.png"),
        ((PNG, ""), "image.png"),
        ([PNG], "image.png"),
        ((PNG,), "image.png"),
        ([None, (PNG, "b.png")], "b.png"),
    ],
)
def test_lists_and_pairs(media: object, filename: str) -> None:
    upload = upload_of(media)
    assert (upload.filename, upload.read()) == (filename, PNG)


def test_a_pair_of_two_strings_is_a_path_and_its_filename(tmp_path: Path) -> None:
    path = write(tmp_path / "a.png", PNG)
    assert upload_of((str(path), "b.png")).filename == "b.png"


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ([PNG, JPEG], r"^Dynaspark takes one image per request, got 2$"),
        ([(PNG, "a.png"), (JPEG, "b.jpg"), GIF89], r"^Dynaspark takes one image per request, got 3$"),
        ((PNG, JPEG), r"^Dynaspark takes one image per request, got 2 \(a \(data, filename\) pair needs"),
        ((PNG, 5), r"^Dynaspark takes one image per request, got 2 \(a \(data, filename\) pair needs"),
        ([[PNG]], r"^a media list item must be an image or a \(data, filename\) pair .*got a list of 1$"),
        ([(PNG, JPEG, GIF87)], r"got a tuple of 3$"),
        ((None, "a.png"), r"^a \(data, filename\) pair has no data \(None\)$"),
    ],
)
def test_counting_errors(media: object, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        prepare_media(media)


def test_more_than_one_image_is_refused_before_any_file_is_touched(tmp_path: Path) -> None:
    # Neither path exists: the count is checked first.
    with pytest.raises(MediaError, match="got 2"):
        prepare_media([tmp_path / "missing1.png", tmp_path / "missing2.png"])


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (PDF, "it looks like PDF, not JPEG, PNG, GIF or WebP (first bytes: 25 50 44 46 2d 31 2e 37)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "it looks like a ZIP archive"),
        (b"BM6\x00\x00\x00", "it looks like BMP"),
        (b"\x00\x00\x00\x18ftypheic", "it looks like HEIC/HEIF"),
        (b"\x00\x00\x00\x1cftypavif", "it looks like AVIF"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "it looks like WAV audio"),
        (b"  <!DOCTYPE html><html>", "it looks like HTML"),
        (b"<svg xmlns=", "it looks like SVG/XML"),
        (b"hello world", "it looks like text"),
        (b"\x00\x01\x02\x03\xfe", "it is not JPEG, PNG, GIF or WebP (first bytes: 00 01 02 03 fe)"),
    ],
)
def test_other_formats_are_refused_saying_what_they_look_like(data: bytes, message: str) -> None:
    with pytest.raises(MediaError) as caught:
        prepare_media(data)
    assert caught.value.message.startswith("cannot send the image from bytes: ")
    assert message in caught.value.message


def test_other_format_from_a_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "report.png", PDF)
    with pytest.raises(MediaError) as caught:
        prepare_media(path)
    expected = f"cannot send the image from file {str(path)!r}: it looks like PDF"
    assert caught.value.message.startswith(expected)


def test_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"^the image from bytes is empty$"):
        prepare_media(b"")
    empty = write(tmp_path / "empty.png", b"")
    with pytest.raises(MediaError, match=r"^the image from file '.*empty\.png' is empty$"):
        prepare_media(empty)
    with pytest.raises(MediaError, match=r"^the image from a BytesIO stream is empty$"):
        prepare_media(io.BytesIO(b""))
    with pytest.raises(MediaError, match=r"^the image path is an empty string$"):
        prepare_media("")


def test_missing_path_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(MediaError) as caught:
        prepare_media(missing)
    assert caught.value.message == f"no such image file: {str(missing)!r}"
    with pytest.raises(MediaError) as caught:
        prepare_media(str(tmp_path))
    assert caught.value.message == f"{str(tmp_path)!r} is a directory, not an image file"


def test_unusable_path_strings() -> None:
    with pytest.raises(MediaError, match=r"^cannot open the image file 'a\\x00b': .*null"):
        prepare_media("a\x00b")
    with pytest.raises(MediaError, match=r"^cannot open the image file 'xxxx.*…: File name too long$"):
        prepare_media("x" * 5000)


def test_size_cap_for_bytes() -> None:
    data = JPEG + bytes(100 - len(JPEG))
    assert upload_of(data, max_bytes=100).size == 100
    with pytest.raises(MediaError) as caught:
        prepare_media(data, max_bytes=99)
    assert caught.value.message == "the image from bytes is 100 bytes, over the 99-byte limit"
    with pytest.raises(MediaError, match=r"is 20,000,001 bytes, over the 20,000,000-byte limit"):
        prepare_media(PNG + bytes(DEFAULT_MAX_BYTES + 1 - len(PNG)))


def test_size_cap_for_paths_and_files(tmp_path: Path) -> None:
    path = write(tmp_path / "p.gif", GIF89 + bytes(100 - len(GIF89)))
    assert upload_of(path, max_bytes=100).size == 100
    message = r"^the image from file '.*p\.gif' is 100 bytes, over the 99-byte limit$"
    with pytest.raises(MediaError, match=message):
        prepare_media(path, max_bytes=99)
    with path.open("rb") as file, pytest.raises(MediaError, match=r"'p\.gif' is 100 bytes, over the 99-byte"):
        prepare_media(file, max_bytes=99)


@pytest.mark.parametrize("max_bytes", [0, -1, True])
def test_max_bytes_must_be_positive(max_bytes: int) -> None:
    with pytest.raises(MediaError, match="max_bytes must be a positive int"):
        prepare_media(PNG, max_bytes=max_bytes)


@pytest.mark.parametrize(
    ("media", "shown"),
    [
        (42, "builtins.int"),
        (object(), "builtins.object"),
        ({"data": PNG}, "builtins.dict"),
        (1.5, "builtins.float"),
    ],
)
def test_unsupported_types_are_named(media: object, shown: str) -> None:
    with pytest.raises(MediaError, match=rf"^cannot send a {shown} as an image: give bytes, a path"):
        prepare_media(media)


def test_media_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="got 2") as caught:
        prepare_media([PNG, PNG])
    assert isinstance(caught.value, InvalidRequestError)


# --- anything at all -----------------------------------------------------------------------------

_image_heads = st.sampled_from([PNG, JPEG, JPEG_SHORT_MARKER, GIF87, GIF89, WEBP, PDF])
_byte_data = st.one_of(st.binary(max_size=40), st.builds(bytes.__add__, _image_heads, st.binary(max_size=20)))
_leaves = st.one_of(
    _byte_data,
    _byte_data.map(bytearray),
    _byte_data.map(lambda data: memoryview(data)),
    # Relative paths only: the test runs in an empty directory.
    st.text(max_size=30).filter(lambda text: not text.startswith("/")),
    st.builds(lambda data: "data:;base64," + base64.b64encode(data).decode(), _byte_data),
    st.builds(str.__add__, st.sampled_from(["data:", "data:;base64,", "DATA:,"]), st.text(max_size=30)),
    st.builds(str.__add__, st.sampled_from(["http://", "https://", "HTTP://"]), st.text(max_size=30)),
    st.builds(io.BytesIO, _byte_data),
    st.builds(
        lambda mode, width, height: Image.new(mode, (width, height)),
        st.sampled_from(["RGB", "RGBA", "L", "1", "P", "CMYK", "I;16", "F", "HSV", "LAB"]),
        st.integers(0, 3),
        st.integers(0, 3),
    ),
    st.none(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_media = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, st.one_of(st.none(), st.text(max_size=10))),
        st.tuples(children, children),
    ),
    max_leaves=4,
)


@pytest.fixture
def in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.serial  # hypothesis times every example against its deadline
@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(media=_media, max_bytes=st.one_of(st.just(DEFAULT_MAX_BYTES), st.integers(1, 64)))
def test_any_media_gives_an_upload_or_none_or_a_media_error(
    in_empty_directory: None, media: object, max_bytes: int
) -> None:
    try:
        result = prepare_media(media, max_bytes=max_bytes)
    except MediaError:
        return
    if isinstance(result, ImageUpload):
        data = result.read()
        assert len(data) == result.size <= max_bytes
        assert detect_image_type(data) == result.content_type
        assert result.filename
    else:
        assert result is None or isinstance(result, RemoteImage)


@pytest.mark.parametrize(
    ("url", "data", "name"),
    [
        ("https://x.test/images/3f2a.png?token=1", PNG, "3f2a.png"),
        ("https://x.test/images/3F2A.PNG", PNG, "3F2A.PNG"),
        ("https://x.test/prompt/a%20cat", JPEG, "a cat.jpg"),
        ("https://x.test/photo.jpeg", JPEG, "photo.jpeg"),
        ("https://x.test/photo.png", JPEG, "photo.png.jpg"),
        ("https://x.test/", GIF89, "image.gif"),
        ("https://x.test/a/..%2F..%2Fetc", PNG, "image.png"),
        ("https://x.test/.hidden", PNG, "image.png"),
        ("https://x.test/raw", b"not an image", "raw"),
    ],
)
def test_the_name_an_image_is_saved_under_in_a_folder(url: str, data: bytes, name: str) -> None:
    assert filename_from_url(url, data) == name
