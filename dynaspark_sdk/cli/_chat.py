"""`dynaspark chat`: one answer, or an interactive session."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

from ._errors import report
from ._inputs import check_image_file, make_client, read_stdin, stdin_is_terminal, text_argument
from ._output import EXIT_OK, Output, UsageError, rate_limit_json

if TYPE_CHECKING:
    from dynaspark_sdk import Client


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
            "Chatting with Dynaspark. /reset forgets the conversation, /exit (or Ctrl-D) quits; Ctrl-C clears the line."
        )
    worst = EXIT_OK
    pending = [first] if first is not None else []
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
            except KeyboardInterrupt:
                if not terminal:
                    raise
                # As in Python's REPL: Ctrl-C at the prompt drops the line, the session goes on.
                out.note("")
                continue
        text = line.strip()
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
        except DynasparkError as exc:
            # One failed turn leaves the history as it was; the session goes on.
            worst = max(worst, report(exc, out))
            continue
        if out.json:
            out.emit_json({"user": text, "text": answer.text, "model": answer.model})
        else:
            out.line(answer.text)
    return worst
