"""A small "waiting" indicator on stderr for the command line, drawn only on a terminal.

The free Dynaspark instance can take a minute to wake, and a silent terminal for that long
looks like a hang. The spinner is drawn from a daemon thread on one line, which `stop()`
wipes (carriage return, spaces, carriage return) before any answer is printed. When the
stream is not a terminal nothing is ever written, so pipes and logs stay clean.

    with Spinner(sys.stderr, "waiting for Dynaspark") as spinner:
        first = next(pieces)
        spinner.stop()          # before the first byte of output
        print(first, end="")
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self, TextIO

__all__ = ["Spinner"]

_UNICODE_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ASCII_FRAMES = "|/-\\"
_FRAME_SECONDS = 0.1
# Answers that come quickly should not make the line flicker.
_DEFAULT_START_DELAY = 0.25
# Past this, say why the wait may be long (a cold start of the free instance).
_SLOW_AFTER_SECONDS = 5.0


def _frames_for(stream: TextIO) -> str:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        _UNICODE_FRAMES.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return _ASCII_FRAMES
    return _UNICODE_FRAMES


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Spinner:
    """Draws `label` with a turning frame on `stream` until `stop()`; a no-op off a terminal.

    `start_delay` is how long to wait before drawing anything. `stop()` is idempotent and
    leaves the cursor at the start of an empty line, exactly where it found it.
    """

    def __init__(
        self, stream: TextIO, label: str = "waiting for Dynaspark", *, start_delay: float | None = None
    ) -> None:
        self.stream = stream
        self.label = label
        self.start_delay = _DEFAULT_START_DELAY if start_delay is None else start_delay
        self.enabled = _is_terminal(stream)
        self._frames = _frames_for(stream)
        self._stopped = threading.Event()
        # Guards the line: stop() must not wipe it while a frame is half written.
        self._lock = threading.Lock()
        self._drawn_width = 0
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Whether the drawing thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Begin drawing (after `start_delay`); does nothing off a terminal or once stopped."""
        if self.enabled and self._thread is None and not self._stopped.is_set():
            self._thread = threading.Thread(target=self._run, name="dynaspark-spinner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop drawing and wipe the line. Safe to call any number of times, from any thread."""
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._clear()

    def _run(self) -> None:
        if self._stopped.wait(self.start_delay):
            return
        began = time.monotonic()
        index = 0
        while not self._stopped.is_set():
            waited = time.monotonic() - began + self.start_delay
            note = f" ({waited:.0f}s; the service may be waking up)" if waited >= _SLOW_AFTER_SECONDS else ""
            self._draw(f"{self._frames[index % len(self._frames)]} {self.label}{note}")
            index += 1
            self._stopped.wait(_FRAME_SECONDS)

    def _draw(self, text: str) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            # Pad over a longer previous frame so no characters of it remain.
            padding = " " * max(0, self._drawn_width - len(text))
            self._write("\r" + text + padding)
            self._drawn_width = max(self._drawn_width, len(text))

    def _clear(self) -> None:
        with self._lock:
            if self._drawn_width:
                self._write("\r" + " " * self._drawn_width + "\r")
                self._drawn_width = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            # A closed or broken terminal: the spinner is decoration, never a reason to fail.
            self._stopped.set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
