"""Guard the public Python API with a committed snapshot, api/public_api.txt.

    python scripts/public_api.py check     # exit 1, with a diff, when the API differs from the snapshot
    python scripts/public_api.py update    # rewrite the snapshot (scripts/public-api update)
    python scripts/public_api.py dump      # print the API as the snapshot would hold it

The public API is every name in `__all__` of `dynaspark_sdk` and of each of its modules whose
dotted path has no part starting with "_" (`dynaspark_sdk.testing`, `dynaspark_sdk.cli`,
`dynaspark_sdk.integrations.probe`, ...): for each, its kind and signature; for classes their
bases, `__init__` (which, for the attrs result classes, lists their fields) and every public
method, property and attribute they define.

`update` refuses a breaking change until CHANGELOG.md's "Unreleased" section names what
broke, so a release cannot ship one silently. What breaks is griffe's verdict
(`griffe.find_breaking_changes`, the check openai-python and anthropic-sdk-python run), from
the code of the commit that last wrote the snapshot to the working tree: a name, member or
parameter removed or renamed, a parameter moved, made required or of another kind, a changed
default or constant, a removed base; plus the two kinds griffe 2.4 skips, a changed return
annotation and a replaced base class. griffe reads the source, so the lazy exports of
`dynaspark_sdk/__init__.py` resolve without importing anything.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import io
import logging
import pkgutil
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import attrs
import griffe

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "api" / "public_api.txt"
CHANGELOG = ROOT / "CHANGELOG.md"
PACKAGE = "dynaspark_sdk"
HEADER = "# The public API of dynaspark_sdk. Written by `scripts/public-api update`; do not edit by hand.\n"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# griffe warns about every annotation it cannot resolve outside the package (httpx, anyio, ...).
logging.getLogger("griffe").setLevel(logging.ERROR)
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


class Break(NamedTuple):
    """One breaking change: the public dotted name it is about, and what happened to it."""

    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def load_api(package_dir: Path) -> griffe.Module:
    """The package in `package_dir`, read by griffe from source (never imported). Given as a
    path, so an installed copy of dynaspark_sdk cannot be picked up instead."""
    package = griffe.load(package_dir, resolve_aliases=True, resolve_external=False)
    assert isinstance(package, griffe.Module)
    return package


def snapshot_commit() -> str | None:
    """The last commit that wrote api/public_api.txt: its code has the API the snapshot holds
    (scripts/test fails any commit where they differ), so it is what "breaking" is measured
    against. None outside a git checkout, or before the snapshot is first committed."""
    try:
        found = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", str(SNAPSHOT.relative_to(ROOT))],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return found.stdout.strip() or None


def load_api_at(commit: str, scratch: Path) -> griffe.Module:
    """The package as it was at `commit`, extracted into `scratch` with `git archive`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, PACKAGE], cwd=ROOT, capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(scratch, filter="data")
    return load_api(scratch / PACKAGE)


def _public_names(root: griffe.Module) -> dict[str, str]:
    """Each public object's canonical path (`dynaspark_sdk._results.AudioResult`) -> the name
    users import it by (`dynaspark_sdk.AudioResult`), the package's own names first."""
    names: dict[str, str] = {}
    modules = [root, *(m for m in root.modules.values() if m.is_public)]
    for module in modules:
        for name, member in module.members.items():
            if member.is_public and isinstance(member, griffe.Alias):
                names.setdefault(member.target_path, f"{module.path}.{name}")
            elif member.is_public:
                names.setdefault(member.path, f"{module.path}.{name}")
    return names


def _shown_path(path: str, names: dict[str, str]) -> str:
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        shown = names.get(".".join(parts[:end]))
        if shown:
            return ".".join([shown, *parts[end:]])
    return path


def _value(value: object) -> str:
    if isinstance(value, griffe.Parameter):
        return f"{value.name}: {value.annotation}" + (f" = {value.default}" if value.default is not None else "")
    return str(value)


def _target(member: griffe.Object | griffe.Alias) -> griffe.Object:
    return member.final_target if isinstance(member, griffe.Alias) else member


def _own_checks(old: griffe.Object, new: griffe.Object, path: str = "") -> Iterator[tuple[str, str]]:
    """What griffe 2.4 leaves out: a changed return annotation (a TODO in griffe) and a base
    class replaced by another (griffe flags only a shorter list of bases)."""
    for name, old_member in old.members.items():
        new_member = new.members.get(name)
        if not old_member.is_public or new_member is None:
            continue
        try:
            before, after = _target(old_member), _target(new_member)
        except griffe.AliasResolutionError:
            continue
        dotted = f"{path or old.path}.{name}"
        if isinstance(before, griffe.Function) and isinstance(after, griffe.Function):
            old_returns, new_returns = str(before.returns), str(after.returns)
            if before.returns is not None and old_returns != new_returns:
                yield dotted, f"return annotation changed: {old_returns} -> {new_returns}"
        if isinstance(before, griffe.Class) and isinstance(after, griffe.Class):
            removed = [str(base) for base in before.bases if str(base) not in {str(b) for b in after.bases}]
            if removed and len(after.bases) >= len(before.bases):
                yield dotted, f"base class removed: {', '.join(removed)}"
            yield from _own_checks(before, after, dotted)


