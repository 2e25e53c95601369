"""`stop`: the answer cut before the first stop sequence, whole or as it streams. No I/O.

The service has no stop sequences, so the gateway cuts the text itself. In a stream it holds
back only the characters that could be the beginning of a stop sequence, so nothing past one
is ever sent and everything else goes out as soon as it arrives:

    >>> cutter = StopCutter(("END",))
    >>> cutter.feed("Hello E"), cutter.feed("ND and more"), cutter.stopped
    ('Hello ', '', True)
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request

__all__ = ["MAX_STOP_SEQUENCES", "StopCutter", "cut", "parse_stop"]

#: OpenAI takes up to 4 stop sequences.
MAX_STOP_SEQUENCES = 4


def parse_stop(value: Any) -> tuple[str, ...]:
    """The stop sequences of `stop` (null, a string, or an array of up to 4 strings)."""
    if value is None:
        return ()
    sequences = [value] if isinstance(value, str) else value
    if not isinstance(sequences, list) or len(sequences) > MAX_STOP_SEQUENCES:
        raise bad_request(f"'stop' must be a string or an array of up to {MAX_STOP_SEQUENCES} strings", param="stop")
    for sequence in sequences:
        if not isinstance(sequence, str) or not sequence:
            raise bad_request("each 'stop' sequence must be a non-empty string", param="stop")
    return tuple(sequences)


def cut(text: str, stops: tuple[str, ...]) -> str:
    """`text` up to (without) the first stop sequence in it."""
    end = len(text)
    for stop in stops:
        found = text.find(stop, 0, end + len(stop) - 1)
        if found != -1:
            end = found
    return text[:end]


class StopCutter:
    """Cuts a stream of text pieces before the first stop sequence: `feed()` each piece and
    send what it returns; once `stopped`, the rest of the stream is not wanted; at the end of
    the stream `finish()` gives what was held back."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = stops
        self._hold = max(len(stop) for stop in stops) - 1
        self._pending = ""
        self.stopped = False

    def _held_back(self, text: str) -> int:
        """How many characters at the end of `text` could begin a stop sequence."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def feed(self, piece: str) -> str:
        """The text of `piece` that can be sent now ("" after the stop)."""
        if self.stopped:
            return ""
        text = self._pending + piece
        found = len(cut(text, self._stops))
        # Where the end of `text` could begin a stop sequence still to come: a longer sequence
        # that begins there, before the one found, would be the first one (`cut`'s rule).
        undecided = len(text) - (self._held_back(text) if self._hold else 0)
        if found < len(text) and found <= undecided:
            self.stopped = True
            self._pending = ""
            return text[:found]
        self._pending = text[undecided:]
        return text[:undecided]

    def finish(self) -> str:
        """What was held back, at the end of a stream (cut before a stop sequence in it)."""
        rest, self._pending = self._pending, ""
        return "" if self.stopped else cut(rest, self._stops)
