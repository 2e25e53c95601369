"""Which parts of the project take a spec change yet, for `scripts/spec_changes.py`'s summary.

A model, alias, voice or image model added to the spec reaches every part at once: the
clients, the provider, the CLI, the gateway, the llm plugin and the emulator all read the
spec's lists. A new parameter or a new operation does not: each part that should take it
needs code (an argument, an option, a route). This module looks at the package as it is on
disk (after `scripts/generate`) and says, per added operation or parameter, which of these
parts do not take it yet:

    Client/AsyncClient  a method for the operation (named after its operationId), an argument
                        for the parameter (for generate_text, `extra_query` already sends a
                        spec parameter that has no argument, checked against the spec)
    CLI                 a command for the operation, an option for the parameter
    gateway             an OpenAI endpoint that maps to the operation, the parameter passed on
    llm plugin          a model that calls the operation, an option for the parameter
    emulator            rules for the operation (until then it answers from the spec's example),
                        and for what the parameter changes in an answer (it checks its value)

It knows how the existing operations map to each part (the tables below); for an operation it
does not know, it looks for a client method named after the operationId and a CLI command
named after it with dashes. A part it cannot import (an extra not installed) is "not checked".
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: operationId -> the client methods that call it.
SDK_METHODS: dict[str, tuple[str, ...]] = {
    "chat": ("chat", "stream_chat"),
    "chat_previous": ("chat", "stream_chat"),
    "generate_text": ("generate_text", "stream_text"),
    "generate_image": ("generate_image",),
    "status": ("status",),
}
#: Spec parameter -> the argument that sets it, where the names differ ("" for one the client sets
#: itself: the key, the prompt, `stream` by stream_text, `voice` by generate_audio).
SDK_ARGUMENTS = {"user_input": "", "api_key": "", "stream": "", "voice": "", "ai_model": "model", "file": "media"}
SDK_ARGUMENTS_BY_OPERATION = {"generate_image": {"wm": "watermark"}}
#: operationId -> the `dynaspark` commands that call it.
CLI_COMMANDS: dict[str, tuple[str, ...]] = {
    "chat": ("chat",),
    "chat_previous": ("chat",),
    "generate_text": ("text",),
    "generate_image": ("image",),
    "status": ("status",),
}
#: Spec parameter -> the CLI option's dest, where the names differ ("" for one set otherwise).
CLI_OPTIONS = {**SDK_ARGUMENTS, "file": "image", "json": "json_mode", "wm": "watermark"}
#: Operations the gateway's OpenAI endpoints call (speech goes through generate_text).
GATEWAY_OPERATIONS = frozenset({"chat", "chat_previous", "generate_text", "generate_image"})
#: Operations the llm plugin's models call.
LLM_OPERATIONS = frozenset({"chat", "chat_previous", "generate_text"})

Gap = tuple[str, str]
"""(part, what it lacks)."""


def _import(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _clients() -> list[type]:
    sdk = importlib.import_module("dynaspark_sdk")
    return [sdk.Client, sdk.AsyncClient]


def _methods(operation: str) -> tuple[str, ...]:
    return SDK_METHODS.get(operation, (operation,))


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = importlib.import_module("dynaspark_sdk.cli._parser").build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command_names(operation: str) -> tuple[str, ...]:
    return CLI_COMMANDS.get(operation, (operation.replace("_", "-"),))


def operation_gaps(operation: str, *, spec_only_routes: Iterable[str] = ()) -> list[Gap]:
    """The parts that have nothing for `operation` yet."""
    gaps: list[Gap] = []
    methods = _methods(operation)
    if not all(hasattr(client, method) for client in _clients() for method in methods):
        gaps.append(("Client/AsyncClient", f"no {operation}() method"))
    commands = _commands()
    if not any(name in commands for name in _command_names(operation)):
        gaps.append(("CLI", f"no `dynaspark {_command_names(operation)[0]}` command"))
    if operation not in GATEWAY_OPERATIONS:
        gaps.append(("gateway", "no OpenAI endpoint calls it (map one in integrations/gateway if one fits)"))
    if operation not in LLM_OPERATIONS:
        gaps.append(("llm plugin", "no model calls it"))
    if operation in set(spec_only_routes):
        gaps.append(("emulator", "answers it from the spec's example only (teach it in testing/_emulator.py)"))
    return gaps


def parameter_gaps(operation: str, name: str) -> list[Gap]:
    """The parts that do not take parameter (or form field) `name` of `operation` yet."""
    gaps: list[Gap] = []
    argument = SDK_ARGUMENTS_BY_OPERATION.get(operation, {}).get(name, SDK_ARGUMENTS.get(name, name))
    methods = [m for m in _methods(operation) if all(hasattr(c, m) for c in _clients())]
    if argument and methods:
        lacking = [m for m in methods if any(argument not in _parameters(c, m) for c in _clients())]
        if lacking:
            shown = ", ".join(f"{m}()" for m in lacking)
            generic = all("extra_query" in _parameters(c, m) for c in _clients() for m in lacking)
            how = f"; extra_query={{{name!r}: ...}} sends it, checked against the spec" if generic else ""
            gaps.append(("Client/AsyncClient", f"no {argument}= argument on {shown}{how}"))
    option = CLI_OPTIONS.get(name, name)
    commands = _commands()
    for command in _command_names(operation):
        if option and command in commands and option not in {a.dest for a in commands[command]._actions}:
            gaps.append(("CLI", f"no --{option.replace('_', '-')} option on `dynaspark {command}`"))
    if operation in GATEWAY_OPERATIONS:
        shapes = _import("dynaspark_sdk.integrations.gateway._shapes")
        if shapes is None:
            gaps.append(("gateway", "not checked (install the gateway extra)"))
        elif name not in set(getattr(shapes, "_TEXT_PARAMETERS", {}).values()):
            gaps.append(("gateway", f"does not pass {name} on"))
    if operation in LLM_OPERATIONS:
        gaps.extend(_llm_gaps(operation, name))
    gaps.append(("emulator", "checks its value against the spec, but answers as before"))
    return gaps


def _parameters(client: type, method: str) -> set[str]:
    return set(inspect.signature(getattr(client, method)).parameters)


def _llm_gaps(operation: str, name: str) -> list[Gap]:
    plugin = _import("dynaspark_sdk.integrations.llm_plugin")
    if plugin is None:
        return [("llm plugin", "not checked (install the llm extra)")]
    if operation != "generate_text":
        return [("llm plugin", f"does not send {name}")]
    fields = plugin.TextOptions.model_fields
    options = set(fields) | {field.alias for field in fields.values() if field.alias}
    return [] if name in options else [("llm plugin", f"no -o {name} option on dynaspark/text")]


def spec_only_operations() -> list[str]:
    """Operations the emulator answers only from the spec (it has no rules for them)."""
    emulator = _import("dynaspark_sdk.testing._emulator")
    routes = getattr(emulator, "_SPEC_ONLY", {}) if emulator is not None else {}
    return [operation for _, operation in routes.values()]


def load_package_from(root: Path = ROOT) -> None:
    """Import the package from `root` (the freshly generated one), not an installed copy."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
