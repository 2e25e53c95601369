"""Images as input, the details a refusal or an upload shows (`_media`, no I/O): what a non-image
looks like, how long a shown value may be, what of a URL reaches a message, the forms of a data:
URI, and how PIL images (and look-alikes) are told apart."""

from __future__ import annotations

import base64
from typing import Any, BinaryIO

import pytest
from wire import PNG

from dynaspark_sdk import MediaError
from dynaspark_sdk._media import image_from_bytes, image_from_url, redact_url
from dynaspark_sdk._media_files import prepare_media

GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
ACCEPTED = "JPEG, PNG, GIF or WebP"


def refusal(data: bytes) -> str:
    with pytest.raises(MediaError) as caught:
        image_from_bytes(data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x18ftypheic", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypheix", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypheim", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypheis", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypmif1", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypmsf1", "HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypavif", "AVIF"),
        (b"\x00\x00\x00\x18ftypavis", "AVIF"),
        (b"\x00\x00\x00\x18ftypisom", "an MP4/QuickTime file"),
        (b"RIFF\x00\x00\x00\x00WAVE", "WAV audio"),
        (b"RIFF\x00\x00\x00\x00AVI ", "AVI video"),
        (b"RIFF\x00\x00\x00\x00avi ", "a RIFF file"),
        (b"<?xml version='1.0'?>", "SVG/XML"),
        (b"\xef\xbb\xbf <SVG xmlns='x'>", "SVG/XML"),
        (b"<HTML><body>", "HTML"),
        (b"\n<!DOCTYPE html>", "HTML"),
        (b"name,\tvalue\r\n1,2", "text"),
    ],
)
def test_a_non_image_says_what_it_looks_like(head: bytes, kind: str) -> None:
    assert f"it looks like {kind}, not {ACCEPTED}" in refusal(head)


@pytest.mark.parametrize("head", [b"plain text\x7f", b"plain text\x80", b"\x01\x02\x03\x04\x05"])
def test_bytes_that_are_not_text_are_not_called_text(head: bytes) -> None:
    message = refusal(head)
    assert f"it is not {ACCEPTED}" in message
    assert f"(first bytes: {head[:8].hex(' ')})" in message


def test_max_bytes_of_one_is_allowed() -> None:
    assert "looks like text" in refusal_with(b"x", max_bytes=1)
    assert refusal_with(b"x", max_bytes=0) == "max_bytes must be a positive int, got 0"


