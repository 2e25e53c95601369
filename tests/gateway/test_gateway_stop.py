"""The gateway's stop sequences, without I/O: a stream cut at the first stop sequence gives the
same text as the whole answer cut there, whatever the pieces, and holds back no more than
could begin a stop sequence."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from dynaspark_sdk.integrations.gateway._shapes.stop import StopCutter, cut

ALPHABET = "ab d"
texts = st.text(alphabet=ALPHABET, max_size=40)
stops = st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=4), min_size=1, max_size=4)


@given(text=texts, stops=stops, cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=8))
def test_a_stream_cut_piece_by_piece_is_the_whole_answer_cut(text: str, stops: list[str], cuts: list[int]) -> None:
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    pieces = [text[start:end] for start, end in itertools.pairwise(bounds)]
    cutter = StopCutter(tuple(stops))
    sent = received = ""
    for piece in pieces:
        received += piece
        sent += cutter.feed(piece)
        if cutter.stopped:
            break
        # Only the end of what arrived is held back, and only what could begin a stop sequence.
        held = received[len(sent) :]
        assert received.startswith(sent)
        assert not held or any(stop.startswith(held) for stop in stops)
    sent += cutter.finish()
    whole = cut(text, tuple(stops))
    assert sent == whole
    assert not any(stop in sent for stop in stops)


def test_cut_finds_the_earliest_of_several_stops() -> None:
    assert cut("one two three", ("three", "two")) == "one "
    assert cut("nothing here", ("zzz",)) == "nothing here"
    cutter = StopCutter(("END",))
    assert (cutter.feed("Hello E"), cutter.feed("ND and more"), cutter.stopped) == ("Hello ", "", True)
    assert cutter.feed("more") == "" and cutter.finish() == ""


def test_a_longer_stop_sequence_begun_before_a_shorter_one_is_waited_for() -> None:
    # "ada" begins before "d": once the text is "ada", nothing of it may have gone out.
    cutter = StopCutter(("d", "ada"))
    assert cutter.feed("ad") == ""
    assert cutter.feed("a") == ""
    assert cutter.stopped
    assert cutter.finish() == "" == cut("ada", ("d", "ada"))
    # The same stream ending before the longer sequence is whole: cut at the shorter one.
    cutter = StopCutter(("d", "ada"))
    assert (cutter.feed("ad"), cutter.feed("!"), cutter.stopped, cutter.finish()) == ("", "a", True, "")
    cutter = StopCutter(("d", "ada"))
    assert (cutter.feed("ad"), cutter.finish()) == ("", "a")