def breaking_changes(old: griffe.Module, new: griffe.Module) -> list[Break]:
    """What a caller of the `old` API may find broken in the `new` one: griffe's breakages
    (removed names, members and parameters, parameters moved, made required or of another
    kind, changed defaults and constants, removed bases) and the two kinds it skips, each
    under the public name users import (`dynaspark_sdk.Client.chat`)."""
    names = _public_names(old)
    found: list[Break] = []
    for breakage in griffe.find_breaking_changes(old, new):
        if breakage.obj.name == "__version__":
            continue  # every release changes it
        what = breakage.kind.value.lower()
        if breakage.kind is griffe.BreakageKind.OBJECT_REMOVED:
            what = "removed"
        elif isinstance(breakage.old_value, griffe.Parameter) or isinstance(breakage.new_value, griffe.Parameter):
            parameter = breakage.old_value if breakage.old_value is not None else breakage.new_value
            what = f"parameter {parameter.name}: {what}"
            if breakage.old_value is not None and breakage.new_value is not None:
                what += f" ({_value(breakage.old_value)} -> {_value(breakage.new_value)})"
        elif breakage.old_value is not None or breakage.new_value is not None:
            what += f" ({_value(breakage.old_value)} -> {_value(breakage.new_value)})"
        found.append(Break(_shown_path(breakage.obj.path, names), what))
    modules = [old, *(m for m in old.modules.values() if m.is_public)]
    for module in modules:
        if module.path in new.modules_collection:
            for path, what in _own_checks(module, new.modules_collection[module.path]):
                found.append(Break(_shown_path(path, names), what))
    # A class that lost a base loses what it inherited: the base is the change to name.
    rebased = {b.path for b in found if b.what.startswith("base class removed")}
    found = [b for b in found if not (b.what == "removed" and b.path.rpartition(".")[0] in rebased)]
    return sorted(set(found))


def _unreleased(changelog: str) -> str:
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", changelog, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def missing_changelog(broken: list[Break], changelog: str) -> list[Break]:
    """The breaking changes that CHANGELOG.md's Unreleased section does not name: a member as
    `Class.member` (a constructor as the class), anything else by its own name."""
    unreleased = _unreleased(changelog)
    missing = []
    for change in broken:
        parts = change.path.removesuffix(".__init__").split(".")
        wanted = ".".join(parts[-2:]) if len(parts) > 2 and parts[-2][:1].isupper() else parts[-1]
        if not re.search(rf"(?<![\w.]){re.escape(wanted)}(?!\w)", unreleased):
            missing.append(change)
    return missing


# --------------------------------------------------------------------------- commands


def breaking_since_snapshot() -> tuple[list[Break], str | None]:
    """The breaking changes from the committed snapshot's code to the working tree, and the
    commit measured against (None, with no changes, when there is none to measure against)."""
    commit = snapshot_commit()
    if commit is None:
        return [], None
    with tempfile.TemporaryDirectory() as scratch:
        old = load_api_at(commit, Path(scratch))
        return breaking_changes(old, load_api(ROOT / PACKAGE)), commit


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
        broken, _ = breaking_since_snapshot()
        for change in broken:
            print(f"  breaking: {change}", file=sys.stderr)
        print(
            f"\npublic API: the code differs from {SNAPSHOT.relative_to(ROOT)}"
            + (f" ({len(broken)} breaking change(s))" if broken else "")
            + ". If the change is meant, run `scripts/public-api update` and commit the snapshot"
            + (" (a breaking change needs its entry in CHANGELOG.md first)." if broken else "."),
            file=sys.stderr,
        )
        return 1
    broken, commit = breaking_since_snapshot()
    if commit is None and committed:
        print(
            f"public API: {SNAPSHOT.relative_to(ROOT)} has no commit to measure breaking changes against"
            " (not a git checkout, or never committed); writing it without that check.",
            file=sys.stderr,
        )
    changelog = CHANGELOG.read_text(encoding="utf-8") if CHANGELOG.exists() else ""
    missing = missing_changelog(broken, changelog)
    if missing:
        print(
            "public API: breaking changes (since the snapshot's commit"
            f" {commit[:12] if commit else '?'}) need an entry in CHANGELOG.md's [Unreleased] section"
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
