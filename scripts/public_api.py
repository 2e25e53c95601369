"""Guard the public Python API with a committed snapshot, api/public_api.txt.

    python scripts/public_api.py check     # exit 1, with a diff, when the API differs from the snapshot
    python scripts/public_api.py update    # rewrite the snapshot (scripts/public-api update)
    python scripts/public_api.py dump      # print the API as the snapshot would hold it

The public API is every name in `__all__` of `dynaspark_sdk` and of each of its modules whose
dotted path has no part starting with "_" (`dynaspark_sdk.testing`, `dynaspark_sdk.cli`,
`dynaspark_sdk.integrations.probe`, ...): for each, its kind and signature; for classes their
bases, `__init__` (which, for the attrs result classes, lists their fields) and every public
method, property and attribute they define.

`update` refuses a breaking change (a name, member or parameter removed or renamed, a
parameter that became required or moved) until CHANGELOG.md's "Unreleased" section names
what broke, so a release cannot ship one silently.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "api" / "public_api.txt"
CHANGELOG = ROOT / "CHANGELOG.md"
PACKAGE = "dynaspark_sdk"
HEADER = "# The public API of dynaspark_sdk. Written by `scripts/public-api update`; do not edit by hand.\n"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_DUNDERS_SHOWN = ("__init__", "__call__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__iter__", "__aiter__")


def public_modules() -> list[ModuleType]:
    """The package and each public module in it that declares `__all__`."""
    package = importlib.import_module(PACKAGE)
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            found.append(module)
    return found


class _Shown:
    """An annotation written as the source wrote it (no quotes around string annotations)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty:
        return annotation
    return _Shown(annotation if isinstance(annotation, str) else inspect.formatannotation(annotation))


def _signature(obj: Any) -> str:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    signature = signature.replace(
        parameters=[p.replace(annotation=_shown(p.annotation)) for p in signature.parameters.values()],
        return_annotation=_shown(signature.return_annotation),
    )
    return _ADDRESS.sub("", str(signature))


_PUBLIC_NAMES: dict[int, str] = {}


def _name_of(cls: type) -> str:
    return _PUBLIC_NAMES.get(id(cls), f"{cls.__module__}.{cls.__qualname__}")


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def _class_lines(name: str, cls: type) -> list[str]:
    # Private bases are the package's business; what they give shows as the class's members.
    bases = ", ".join(_name_of(b) for b in cls.__bases__ if b is not object and not _private(_name_of(b)))
    lines = [f"class {name}" + (f"({bases})" if bases else "")]
    if attrs.has(cls):
        for field in attrs.fields(cls):
            if not field.name.startswith("_"):
                shown = field.type if isinstance(field.type, str) else inspect.formatannotation(field.type)
                lines.append(f"    field {field.name}: {shown}")
    own = [klass for klass in cls.__mro__ if klass.__module__.startswith(PACKAGE)]
    members: dict[str, Any] = {}
    for klass in reversed(own):
        for member, value in vars(klass).items():
            if not member.startswith("_") or member in _DUNDERS_SHOWN:
                members[member] = value
    for member in sorted(members):
        value = members[member]
        if isinstance(value, property):
            returns = inspect.signature(value.fget).return_annotation if value.fget else inspect.Signature.empty
            shown = "" if returns is inspect.Signature.empty else f": {_shown(returns)!r}"
            lines.append(f"    property {member}{shown}")
        elif isinstance(value, classmethod | staticmethod):
            kind = "classmethod" if isinstance(value, classmethod) else "staticmethod"
            lines.append(f"    {kind} {member}{_signature(getattr(cls, member))}")
        elif inspect.isfunction(value):
            prefix = "async def" if inspect.iscoroutinefunction(value) else "def"
            lines.append(f"    {prefix} {member}{_signature(value)}")
        elif member.startswith("_") or inspect.isclass(value) or type(value).__name__ == "member_descriptor":
            continue
        else:
            lines.append(f"    attribute {member}: {type(value).__name__}")
    return lines


def api_lines() -> list[str]:
    """The public API, one line per name or member."""
    lines: list[str] = []
    seen: dict[int, str] = {}
    modules = public_modules()
    _PUBLIC_NAMES.update({id(getattr(modules[0], n)): f"{PACKAGE}.{n}" for n in modules[0].__all__})
    for module in modules:
        lines.append(f"module {module.__name__}")
        for name in sorted(module.__all__):
            qualified = f"{module.__name__}.{name}"
            obj = getattr(module, name)
            if name == "__version__":
                lines.append(f"  {qualified}: str")
            elif id(obj) in seen and (inspect.isclass(obj) or callable(obj) or inspect.ismodule(obj)):
                lines.append(f"  {qualified} = {seen[id(obj)]}")
            elif inspect.ismodule(obj):
                lines.append(f"  {qualified}: module {obj.__name__}")
            elif inspect.isclass(obj):
                seen[id(obj)] = qualified
                lines.extend(f"  {line}" for line in _class_lines(qualified, obj))
            elif callable(obj):
                seen[id(obj)] = qualified
                prefix = "async def" if inspect.iscoroutinefunction(obj) else "def"
                lines.append(f"  {prefix} {qualified}{_signature(obj)}")
            else:
                lines.append(f"  {qualified}: {type(obj).__name__}")
    return lines


# --------------------------------------------------------------------------- what breaks


def _key(line: str) -> str:
    """What a line is about: its kind and dotted name (the signature left out)."""
    text = line.strip()
    kinds = "(?:async )?def|classmethod|staticmethod|property|attribute|field|class|module"
    match = re.match(rf"({kinds})\s+([\w.]+)", text)
    if match:
        return f"{match.group(1)} {match.group(2)}"
    return re.split(r"[:=(]", text, maxsplit=1)[0].strip()


