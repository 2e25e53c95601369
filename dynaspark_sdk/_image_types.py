"""Which of the image formats the service takes some bytes hold, from their first bytes: pure,
and light (no dependencies), so the CLI's output checks can use it before the SDK is loaded."""

from __future__ import annotations

__all__ = ["detect_image_type"]


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
