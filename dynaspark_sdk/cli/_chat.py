"""`dynaspark chat`: one answer, or an interactive session."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

from ._errors import report
from ._inputs import (
    check_image_file,
    checked_text,
    make_client,
    read_stdin,
    stdin_is_terminal,
    text_argument,
    undecodable_stdin,
)
from ._output import EXIT_OK, EXIT_USAGE, Output, UsageError, rate_limit_json

if TYPE_CHECKING:
    from dynaspark_sdk import Client


def _typed_line() -> bool:
    """Whether the line being typed held text when Ctrl-C came (False without readline)."""
    try:
        import readline
    except ImportError:
        return False
    return bool(readline.get_line_buffer().strip())


def run_chat(args: argparse.Namespace, out: Output) -> int:
    prompt: str | None = args.prompt
    if prompt is not None:
        prompt = text_argument(prompt, "PROMPT")
    elif not args.interactive and not stdin_is_terminal():
        piped = read_stdin()
        if not piped.strip():
            raise UsageError("no prompt: give one, pipe text in, or run on a terminal for a session")
        prompt = piped.rstrip("\n")
    with make_client(args) as client:
        if prompt is not None and not args.interactive:
            with out.spinner():
                answer = client.chat(prompt, model=args.model, media=args.image)
            if out.json:
                out.emit_json(
                    {"text": answer.text, "model": answer.model, "rate_limit": rate_limit_json(answer.rate_limit)}
                )
            else:
                out.line(answer.text)
            return EXIT_OK
        return chat_session(client, args, out, first=prompt)


def chat_session(client: Client, args: argparse.Namespace, out: Output, *, first: str | None) -> int:
    """An interactive chat: the client keeps the history and folds it into each prompt."""
    from dynaspark_sdk import DynasparkError

    terminal = stdin_is_terminal()
    check_image_file(args.image)
    conversation = client.conversation(model=args.model)
    if terminal:
        # Line editing and history for input(), where the platform has it.
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401
        out.note(
            "Chatting with Dynaspark. /reset forgets the conversation, /exit (or Ctrl-D) quits;"
            " Ctrl-C clears the line or cancels an answer, twice at an empty prompt it quits."
        )
    worst = EXIT_OK
    pending = [first] if first is not None else []
    # A Ctrl-C just cancelled an answer or met an empty prompt: one more at the prompt ends.
    armed = False
    while True:
        if pending:
            line = pending.pop()
        else:
            try:
                line = input("you> " if terminal else "")
            except EOFError:
                if terminal:
                    out.note("")
                break
            except UnicodeDecodeError as exc:
                # A strict stdin loses the whole chunk it could not decode: the session ends.
                error = undecodable_stdin(exc)
                worst = max(worst, out.error(str(error), exit_code=EXIT_USAGE, kind="UsageError"))
                break
            except KeyboardInterrupt:
                if not terminal:
                    raise
                out.note("")
                if _typed_line():
                    # As in Python's REPL: Ctrl-C drops the line being typed, the session goes on.
                    armed = False
                    continue
                if armed:
                    break
                armed = True
                out.note("(Ctrl-C again, Ctrl-D or /exit quits)")
                continue
        armed = False
        try:
            text = checked_text(line, "stdin").strip()
        except UsageError as exc:
            # One unreadable line is refused like a failed turn; the session goes on.
            worst = max(worst, out.error(str(exc), exit_code=EXIT_USAGE, kind="UsageError"))
            continue
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            conversation = client.conversation(model=args.model)
            out.note("(conversation reset)")
            continue
        try:
            with out.spinner():
                answer = conversation.send(text, media=args.image)
        except KeyboardInterrupt:
            if not terminal:
                raise
            # As ollama's REPL: Ctrl-C while waiting cancels that request only. The conversation
            # records an exchange once answered, so its history is as it was before the question.
            out.note("")
            out.note("(cancelled; the conversation is as it was. Ctrl-C again quits)")
            armed = True
            continue
        except DynasparkError as exc:
            # One failed turn leaves the history as it was; the session goes on.
            worst = max(worst, report(exc, out))
            continue
        if out.json:
            out.emit_json({"user": text, "text": answer.text, "model": answer.model})
        else:
            out.line(answer.text)
    return worst
