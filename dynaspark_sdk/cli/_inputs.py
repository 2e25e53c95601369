"""What the commands take from the user beyond the parsed arguments: the client the global
options describe, stdin, and files to read or write (checked before any request)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._output import UsageError

if TYPE_CHECKING:
    from dynaspark_sdk import Client


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's keyword arguments from the global options."""
    options: dict[str, Any] = {"api_key": args.api_key or None, "base_url": args.base_url, "proxy": args.proxy}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.retries is not None:
        options["max_retries"] = args.retries
    return options


def make_client(args: argparse.Namespace) -> Client:
    from dynaspark_sdk import Client

    return Client(**client_options(args))


def stdin_is_terminal() -> bool:
    try:
        return bool(sys.stdin.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _not_text(source: str, encoding: str, byte: int, before: str) -> UsageError:
    after = f" after {before[-20:]!r}" if before else " at its start"
    return UsageError(
        f"{source} is not {encoding}: byte 0x{byte:02X}{after} cannot be read as {encoding};"
        f" convert it first (e.g. iconv -f latin1 -t {encoding.lower()})"
    )


def checked_text(text: str, source: str) -> str:
    """`text` read from `source` (stdin, an argument), refused when it was not UTF-8: Python
    hands such bytes over as lone surrogates (U+DC80-U+DCFF), which the SDK would refuse
    later as characters, naming neither the input nor the byte."""
    for index, char in enumerate(text):
        if "\udc80" <= char <= "\udcff":
            raise _not_text(source, "UTF-8", ord(char) - 0xDC00, text[:index])
    return text


def undecodable_stdin(error: UnicodeDecodeError) -> UsageError:
    """The error for a strict stdin (PYTHONIOENCODING=utf-8, say) that met bytes of another
    encoding: naming the byte, as `checked_text` does for a lenient one."""
    before = error.object[: error.start].decode(error.encoding, "replace").rsplit("\n", 1)[-1]
    encoding = error.encoding.upper().replace("UTF8", "UTF-8")
    return _not_text("stdin", encoding, error.object[error.start], before)


def read_stdin() -> str:
    try:
        return checked_text(sys.stdin.read(), "stdin")
    except UnicodeDecodeError as exc:
        raise undecodable_stdin(exc) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read stdin: {exc}") from None


def text_argument(value: str, what: str) -> str:
    """The argument itself, or stdin's text for '-'."""
    if value != "-":
        return checked_text(value, f"the {what} argument")
    text = read_stdin()
    if not text.strip():
        raise UsageError(f"{what} '-' reads stdin, and stdin is empty")
    return text.rstrip("\n")


def output_path(value: str) -> Path:
    """Check before any request that the output file can be written where asked."""
    path = Path(value).expanduser()
    if path.is_dir():
        raise UsageError(f"{value} is a directory; give a file name with -o")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {value}: no such directory {parent}")
    return path


def check_image_file(value: str | None) -> None:
    """Refuse a missing image file before a session starts, not at every message."""
    if value is None or value.lower().startswith(("http://", "https://", "data:")):
        return
    if not Path(value).expanduser().is_file():
        raise UsageError(f"no such image file: {value}")


def save_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
