"""`dynaspark demo`: the SDK end to end against the emulator on loopback, offline, in seconds.

It runs, in order: the seed document's gpt4free example exactly as written there (only its
import line differs), a streamed `stream_text`, a two-turn conversation, and an image and a
speech file saved to a folder; then it says what was called, what the emulator received,
and where the files are. Nothing leaves the machine: every request goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import attrs

from dynaspark_sdk import Client, ResponseValidationError
from dynaspark_sdk.testing import Emulator, serve

__all__ = ["SEED_EXAMPLE", "DemoSummary", "run_demo", "run_seed_example"]

SEED_EXAMPLE = """\
from dynaspark_sdk import Dynaspark

async def main():
    provider = Dynaspark()
    messages = [
        {"role": "user", "content": "Привет! Как дела?"},
    ]
    async for response in provider.create_async_generator(model="gemini-1.5-flash-8b", messages=messages):
        print(f"Ответ модели: {response}")

if __name__ == "__main__":
    import asyncio
    asyncio.run(main())
"""
"""The seed document's usage example, character for character, but for its first line: the
seed imports `Dynaspark` from `hypotez.src.endpoints.gpt4free.g4f.Provider.Dynaspark`."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Seconds between the emulator's stream events: slow enough to see the text arrive in
# pieces, fast enough that the whole demo takes a few seconds.
DEFAULT_STREAM_DELAY = 0.04


@attrs.frozen
class SavedFile:
    """A file the demo wrote: where, how big, and what its first bytes say it is."""

    path: Path
    size: int
    kind: str


@attrs.frozen
class DemoSummary:
    """What the demo did: the calls made, the requests the emulator saw, the files saved."""

    emulator_url: str
    calls: tuple[tuple[str, int], ...]
    requests: tuple[tuple[str, int], ...]
    files: tuple[SavedFile, ...]
    folder: Path
    seed_answers: tuple[str, ...]

    @property
    def request_count(self) -> int:
        """How many requests the emulator received in all."""
        return sum(count for _, count in self.requests)

    def as_json(self) -> dict[str, Any]:
        """The summary as plain JSON-serialisable data (for `dynaspark --json demo`)."""
        return {
            "emulator_url": self.emulator_url,
            "calls": dict(self.calls),
            "requests": dict(self.requests),
            "request_count": self.request_count,
            "folder": str(self.folder),
            "files": [{"path": str(saved.path), "bytes": saved.size, "kind": saved.kind} for saved in self.files],
            "seed_answers": list(self.seed_answers),
        }


def run_seed_example(out: TextIO) -> None:
    """Run `SEED_EXAMPLE` as a script (`__name__ == "__main__"`), its prints going to `out`.

    The provider reads `DYNASPARK_BASE_URL` to find the service, as a drop-in must: the
    example itself cannot be told where to go.
    """
    code = compile(SEED_EXAMPLE, "<seed example>", "exec")
    with contextlib.redirect_stdout(out):
        exec(code, {"__name__": "__main__"})


