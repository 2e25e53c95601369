"""Render dynaspark_sdk/_generated/ from openapi/dynaspark.yaml.

`render()` runs openapi-python-client into a scratch folder, tidies the result with the
pinned ruff under openapi/ruff-generated.toml (both from the generator's own environment,
./.venvs/codegen, locked in openapi/codegen/uv.lock and made by scripts/_codegen_venv.sh:
the generator caps httpx, the SDK's tests must not be) (so the output never depends on the
project's own lint settings or on the folder it is written to), and adds
`spec_values.py`: the enumerations, ranges and defaults the generator does not carry.

    python scripts/codegen.py generate   # replace the committed layer
    python scripts/codegen.py check      # exit 1 with a diff when it has drifted

Both commands also cover the other generated file: the sync shell `client.py`, which
scripts/unasync.py writes from `async_client.py`.
"""

from __future__ import annotations

import contextlib
import difflib
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import unasync
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "dynaspark.yaml"
GENERATOR_CONFIG = ROOT / "openapi" / "generator.yaml"
TEMPLATES = ROOT / "openapi" / "templates"
RUFF_CONFIG = ROOT / "openapi" / "ruff-generated.toml"
TARGET = ROOT / "dynaspark_sdk" / "_generated"
#: Where the generator's environment is, when the caller made it already (tests copy the
#: project to scratch folders and point here, rather than make one environment per copy).
GENERATOR_BIN_VARIABLE = "DYNASPARK_CODEGEN_BIN"
#: A folder where `render()` keeps each layer it makes, under a digest of everything that goes
#: into it, and copies it from on the next call with the same inputs. Tests set it, so that
#: their copies of the project with an unchanged spec share one real run of the generator;
#: unset (the default), every call runs the generator.
RENDER_CACHE_VARIABLE = "DYNASPARK_CODEGEN_CACHE"


def generator_bin() -> Path:
    """The bin folder of the generator's own environment, made or brought up to date first."""
    given = os.environ.get(GENERATOR_BIN_VARIABLE)
    if given:
        return Path(given)
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "_codegen_venv.sh")], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"scripts/_codegen_venv.sh failed:\n{proc.stdout}{proc.stderr}")
    return Path(proc.stdout.strip().splitlines()[-1])


def _run(*args: str | Path, cwd: Path, bin_dir: Path) -> None:
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{proc.stdout}{proc.stderr}")


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        cursor: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            cursor = cursor[part]
        node = cursor
    return node


def _boolean_spellings(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str, ...] | None:
    """For a boolean that may also be spelled as strings (`anyOf: [boolean, string enum]`),
    every spelling the spec accepts; None for any other schema."""
    members = [_resolve(spec, member) for member in schema.get("anyOf", [])]
    if not any(member.get("type") == "boolean" for member in members):
        return None
    spellings = ["true", "false"]
    for member in members:
        if member.get("type") != "boolean":
            if member.get("type") != "string" or "enum" not in member:
                raise SystemExit(f"a boolean's other spellings must be a string enum, not {member}")
            spellings.extend(member["enum"])
    return tuple(spellings)


