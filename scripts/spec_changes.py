"""What changed in openapi/dynaspark.yaml, in the terms of someone calling the service.

    python scripts/spec_changes.py                # the last commit's spec -> the working file
    python scripts/spec_changes.py OLD NEW        # two spec files

`scripts/generate` ends with this summary. It lists operations, parameters and form fields,
enumerations (models, voices), ranges, defaults, answer fields and content types that were
added, removed or changed, and marks BREAKING what can break a caller that worked before: a
removed operation, parameter, model or answer field, a new required parameter, a narrowed
range, a type that no longer accepts what it did.

Without arguments (as `scripts/generate` runs it) it also says, under each added operation or
parameter, which parts of the project do not take it yet (see `spec_reach.py`). A file that is
not a YAML mapping is one line on stderr and exit status 2.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path("openapi") / "dynaspark.yaml"
_METHODS = ("get", "post", "put", "patch", "delete")
# Component schemas whose enumeration users know by a name.
_ENUM_NAMES = {"ChatModel": "chat models", "ImageModel": "image models", "Voice": "voices"}


@attrs.frozen
class Change:
    """One change, said for a user; `breaking` when a caller that worked may now fail.

    `operation` and `parameter` name what was added, for an operation or parameter the spec
    gained (which the project's parts must then learn: see `spec_reach`)."""

    text: str
    breaking: bool = False
    operation: str | None = None
    parameter: str | None = None

    def line(self) -> str:
        return f"  {'BREAKING' if self.breaking else '        '}  {self.text}"


Gaps = Callable[[Change], list[tuple[str, str]]]
"""For a change, the parts of the project that do not take it yet: (part, what it lacks)."""


def _resolve(spec: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        cursor: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            cursor = cursor[part]
        node = cursor
    return node


def _operations(spec: Mapping[str, Any]) -> dict[str, tuple[str, str, Mapping[str, Any]]]:
    """operationId -> (METHOD, path, operation)."""
    found: dict[str, tuple[str, str, Mapping[str, Any]]] = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHODS:
            if method in item:
                operation = item[method]
                found[str(operation.get("operationId") or f"{method} {path}")] = (method.upper(), path, operation)
    return found


def _fields(spec: Mapping[str, Any], operation: Mapping[str, Any]) -> dict[str, tuple[bool, Mapping[str, Any], bool]]:
    """Parameter or form-field name -> (required, schema resolved, schema was a named $ref)."""
    fields: dict[str, tuple[bool, Mapping[str, Any], bool]] = {}
    for param in operation.get("parameters", []):
        param = _resolve(spec, param)
        raw = param.get("schema", {})
        fields[param["name"]] = (bool(param.get("required")), _resolve(spec, raw), "$ref" in raw)
    body = _resolve(spec, operation.get("requestBody") or {})
    for media in (body.get("content") or {}).values():
        form = _resolve(spec, media.get("schema", {}))
        required = set(form.get("required", []))
        for name, raw in (form.get("properties") or {}).items():
            if name not in fields:
                fields[name] = (name in required, _resolve(spec, raw), "$ref" in raw)
    return fields


def _types(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return set().union(*(_types(spec, _resolve(spec, s)) for s in schema[key]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {str(kind)} if kind else {"any"}


def _values(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _enum_change(what: str, old: Any, new: Any) -> Iterator[Change]:
    old_values, new_values = list(old or []), list(new or [])
    added = [v for v in new_values if v not in old_values]
    removed = [v for v in old_values if v not in new_values]
    if added:
        yield Change(f"{what}: added {_values(added)}")
    if removed:
        yield Change(f"{what}: removed {_values(removed)}", breaking=True)


def _field_changes(spec_old: Any, spec_new: Any, where: str, name: str, old: Any, new: Any) -> Iterator[Change]:
    (old_required, old_schema, old_ref), (new_required, new_schema, new_ref) = old, new
    label = f"{where}: {name}"
    if new_required and not old_required:
        yield Change(f"{label} is now required", breaking=True)
    elif old_required and not new_required:
        yield Change(f"{label} is now optional")
    old_types, new_types = _types(spec_old, old_schema), _types(spec_new, new_schema)
    if old_types != new_types:
        narrowed = not old_types <= new_types and "any" not in new_types
        shown = f"{' or '.join(sorted(old_types))} -> {' or '.join(sorted(new_types))}"
        yield Change(f"{label} type {shown}", breaking=narrowed)
    for bound in ("minimum", "maximum"):
        o, n = old_schema.get(bound), new_schema.get(bound)
        if o == n:
            continue
        if o is None:
            yield Change(f"{label} {bound} {n} (new bound)", breaking=True)
        elif n is None:
            yield Change(f"{label} {bound} {o} dropped (widened)")
        else:
            narrowed = n > o if bound == "minimum" else n < o
            yield Change(f"{label} {bound} {o} -> {n} ({'narrowed' if narrowed else 'widened'})", breaking=narrowed)
    if old_ref and new_ref:
        return  # a named enumeration (and its default) is reported once, under its own name
    if old_schema.get("default") != new_schema.get("default"):
        yield Change(f"{label} default {old_schema.get('default')} -> {new_schema.get('default')}")
    yield from _enum_change(f"{label} values", old_schema.get("enum"), new_schema.get("enum"))


def _answer_changes(
    spec_old: Mapping[str, Any], spec_new: Mapping[str, Any], where: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> Iterator[Change]:
    old_ok = _resolve(spec_old, (old.get("responses") or {}).get("200") or {})
    new_ok = _resolve(spec_new, (new.get("responses") or {}).get("200") or {})
    old_content, new_content = old_ok.get("content") or {}, new_ok.get("content") or {}
    for kind in new_content:
        if kind not in old_content:
            yield Change(f"{where}: answers may now be {kind}", breaking=True)
    for kind in old_content:
        if kind not in new_content:
            yield Change(f"{where}: no longer answers {kind}")
    old_json = _resolve(spec_old, (old_content.get("application/json") or {}).get("schema") or {})
    new_json = _resolve(spec_new, (new_content.get("application/json") or {}).get("schema") or {})
    old_props, new_props = old_json.get("properties") or {}, new_json.get("properties") or {}
    old_required, new_required = set(old_json.get("required", [])), set(new_json.get("required", []))
    for name in new_props:
        if name not in old_props:
            yield Change(f"{where}: answer field {name} added")
    for name in old_props:
        if name not in new_props:
            yield Change(f"{where}: answer field {name} removed", breaking=True)
        elif name in old_required and name not in new_required:
            yield Change(f"{where}: answer field {name} may now be missing", breaking=True)
    old_headers, new_headers = set(old_ok.get("headers") or {}), set(new_ok.get("headers") or {})
    for name in sorted(old_headers - new_headers):
        yield Change(f"{where}: answer header {name} no longer documented", breaking=True)
    for name in sorted(new_headers - old_headers):
        yield Change(f"{where}: answer header {name} added")


def summarize(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from spec `old` to spec `new`, in user terms."""
    changes: list[Change] = []
    old_ops, new_ops = _operations(old), _operations(new)
    new_paths = {(method, path) for method, path, _ in new_ops.values()}
    for op_id, (method, path, operation) in new_ops.items():
        if op_id not in old_ops:
            changes.append(Change(f"operation {op_id} added: {method} {path}", operation=op_id))
            continue
        old_method, old_path, old_operation = old_ops[op_id]
        where = op_id
        if (old_method, old_path) != (method, path):
            kept = (old_method, old_path) in new_paths
            note = f" ({old_path} is still described)" if kept else ""
            changes.append(
                Change(f"operation {op_id} moved: {old_method} {old_path} -> {method} {path}{note}", breaking=not kept)
            )
        if operation.get("deprecated") and not old_operation.get("deprecated"):
            changes.append(Change(f"operation {op_id} is now deprecated"))
        old_fields, new_fields = _fields(old, old_operation), _fields(new, operation)
        for name, (required, _, _) in new_fields.items():
            if name not in old_fields:
                kind = "required" if required else "optional"
                changes.append(
                    Change(f"{where}: new {kind} parameter {name}", breaking=required, operation=op_id, parameter=name)
                )
        for name in old_fields:
            if name not in new_fields:
                changes.append(Change(f"{where}: parameter {name} removed", breaking=True))
            else:
                changes.extend(_field_changes(old, new, where, name, old_fields[name], new_fields[name]))
        changes.extend(_answer_changes(old, new, where, old_operation, operation))
    for op_id, (method, path, _) in old_ops.items():
        if op_id not in new_ops:
            changes.append(Change(f"operation {op_id} removed: {method} {path}", breaking=True))
    old_schemas = (old.get("components") or {}).get("schemas") or {}
    new_schemas = (new.get("components") or {}).get("schemas") or {}
    for name in sorted(set(old_schemas) | set(new_schemas)):
        before, after = old_schemas.get(name) or {}, new_schemas.get(name) or {}
        if "enum" not in before and "enum" not in after:
            continue
        label = _ENUM_NAMES.get(name, name)
        changes.extend(_enum_change(label, before.get("enum"), after.get("enum")))
        if before.get("default") != after.get("default"):
            changes.append(Change(f"{label}: default {before.get('default')} -> {after.get('default')}"))
        old_aliases, new_aliases = before.get("x-aliases") or {}, after.get("x-aliases") or {}
        for alias, target in new_aliases.items():
            if alias not in old_aliases:
                changes.append(Change(f"{label}: alias {alias} -> {target} added"))
            elif old_aliases[alias] != target:
                changes.append(Change(f"{label}: alias {alias} now sends {target} (was {old_aliases[alias]})"))
        for alias in old_aliases:
            if alias not in new_aliases:
                changes.append(
                    Change(f"{label}: alias {alias} removed", breaking=alias not in (after.get("enum") or []))
                )
    if not changes and old != new:
        changes.append(Change("descriptions or other details changed (nothing a caller sees)"))
    return changes


def render(changes: list[Change], source: str, gaps: Gaps | None = None) -> str:
    """The summary as text; with `gaps`, each added operation or parameter is followed by the
    parts that do not take it yet."""
    if not changes:
        return f"spec changes ({source}): none\n"
    breaking = sum(change.breaking for change in changes)
    lines = [f"spec changes ({source}):"]
    unfinished = 0
    for change in sorted(changes, key=lambda c: not c.breaking):
        lines.append(change.line())
        missing = gaps(change) if gaps is not None and change.operation is not None else []
        unfinished += bool(missing)
        lines += [f"              not yet: {part:<18}  {lack}" for part, lack in missing]
    summary = f"{len(changes)} change(s), {breaking} breaking"
    if breaking:
        summary += ": say so in CHANGELOG.md"
    if unfinished:
        summary += (
            f"; {unfinished} not taken by every part yet: see 'When the API changes' in README.md"
            " (steps 3 and 4) for what to add"
        )
    lines.append(summary)
    return "\n".join(lines) + "\n"


def project_gaps() -> Gaps:
    """`Gaps` for the package in this checkout, as `scripts/generate` has just written it."""

    def gaps(change: Change) -> list[tuple[str, str]]:
        if change.operation is None:
            return []
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import spec_reach  # only now: most changes need no look at the package

        spec_reach.load_package_from(ROOT)
        if change.parameter is None:
            return spec_reach.operation_gaps(change.operation, spec_only_routes=spec_reach.spec_only_operations())
        return spec_reach.parameter_gaps(change.operation, change.parameter)

    return gaps


class SpecError(Exception):
    """A spec file that cannot be read: one line says why."""


def load_spec(text: str, name: str) -> Mapping[str, Any]:
    """The spec in `text` (YAML), or SpecError naming `name` and where the YAML breaks."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{name} is not valid YAML{where}: {problem}") from None
    if not isinstance(loaded, Mapping):
        raise SpecError(f"{name} holds no OpenAPI document (a YAML mapping), but {type(loaded).__name__}")
    return loaded


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SpecError(f"cannot read {path}: {reason}") from None


def _committed_spec(root: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "show", f"HEAD:{SPEC.as_posix()}"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def main(argv: list[str]) -> int:
    gaps: Gaps | None = None
    try:
        if len(argv) == 3:
            old = load_spec(_read(Path(argv[1])), argv[1])
            new = load_spec(_read(Path(argv[2])), argv[2])
            source = f"{argv[1]} -> {argv[2]}"
        elif len(argv) == 1:
            committed = _committed_spec(ROOT)
            if committed is None:
                print("spec changes: no committed spec to compare with (not a git checkout?)")
                return 0
            old = load_spec(committed, f"the last commit's {SPEC.as_posix()}")
            new = load_spec(_read(ROOT / SPEC), SPEC.as_posix())
            source = f"the last commit -> the working {SPEC.as_posix()}"
            gaps = project_gaps()  # the working spec is the one the package was just generated from
        else:
            print("usage: spec_changes.py [OLD NEW]", file=sys.stderr)
            return 2
    except SpecError as error:
        print(f"spec_changes: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(summarize(old, new), source, gaps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
