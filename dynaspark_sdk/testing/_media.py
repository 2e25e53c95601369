"""Small, real media files built from scratch: PNG pictures, MP3 audio, image sniffing."""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Iterable

__all__ = [
    "MP3_FRAME_BYTES",
    "MP3_FRAME_HEADER",
    "encode_png",
    "mp3_silence",
    "picture_png",
    "sniff_image_type",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# MPEG-1 Layer III, no CRC, 128 kbit/s, 44.1 kHz, no padding, joint stereo, original.
# A frame lasts 1152 samples; at these settings it is floor(144 * 128000 / 44100) = 417 bytes.
MP3_FRAME_HEADER = bytes.fromhex("fffb9064")
MP3_FRAME_BYTES = 417


def sniff_image_type(data: bytes) -> str | None:
    """The image content type the first bytes announce (jpeg, png, gif, webp), or None."""
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(width: int, height: int, rows: Iterable[bytes], text: dict[str, str] | None = None) -> bytes:
    """An 8-bit RGB PNG from `height` rows of `width * 3` bytes each (filter bytes are added here)."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header)]
    for keyword, value in (text or {}).items():
        chunks.append(_png_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace")))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(raw, 6)))
    chunks.append(_png_chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(chunks)


def _colour(seed: int, shift: int) -> tuple[int, int, int]:
    mixed = (seed * 2654435761 >> shift) & 0xFFFFFF
    return (mixed >> 16) & 0xFF, (mixed >> 8) & 0xFF, mixed & 0xFF


@functools.lru_cache(maxsize=16)
def picture_png(width: int, height: int, seed: int, logo: bool, watermark: str | None) -> bytes:
    """A `width` x `height` picture: a vertical gradient between two colours chosen by `seed`.

    With `logo`, a white square fills the bottom-right corner (an eighth of the smaller side);
    a `watermark` is stored as the PNG's `Comment` text, not drawn.
    """
    top, bottom = _colour(seed, 0), _colour(seed, 7)
    logo_side = max(1, min(width, height) // 8) if logo else 0
    white = b"\xff\xff\xff" * logo_side

    def row(y: int) -> bytes:
        fraction = y / max(1, height - 1)
        pixel = bytes(round(a + (b - a) * fraction) for a, b in zip(top, bottom, strict=True))
        if y >= height - logo_side:
            return pixel * (width - logo_side) + white
        return pixel * width

    text = {"Comment": watermark} if watermark else None
    return encode_png(width, height, (row(y) for y in range(height)), text)


def mp3_silence(frame_count: int) -> bytes:
    """`frame_count` silent MPEG-1 Layer III frames: a valid MP3 of frame_count * 26 ms."""
    # All-zero side information means no main data: every decoder plays these as silence.
    frame = MP3_FRAME_HEADER + bytes(MP3_FRAME_BYTES - len(MP3_FRAME_HEADER))
    return frame * frame_count