def _rule(spec: dict[str, Any], schema: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = _resolve(spec, schema)
    spellings = _boolean_spellings(spec, schema)
    if spellings is not None:
        # Rule.enum of a boolean: the query spellings it accepts.
        return {"type": "boolean", "required": required, "enum": spellings}
    rule: dict[str, Any] = {"type": schema.get("type", "string"), "required": required}
    for key, name in (
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("minLength", "min_length"),
        ("default", "default"),
    ):
        if key in schema:
            rule[name] = schema[key]
    if "enum" in schema:
        rule["enum"] = tuple(schema["enum"])
    return rule


def _rule_source(rule: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in rule.items())
    return f"Rule({args})"


def spec_values_source(spec: dict[str, Any]) -> str:
    """The Python source of spec_values.py for this spec."""
    schemas = spec["components"]["schemas"]
    chat_model = schemas["ChatModel"]
    parameters: dict[str, dict[str, dict[str, Any]]] = {}
    audio_model = None
    default_text_model = None
    chat_paths: tuple[str, ...] = ()
    operations: dict[str, tuple[str, str]] = {}
    for path, path_item in spec["paths"].items():
        for method, operation in path_item.items():
            operations[operation["operationId"]] = (method.upper(), path)
            if operation["operationId"] == "chat":
                chat_paths = (path, *operation.get("x-previous-paths", []))
            rules: dict[str, dict[str, Any]] = {}
            for param in operation.get("parameters", []):
                param = _resolve(spec, param)
                rules[param["name"]] = _rule(spec, param["schema"], param.get("required", False))
                audio_model = param.get("x-audio-model", audio_model)
                default_text_model = param.get("x-default-model", default_text_model)
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                form = _resolve(spec, media["schema"])
                for name, prop in form["properties"].items():
                    if prop.get("format") != "binary":
                        rules.setdefault(name, _rule(spec, prop, name in form.get("required", [])))
            parameters[operation["operationId"]] = rules
    max_image_bytes = schemas["ChatForm"]["properties"]["file"]["x-max-bytes"]

    lines = [
        '"""Enumerations, ranges and defaults of openapi/dynaspark.yaml.',
        "",
        "Written by scripts/generate from the spec; never edit by hand.",
        '"""',
        "",
        "from collections.abc import Mapping",
        "from typing import Final, NamedTuple",
        "",
        "",
        "class Rule(NamedTuple):",
        '    """What the spec allows for one parameter or form field."""',
        "",
        "    type: str",
        "    required: bool = False",
        "    minimum: float | None = None",
        "    maximum: float | None = None",
        "    min_length: int | None = None",
        "    default: object = None",
        "    enum: tuple[str, ...] | None = None",
        '    """The allowed values; for a boolean, the spellings a query may use."""',
        "",
        "",
        "# The service's address: the spec's first server.",
        f"DEFAULT_BASE_URL: Final = {spec['servers'][0]['url']!r}",
        f"CHAT_MODELS: Final[tuple[str, ...]] = {tuple(chat_model['enum'])!r}",
        f"DEFAULT_CHAT_MODEL: Final = {chat_model['default']!r}",
        f"CHAT_MODEL_ALIASES: Final[Mapping[str, str]] = {dict(chat_model.get('x-aliases', {}))!r}",
        f"VISION_MODELS: Final[tuple[str, ...]] = {tuple(chat_model.get('x-vision-models', []))!r}",
        f"IMAGE_MODELS: Final[tuple[str, ...]] = {tuple(schemas['ImageModel']['enum'])!r}",
        f"DEFAULT_IMAGE_MODEL: Final = {schemas['ImageModel']['default']!r}",
        f"VOICES: Final[tuple[str, ...]] = {tuple(schemas['Voice']['enum'])!r}",
        f"DEFAULT_VOICE: Final = {schemas['Voice']['default']!r}",
        f"AUDIO_MODEL: Final = {audio_model!r}",
        f"DEFAULT_TEXT_MODEL: Final = {default_text_model!r}",
        f"MAX_IMAGE_BYTES: Final = {max_image_bytes!r}",
        "# The chat endpoint's path, then the paths it had before (newest first).",
        f"CHAT_PATHS: Final[tuple[str, ...]] = {chat_paths!r}",
        "# operationId -> (method, path) of every operation the spec describes.",
        f"OPERATIONS: Final[Mapping[str, tuple[str, str]]] = {operations!r}",
        "",
        "# operationId -> parameter or form-field name -> rule",
        "PARAMETERS: Final[Mapping[str, Mapping[str, Rule]]] = {",
    ]
    for op, rules in parameters.items():
        lines.append(f"    {op!r}: {{")
        lines.extend(f"        {name!r}: {_rule_source(rule)}," for name, rule in rules.items())
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _inputs_digest(bin_dir: Path) -> str:
    """A digest of what the layer is made from: the spec, the generator's configuration,
    templates and environment (its folder and lock), the ruff settings and this script."""
    digest = hashlib.sha256(str(bin_dir.resolve()).encode())
    lock = ROOT / "openapi" / "codegen" / "uv.lock"
    files = [SPEC, GENERATOR_CONFIG, RUFF_CONFIG, lock, Path(__file__).resolve(), *sorted(TEMPLATES.rglob("*"))]
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def render(out: Path) -> None:
    """Write the whole generated layer for the current spec into `out` (which must not exist),
    from the cache of `RENDER_CACHE_VARIABLE` when it is set and holds this spec's layer."""
    bin_dir = generator_bin()
    cache = os.environ.get(RENDER_CACHE_VARIABLE)
    if not cache:
        _render(out, bin_dir)
        return
    kept = Path(cache) / _inputs_digest(bin_dir)
    if kept.is_dir():
        shutil.copytree(kept, out)
        return
    _render(out, bin_dir)
    # Copied under a scratch name, then renamed: a reader never sees half a layer. When two
    # processes rendered the same inputs at once, the first rename wins; both layers are equal.
    Path(cache).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=cache, prefix=".partial-"))
    shutil.copytree(out, scratch / "layer")
    with contextlib.suppress(OSError):  # already there
        (scratch / "layer").rename(kept)
    shutil.rmtree(scratch)