def _owners(lines: list[str]) -> list[str]:
    """Each line's key, prefixed by its class's name for members."""
    keys, owner = [], ""
    for line in lines:
        if line.startswith("  class "):
            owner = _key(line).split(" ", 1)[1]
        elif not line.startswith("    "):
            owner = ""
        keys.append(f"{owner}::{_key(line)}" if line.startswith("    ") else _key(line))
    return keys


def _parameters(signature: str) -> list[str] | None:
    """The parameters of a printed signature `(a, b: int = 1, *, c) -> X`, split at top level."""
    if "(" not in signature:
        return None
    text = signature[signature.index("(") + 1 :]
    depth, current, parts = 0, "", []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _compatible(old: str, new: str) -> bool:
    """Whether a call that worked with signature `old` still works with `new`: every old
    parameter kept, in its place and kind, and every new one optional (a changed annotation
    or default counts as compatible: the guard's diff still shows it)."""
    before, after = _parameters(old), _parameters(new)
    if before is None or after is None:
        return False

    def name(param: str) -> str:
        return re.split(r"[:=]", param, maxsplit=1)[0].strip()

    old_names, new_names = [name(p) for p in before], [name(p) for p in after]
    if new_names[: len(old_names)] != old_names and not set(old_names) <= set(new_names):
        return False
    marker = "*" if "*" in new_names else None
    for index, old_name in enumerate(old_names):
        if old_name not in new_names:
            return False
        positional_before = "*" not in old_names[:index] and old_name not in ("*", "/")
        new_index = new_names.index(old_name)
        if positional_before and (new_index != index or (marker and new_names.index(marker) < new_index)):
            return False
    added = [p for p in after if name(p) not in old_names and name(p) not in ("*", "/")]
    return all("=" in p or p.startswith("*") for p in added)


def breaking_changes(old: list[str], new: list[str]) -> list[str]:
    """What a caller of the `old` API may find broken in the `new` one, one line each:
    "removed NAME: LINE" or "changed NAME: OLD -> NEW", NAME dotted (`dynaspark_sdk.Client.chat`)."""
    old_keys, new_keys = _owners(old), _owners(new)
    new_by_key = dict(zip(new_keys, new, strict=True))
    broken = []
    for key, line in zip(old_keys, old, strict=True):
        if line in new or key.startswith("module "):
            continue
        owner, _, member = key.rpartition("::")
        name = member.split(" ")[-1]
        dotted = f"{owner}.{name}" if owner else name
        replacement = new_by_key.get(key)
        if replacement is None:
            broken.append(f"removed {dotted}: {line.strip()}")
        elif not _compatible(line, replacement) or _bases(line) != _bases(replacement):
            broken.append(f"changed {dotted}: {line.strip()} -> {replacement.strip()}")
    return broken


def _bases(line: str) -> str | None:
    return line.split("(", 1)[1] if line.strip().startswith("class ") and "(" in line else None


def _unreleased(changelog: str) -> str:
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", changelog, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def missing_changelog(broken: list[str], changelog: str) -> list[str]:
    """The breaking changes that CHANGELOG.md's Unreleased section does not name: a member as
    `Class.member` (a constructor as the class), anything else by its own name."""
    unreleased = _unreleased(changelog)
    missing = []
    for change in broken:
        dotted = change.split(" ", 1)[1].split(":", 1)[0].removesuffix(".__init__")
        parts = dotted.split(".")
        wanted = ".".join(parts[-2:]) if len(parts) > 2 and parts[-2][:1].isupper() else parts[-1]
        if not re.search(rf"(?<![\w.]){re.escape(wanted)}(?!\w)", unreleased):
            missing.append(change)
    return missing


# --------------------------------------------------------------------------- commands


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command not in ("check", "update", "dump"):
        print("usage: public_api.py check|update|dump", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    live = api_lines()
    if command == "dump":
        sys.stdout.write("\n".join(live) + "\n")
        return 0
    committed = SNAPSHOT.read_text(encoding="utf-8").splitlines()[1:] if SNAPSHOT.exists() else []
    if command == "check":
        if committed == live:
            print(f"public API: matches {SNAPSHOT.relative_to(ROOT)} ({len(live)} lines)")
            return 0
        sys.stdout.writelines(
            difflib.unified_diff(
                [f"{line}\n" for line in committed], [f"{line}\n" for line in live], "snapshot", "code", n=1
            )
        )
        broken = breaking_changes(committed, live)
        print(
            f"\npublic API: the code differs from {SNAPSHOT.relative_to(ROOT)}"
            + (f" ({len(broken)} breaking change(s))" if broken else "")
            + ". If the change is meant, run `scripts/public-api update` and commit the snapshot"
            + (" (a breaking change needs its entry in CHANGELOG.md first)." if broken else "."),
            file=sys.stderr,
        )
        return 1
    broken = breaking_changes(committed, live) if committed else []
    changelog = CHANGELOG.read_text(encoding="utf-8") if CHANGELOG.exists() else ""
    missing = missing_changelog(broken, changelog)
    if missing:
        print(
            "public API: breaking changes need an entry in CHANGELOG.md's [Unreleased] section"
            " naming each of them; not updated:",
            file=sys.stderr,
        )
        for change in missing:
            print(f"  {change}", file=sys.stderr)
        return 1
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(HEADER + "\n".join(live) + "\n", encoding="utf-8")
    print(f"public API: wrote {SNAPSHOT.relative_to(ROOT)} ({len(live)} lines, {len(broken)} breaking change(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
