"""scripts/spec_changes.py: what a spec edit means for callers, breaking changes marked."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
_loader = importlib.util.spec_from_file_location("spec_changes", ROOT / "scripts" / "spec_changes.py")
assert _loader is not None and _loader.loader is not None
spec_changes = importlib.util.module_from_spec(_loader)
sys.modules["spec_changes"] = spec_changes  # attrs looks classes' modules up by name
_loader.loader.exec_module(spec_changes)


def base_spec() -> dict[str, Any]:
    """A small spec shaped like the real one: one GET operation, one form POST, two enums."""
    return {
        "paths": {
            "/api/generate_image": {
                "get": {
                    "operationId": "generate_image",
                    "parameters": [
                        {"name": "user_input", "in": "query", "required": True, "schema": {"type": "string"}},
                        {
                            "name": "width",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 64, "maximum": 2048, "default": 768},
                        },
                        {"name": "model", "in": "query", "schema": {"$ref": "#/components/schemas/ImageModel"}},
                        {"name": "nologo", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "headers": {"X-RateLimit-Limit": {"schema": {"type": "integer"}}},
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["image_url"],
                                        "properties": {"image_url": {"type": "string"}, "seed": {"type": "integer"}},
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/generate_response": {
                "post": {
                    "operationId": "chat",
                    "requestBody": {
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["user_input", "ai_model"],
                                    "properties": {
                                        "user_input": {"type": "string"},
                                        "ai_model": {"$ref": "#/components/schemas/ChatModel"},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
        "components": {
            "schemas": {
                "ChatModel": {
                    "type": "string",
                    "enum": ["gemini-1.5-flash", "gemini-2.0-flash"],
                    "default": "gemini-1.5-flash",
                    "x-aliases": {"gemini-1.5-flash": "gemini-1.5-flash-8b"},
                },
                "ImageModel": {"type": "string", "enum": ["flux", "turbo"], "default": "flux"},
            }
        },
    }


def lines(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(change.text, change.breaking) for change in spec_changes.summarize(old, new)]


def image_op(spec: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"]["/api/generate_image"]["get"]
    return operation


def test_no_change_is_no_change() -> None:
    assert lines(base_spec(), base_spec()) == []


def test_models_added_and_removed() -> None:
    new = base_spec()
    new["components"]["schemas"]["ChatModel"]["enum"] = ["gemini-1.5-flash", "gemini-2.5-pro"]
    new["components"]["schemas"]["ImageModel"]["default"] = "turbo"
    assert lines(base_spec(), new) == [
        ("chat models: added gemini-2.5-pro", False),
        ("chat models: removed gemini-2.0-flash", True),
        ("image models: default flux -> turbo", False),
    ]


def test_ranges_narrowed_and_widened_defaults_changed() -> None:
    new = base_spec()
    width = image_op(new)["parameters"][1]["schema"]
    width.update(minimum=32, maximum=1024, default=512)
    assert lines(base_spec(), new) == [
        ("generate_image: width minimum 64 -> 32 (widened)", False),
        ("generate_image: width maximum 2048 -> 1024 (narrowed)", True),
        ("generate_image: width default 768 -> 512", False),
    ]


def test_parameters_added_removed_and_required() -> None:
    new = base_spec()
    params = image_op(new)["parameters"]
    params.append({"name": "style", "in": "query", "required": True, "schema": {"type": "string"}})
    params.append({"name": "wm", "in": "query", "schema": {"type": "string"}})
    del params[3]  # nologo
    assert lines(base_spec(), new) == [
        ("generate_image: new required parameter style", True),
        ("generate_image: new optional parameter wm", False),
        ("generate_image: parameter nologo removed", True),
    ]


def test_a_type_that_accepts_more_is_not_breaking_one_that_accepts_less_is() -> None:
    wider = base_spec()
    image_op(wider)["parameters"][3]["schema"] = {"anyOf": [{"type": "boolean"}, {"type": "string"}]}
    assert lines(base_spec(), wider) == [("generate_image: nologo type boolean -> boolean or string", False)]
    assert lines(wider, base_spec()) == [("generate_image: nologo type boolean or string -> boolean", True)]


def test_answer_fields_and_content_types() -> None:
    new = base_spec()
    ok = image_op(new)["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    schema["properties"] = {"url": {"type": "string"}, "seed": {"type": "integer"}}
    schema["required"] = ["url"]
    ok["content"]["text/plain"] = {"schema": {"type": "string"}}
    ok["headers"] = {}
    assert lines(base_spec(), new) == [
        ("generate_image: answers may now be text/plain", True),
        ("generate_image: answer field url added", False),
        ("generate_image: answer field image_url removed", True),
        ("generate_image: answer header X-RateLimit-Limit no longer documented", True),
    ]


def test_an_operation_moved_with_its_old_path_kept_or_dropped() -> None:
    moved = base_spec()
    moved["paths"]["/dsai_fuck_u_spammer"] = moved["paths"].pop("/generate_response")
    assert lines(base_spec(), moved) == [
        ("operation chat moved: POST /generate_response -> POST /dsai_fuck_u_spammer", True)
    ]
    kept = copy.deepcopy(moved)
    previous = copy.deepcopy(kept["paths"]["/dsai_fuck_u_spammer"])
    previous["post"]["operationId"] = "chat_previous"
    kept["paths"]["/generate_response"] = previous
    assert lines(base_spec(), kept) == [
        (
            "operation chat moved: POST /generate_response -> POST /dsai_fuck_u_spammer"
            " (/generate_response is still described)",
            False,
        ),
        ("operation chat_previous added: POST /generate_response", False),
    ]


def test_operation_removed_and_alias_removed() -> None:
    new = base_spec()
    del new["paths"]["/api/generate_image"]
    del new["components"]["schemas"]["ChatModel"]["x-aliases"]
    assert lines(base_spec(), new) == [
        ("operation generate_image removed: GET /api/generate_image", True),
        ("chat models: alias gemini-1.5-flash removed", False),  # still a model of its own
    ]


def test_render_puts_breaking_changes_first_and_counts_them() -> None:
    new = base_spec()
    new["components"]["schemas"]["ImageModel"]["enum"] = ["turbo", "sdxl"]
    text = spec_changes.render(spec_changes.summarize(base_spec(), new), "a -> b")
    assert text == (
        "spec changes (a -> b):\n"
        "  BREAKING  image models: removed flux\n"
        "            image models: added sdxl\n"
        "2 change(s), 1 breaking: say so in CHANGELOG.md\n"
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_script_compares_the_last_commit_with_the_working_file(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "openapi").mkdir()
    shutil.copy(ROOT / "scripts" / "spec_changes.py", tmp_path / "scripts")
    shutil.copy(ROOT / "scripts" / "spec_reach.py", tmp_path / "scripts")
    spec = tmp_path / "openapi" / "dynaspark.yaml"
    spec.write_text((ROOT / "openapi" / "dynaspark.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "spec"], check=True)
    script = [sys.executable, str(tmp_path / "scripts" / "spec_changes.py")]

    unchanged = subprocess.run(script, capture_output=True, text=True, check=True)
    assert unchanged.stdout.endswith("): none\n")

    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("enum: [flux, turbo, gptimage]", "enum: [flux, turbo]"), encoding="utf-8")
    changed = subprocess.run(script, capture_output=True, text=True, check=True)
    assert changed.stdout == (
        "spec changes (the last commit -> the working openapi/dynaspark.yaml):\n"
        "  BREAKING  image models: removed gptimage\n"
        "1 change(s), 1 breaking: say so in CHANGELOG.md\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("paths:\n  /x: [unclosed\n", "is not valid YAML at line 3, column 1: "),
        ("paths: {a: 1\n", "is not valid YAML at line 2, column 1: "),
        ("- just\n- a list\n", "holds no OpenAPI document (a YAML mapping), but list"),
        ("", "holds no OpenAPI document (a YAML mapping), but NoneType"),
    ],
)
def test_a_file_that_is_no_spec_is_one_line_not_a_traceback(tmp_path: Path, text: str, message: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("paths: {}\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    for args in ([good, bad], [bad, good]):
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "spec_changes.py"), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"spec_changes: {bad} ")
        assert message in done.stderr
    missing = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "spec_changes.py"), str(good), str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (missing.returncode, missing.stderr) == (
        2,
        f"spec_changes: cannot read {tmp_path / 'nope.yaml'}: No such file or directory\n",
    )


def test_render_says_under_each_addition_which_parts_do_not_take_it_yet() -> None:
    changes = [
        spec_changes.Change(
            "generate_text: new optional parameter max_tokens", operation="generate_text", parameter="max_tokens"
        ),
        spec_changes.Change("chat models: added gemini-2.5-flash"),
        spec_changes.Change("operation ping added: GET /ping", operation="ping"),
    ]

    def gaps(change: Any) -> list[tuple[str, str]]:
        return [("CLI", f"nothing for {change.parameter or change.operation}")] if change.parameter else []

    assert spec_changes.render(changes, "a -> b", gaps) == (
        "spec changes (a -> b):\n"
        "            generate_text: new optional parameter max_tokens\n"
        "              not yet: CLI                 nothing for max_tokens\n"
        "            chat models: added gemini-2.5-flash\n"
        "            operation ping added: GET /ping\n"
        "3 change(s), 0 breaking; 1 not taken by every part yet: see 'When the API changes' in README.md"
        " (steps 3 and 4) for what to add\n"
    )