@contextlib.contextmanager
def _pointed_at(url: str) -> Iterator[None]:
    """Send the SDK to `url` (the emulator) for the block, and keep the user's real key and
    proxy out of it; the environment is restored afterwards."""
    names = ("DYNASPARK_BASE_URL", "DYNASPARK_API_KEY", "NO_PROXY", "no_proxy")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["DYNASPARK_BASE_URL"] = url
    os.environ.pop("DYNASPARK_API_KEY", None)
    for name in ("NO_PROXY", "no_proxy"):
        # A proxy from the environment must not carry loopback traffic away.
        os.environ[name] = ",".join(filter(None, [saved[name], "127.0.0.1", "localhost"]))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _png_size(data: bytes) -> tuple[int, int]:
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ResponseValidationError("the saved image is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _is_mp3(data: bytes) -> bool:
    # An ID3 tag, or an MPEG audio frame's 11-bit sync word.
    return data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _heading(out: TextIO, text: str) -> None:
    out.write(f"\n== {text}\n")
    out.flush()


def _show_code(out: TextIO, code: str) -> None:
    for line in code.rstrip("\n").splitlines():
        out.write(f"    | {line}\n")


def run_demo(
    out: TextIO,
    *,
    output_dir: Path | None = None,
    stream_delay: float = DEFAULT_STREAM_DELAY,
) -> DemoSummary:
    """Run the whole demo, narrating on `out`; files go to `output_dir` (a new temporary
    folder when None, left in place so they can be looked at). Raises on any failure."""
    folder = output_dir if output_dir is not None else Path(tempfile.mkdtemp(prefix="dynaspark-demo-"))
    emulator = Emulator(stream_delay=stream_delay)
    calls: Counter[str] = Counter()
    files: list[SavedFile] = []
    with serve(emulator) as server, _pointed_at(server.url):
        out.write(f"Dynaspark emulator on {server.url} (loopback only; nothing leaves this machine)\n")

        _heading(out, "1. The seed document's example, unchanged but for its import line")
        _show_code(out, SEED_EXAMPLE)
        out.write("  output:\n")
        out.flush()
        seed_out = _Tee(out)
        run_seed_example(seed_out)
        calls["Dynaspark.create_async_generator"] += 1
        seed_answers = tuple(line for line in seed_out.text.splitlines() if line.startswith("Ответ модели:"))
        if not seed_answers:
            raise ResponseValidationError("the seed example printed no answer")

        with Client(base_url=server.url) as client:
            _heading(out, "2. Client.stream_text: the answer printed as it arrives")
            out.write("  ")
            pieces: list[str] = []
            with client.stream_text("Explain streaming in one line", temperature=0.7) as stream:
                for piece in stream:
                    pieces.append(piece)
                    out.write(piece)
                    out.flush()
            calls["Client.stream_text"] += 1
            out.write(f"\n  ({len(pieces)} chunks: {' '.join(repr(piece) for piece in pieces)})\n")

            _heading(out, "3. A conversation: the client keeps the history and folds it into each prompt")
            chat = client.conversation(model="gemini-2.0-flash")
            for question in ("Name a colour.", "And another one?"):
                answer = chat.send(question)
                calls["Conversation.send"] += 1
                out.write(f"  you> {question}\n  bot> {answer.text}\n")
            folded = emulator.requests[-1].fields.get("user_input", "")
            out.write("  the second request's user_input, as the service received it:\n")
            for line in folded.splitlines():
                out.write(f"    | {line}\n")

            _heading(out, f"4. An image and speech, saved to {folder}")
            image = client.generate_image("a lighthouse at dusk", width=320, height=200, seed=7)
            calls["Client.generate_image"] += 1
            png = image.download()
            calls["ImageResult.download"] += 1
            width, height = _png_size(png)
            png_path = folder / "lighthouse.png"
            png_path.write_bytes(png)
            files.append(SavedFile(png_path, len(png), f"PNG {width}x{height}"))
            out.write(f"  {png_path}: {len(png)} bytes, PNG {width}x{height} (from {image.url})\n")

            audio = client.generate_audio("Hello from the offline demo", voice="nova")
            calls["Client.generate_audio"] += 1
            if not _is_mp3(audio.data):
                raise ResponseValidationError("the saved speech is not MP3")
            mp3_path = audio.save(folder / "hello.mp3")
            files.append(SavedFile(mp3_path, len(audio.data), "MP3"))
            out.write(f"  {mp3_path}: {len(audio.data)} bytes, {audio.content_type} (voice {audio.voice})\n")

        received = Counter(f"{request.method} {_route(request.path)}" for request in emulator.requests)
        summary = DemoSummary(
            emulator_url=server.url,
            calls=tuple(calls.items()),
            requests=tuple(sorted(received.items())),
            files=tuple(files),
            folder=folder,
            seed_answers=seed_answers,
        )

    _heading(out, "Summary")
    out.write("  calls: " + ", ".join(f"{name} x{count}" for name, count in summary.calls) + "\n")
    out.write(f"  the emulator received {summary.request_count} requests:\n")
    for route, count in summary.requests:
        out.write(f"    {count} x {route}\n")
    out.write(f"  files in {folder}:\n")
    for saved in summary.files:
        out.write(f"    {saved.path.name}: {saved.size} bytes ({saved.kind})\n")
    out.write("  all offline: try it yourself with `dynaspark serve-fake` and DYNASPARK_BASE_URL.\n")
    out.flush()
    return summary


def _route(path: str) -> str:
    return "/images/<id>.png" if path.startswith("/images/") else path


class _Tee(io.StringIO):
    """A text stream that writes through to `target` and keeps a copy of what went by."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self._target = target

    @property
    def text(self) -> str:
        return self.getvalue()

    def write(self, text: str) -> int:
        self._target.write(text)
        return super().write(text)

    def flush(self) -> None:
        self._target.flush()