def refusal_with(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(MediaError) as caught:
        image_from_bytes(data, **kwargs)
    return str(caught.value)


def test_the_upload_is_a_copy_of_a_mutable_buffer() -> None:
    buffer = bytearray(PNG)
    upload = image_from_bytes(buffer)
    buffer[:4] = b"XXXX"
    assert upload.read() == PNG
    view = memoryview(bytearray(GIF))
    assert image_from_bytes(view).read() == GIF


# --------------------------------------------------------------------------- what is shown


def test_a_shown_value_is_cut_at_120_characters() -> None:
    def not_a_url(text: str) -> str:
        with pytest.raises(MediaError) as caught:
            image_from_url(text)
        return str(caught.value)

    whole = "p" * 118  # its repr is 120 characters
    assert not_a_url(whole) == (
        f"an image URL must be a data: URI or an http(s) URL, not {whole!r}: give an image file as media="
    )
    longer = "p" * 119
    assert f"not {repr(longer)[:119]}…: give" in not_a_url(longer)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("cat.png", "<URL>"),
        ("https://user:secret@images.test/a/b.png?sig=KEY#frag", "https://images.test/a/b.png"),
        ("https://images.test/p?a=1?b=2", "https://images.test/p"),
        ("https://images.test/p#one#two", "https://images.test/p"),
        ("https://images.test/p#frag?not=query", "https://images.test/p"),
        ("https://user@images.test/x@y.png", "https://images.test/x@y.png"),
        ("https://images.test", "https://images.test"),
        ("https://images.test/Xmas.png", "https://images.test/Xmas.png"),
    ],
)
def test_what_of_a_url_reaches_a_message(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_long_url_is_cut_at_120_characters() -> None:
    exact = "https://images.test/" + "a" * 100  # 120 characters
    assert redact_url(exact) == exact
    longer = exact + "b"
    assert redact_url(longer) == longer[:119] + "…"


# --------------------------------------------------------------------------- data: URIs


def _gif_whose_base64(holds: set[str]) -> tuple[bytes, str]:
    """GIF bytes whose URL-safe base64 holds, of "-" and "_", exactly `holds`."""
    for tail in range(256 * 256):
        data = GIF + tail.to_bytes(2, "big") * 3
        text = base64.urlsafe_b64encode(data).decode()
        if {mark for mark in "-_" if mark in text} == holds:
            return data, text
    raise AssertionError(f"no GIF whose base64 holds {holds}")


@pytest.mark.parametrize("holds", [{"-"}, {"_"}, {"-", "_"}])
def test_url_safe_base64_is_read(holds: set[str]) -> None:
    data, text = _gif_whose_base64(holds)
    assert image_from_url(f"data:image/gif;base64,{text}").read() == data  # type: ignore[union-attr]


def test_base64_with_white_space_and_every_letter() -> None:
    data = GIF + bytes(range(256))
    text = base64.b64encode(data).decode()
    assert "X" in text
    spaced = " \t\r\n\f\v".join(text[i : i + 7] for i in range(0, len(text), 7))
    assert image_from_url(f"data:image/gif;base64,{spaced}").read() == data  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data:image/gif;base64", "bad data: URI: no ',' between the header and the data"),
        ("data:image/gif;base64,R0lGO", "bad data: URI: the base64 data has an impossible length"),
        ("data:image/gif,\ud800", "bad data: URI: the data is not valid text"),
        ("data:base64,R0lGODdh", "bad data: URI: media type 'base64' is not type/subtype"),
    ],
)
def test_a_bad_data_uri_says_what_is_wrong(uri: str, message: str) -> None:
    with pytest.raises(MediaError) as caught:
        image_from_url(uri)
    assert str(caught.value) == message


# --------------------------------------------------------------------------- PIL images and look-alikes


class _Drawing:
    """Has save() and mode like a PIL image, but is none."""

    mode = "RGB"
    size = (1, 1)

    def save(self, fp: BinaryIO, format: str) -> None:
        fp.write(PNG)


def test_an_object_that_only_looks_like_a_pil_image_is_refused() -> None:
    with pytest.raises(MediaError, match=r"^cannot send a .*_Drawing as an image"):
        prepare_media(_Drawing())


def _from_module(module: str, **members: Any) -> object:
    return type("Image", (), {"__module__": module, **members})()


def test_an_image_of_the_pil_module_itself_is_a_pil_image() -> None:
    def save(self: object, fp: BinaryIO, format: str) -> None:
        fp.write(PNG)

    upload = prepare_media(_from_module("PIL", save=save, mode="RGB"))
    assert upload.read() == PNG  # type: ignore[union-attr]
    # Without save(), a PIL object is not an image to send.
    with pytest.raises(MediaError, match=r"cannot send a PIL\.Image\.Image as an image"):
        prepare_media(_from_module("PIL.Image", mode="RGB"))


def test_a_pil_image_that_cannot_be_encoded_says_its_mode_and_size() -> None:
    def save(self: object, fp: BinaryIO, format: str) -> None:
        raise OSError("cannot write mode X as PNG")

    def convert(self: object, mode: str) -> object:
        raise ValueError("no conversion")

    image = _from_module("PIL.Image", save=save, convert=convert, mode="X", size=(3, 4))
    with pytest.raises(MediaError) as caught:
        prepare_media(image)
    assert str(caught.value) == "cannot encode the PIL image (mode X, size (3, 4)) as PNG: no conversion"
    sizeless = _from_module("PIL.Image", save=save, convert=convert, mode="X")
    with pytest.raises(MediaError, match=r"\(mode X, size \?\)"):
        prepare_media(sizeless)