def _render(out: Path, bin_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "_generated"
        _run(
            bin_dir / "openapi-python-client",
            "generate",
            "--path",
            SPEC,
            "--config",
            GENERATOR_CONFIG,
            "--custom-template-path",
            TEMPLATES,
            "--meta",
            "none",
            "--output-path",
            raw,
            cwd=Path(scratch),
            bin_dir=bin_dir,
        )
        spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
        (raw / "spec_values.py").write_text(spec_values_source(spec), encoding="utf-8")
        # The whole spec as JSON, for code that checks answers at run time (`dynaspark probe`)
        # without a YAML parser.
        (raw / "openapi.json").write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _run(
            bin_dir / "ruff",
            "check",
            "--fix-only",
            "--quiet",
            "--no-cache",
            "--config",
            RUFF_CONFIG,
            ".",
            cwd=raw,
            bin_dir=bin_dir,
        )
        _run(
            bin_dir / "ruff", "format", "--quiet", "--no-cache", "--config", RUFF_CONFIG, ".", cwd=raw, bin_dir=bin_dir
        )
        shutil.copytree(raw, out)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def differences(expected: Path, actual: Path) -> list[str]:
    """Unified diff lines between two generated trees (empty when identical)."""
    out: list[str] = []
    want, have = _files(expected), _files(actual)
    for name in sorted(want | have):
        a = (actual / name).read_text(encoding="utf-8").splitlines(keepends=True) if name in have else []
        b = (expected / name).read_text(encoding="utf-8").splitlines(keepends=True) if name in want else []
        if name in want and name in have and filecmp.cmp(expected / name, actual / name, shallow=False):
            continue
        out.extend(difflib.unified_diff(a, b, f"committed/{name}", f"from-spec/{name}"))
    return out


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "_generated"
        render(fresh)
        if command == "generate":
            if TARGET.exists():
                shutil.rmtree(TARGET)
            shutil.copytree(fresh, TARGET)
            print(f"regenerated {TARGET.relative_to(ROOT)} from {SPEC.relative_to(ROOT)}")
            return unasync.main(["unasync.py", "generate"])
        if command == "check":
            diff = differences(fresh, TARGET) if TARGET.exists() else [f"{TARGET} is missing\n"]
            shells = unasync.main(["unasync.py", "check"])
            if diff:
                sys.stdout.writelines(diff)
                print(
                    "\ncheck-generated: dynaspark_sdk/_generated/ does not match openapi/dynaspark.yaml;"
                    " run scripts/generate and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print("check-generated: dynaspark_sdk/_generated/ matches the spec")
            return shells
    print("usage: codegen.py generate|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
