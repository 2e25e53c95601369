"""The SDK's public surface: what `dynaspark_sdk` exports is listed in step in `__all__`, the
lazy import table, the type checker's imports and the README; the spec's lists are public;
renamed names keep working under their earlier names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import respx
import yaml
from conftest import BASE_URL
from wire import json_answer

import dynaspark_sdk
from dynaspark_sdk import AsyncClient, Client, ModelNotSupportedError, spec
from dynaspark_sdk._generated import spec_values
from dynaspark_sdk.testing import Send, SendBytes

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "dynaspark_sdk" / "__init__.py"


def _type_checking_imports() -> dict[str, str]:
    """name -> module of the imports under `if TYPE_CHECKING:` in __init__.py."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and stmt.module is not None
                for alias in stmt.names:
                    found[alias.asname or alias.name] = stmt.module
    return found


def test_all_the_lazy_table_and_the_type_checker_imports_list_the_same_names() -> None:
    lazy: dict[str, str] = dynaspark_sdk._WHERE
    assert set(dynaspark_sdk.__all__) == {*lazy, "__version__"}
    assert _type_checking_imports() == lazy
    assert sorted(dynaspark_sdk.__all__) == list(dynaspark_sdk.__all__)
    assert dir(dynaspark_sdk) == dynaspark_sdk.__all__


def test_every_exported_name_resolves_to_a_documented_object() -> None:
    for name in dynaspark_sdk.__all__:
        value = getattr(dynaspark_sdk, name)
        if name != "__version__":
            assert value.__doc__, f"{name} has no docstring"


def test_the_readme_lists_every_exported_name() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What `dynaspark_sdk` exports", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([A-Za-z_]+)`", section))
    missing = [name for name in dynaspark_sdk.__all__ if name != "__version__" and name not in listed]
    assert missing == []
    unknown = sorted(n for n in listed if n[0].isupper() and n not in dynaspark_sdk.__all__ and n != "TYPE_CHECKING")
    assert unknown == []


def test_the_spec_lists_are_public_and_are_the_specs() -> None:
    for name in spec.__all__:
        if name.isupper():
            assert getattr(spec, name) == getattr(spec_values, name)
    assert "gemini-1.5-flash" in spec.CHAT_MODELS
    assert spec.DEFAULT_VOICE in spec.VOICES
    with Client(api_key=None) as client:
        assert client.voices == spec.VOICES
        assert client.image_models == spec.IMAGE_MODELS


def test_the_spec_module_says_where_the_service_is_and_what_a_model_name_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNASPARK_BASE_URL", raising=False)
    spec_file = yaml.safe_load((ROOT / "openapi" / "dynaspark.yaml").read_text(encoding="utf-8"))
    assert spec.DEFAULT_BASE_URL == spec_file["servers"][0]["url"] == "https://dynaspark.onrender.com"
    with Client() as client:
        assert str(client.base_url).rstrip("/") == spec.DEFAULT_BASE_URL
    assert spec.resolve_chat_model("gemini-2.0-flash") == "gemini-2.0-flash-lite"
    assert spec.resolve_chat_model("gemini-2.0-flash", resolve_alias=False) == "gemini-2.0-flash"
    assert spec.resolve_chat_model(None) == spec.resolve_chat_model("") == "gemini-1.5-flash-8b"
    with pytest.raises(ModelNotSupportedError, match=r"valid models: gemini-1\.5-flash"):
        spec.resolve_chat_model("claude")


def test_renamed_names_keep_their_earlier_names() -> None:
    assert Client.chat_stream is Client.stream_chat
    assert AsyncClient.chat_stream is AsyncClient.stream_chat
    assert Send is SendBytes
    from dynaspark_sdk.integrations.gpt4free import Dynaspark
    from dynaspark_sdk.provider import Dynaspark as OldDynaspark

    assert OldDynaspark is Dynaspark is dynaspark_sdk.Dynaspark


@respx.mock
def test_chat_stream_under_its_earlier_name_streams_as_stream_chat() -> None:
    respx.post(f"{BASE_URL}/dsai_fuck_u_spammer").mock(return_value=json_answer({"response": "Hi there"}))
    with Client(api_key=None, base_url=BASE_URL) as client:
        old = client.chat_stream("Hello").until_done()
        new = client.stream_chat("Hello").until_done()
    assert old == new == "Hi there"


# --------------------------------------------------------------------------- front-ends use the public SDK

INTEGRATIONS = ROOT / "dynaspark_sdk" / "integrations"
CLI = ROOT / "dynaspark_sdk" / "cli"


def _private_reaches(source: str, package: str, home: str) -> list[str]:
    """What a module of `package` (in the integration `home`) takes from the SDK's private
    parts: an import of a `_`-named module or name outside `home`, or a `_`-named attribute of
    anything but self/cls."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            targets = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and re.fullmatch(r"_[^_].*|_", node.attr):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner not in ("self", "cls"):
                found.append(f"line {node.lineno}: .{node.attr}")
            continue
        else:
            continue
        for name in targets:
            inside = name == home or name.startswith(home + ".")
            parts = name.split(".")
            if parts[0] == "dynaspark_sdk" and not inside and any(re.fullmatch(r"_[^_].*|_", part) for part in parts):
                found.append(f"line {node.lineno}: {name}")
    return found


def test_the_checker_of_private_reaches_finds_them() -> None:
    home = "dynaspark_sdk.integrations.example"
    source = (
        "from dynaspark_sdk._transport import check_proxy\n"
        "from dynaspark_sdk import _lazy\n"
        "from ..._pools import AsyncPool\n"
        "from ._own import helper\n"
        "from dynaspark_sdk import AsyncClient, spec, __version__\n"
        "client._pool.over_aiohttp = True\n"
        "self._fine = cls._also_fine = 1\n"
    )
    found = _private_reaches(source, home, home)
    assert [reach.split(": ")[1] for reach in found] == [
        "dynaspark_sdk._transport",
        "dynaspark_sdk._transport.check_proxy",
        "dynaspark_sdk._lazy",
        "dynaspark_sdk._pools",
        "dynaspark_sdk._pools.AsyncPool",
        "._pool",
    ]


def test_the_integrations_use_only_the_public_sdk() -> None:
    """The front-ends under `integrations/` and the `dynaspark` command under `cli/` are users
    of the SDK like any other: they import its public names only (their own private modules
    apart)."""
    reaches: dict[str, list[str]] = {}
    front_ends = [*sorted(INTEGRATIONS.rglob("*.py")), *sorted(CLI.rglob("*.py"))]
    for path in front_ends:
        relative = path.relative_to(ROOT).with_suffix("")
        package = ".".join(relative.parts[:-1])  # what relative imports start from
        home = ".".join(relative.parts[: 3 if path.is_relative_to(INTEGRATIONS) else 2])
        found = _private_reaches(path.read_text(encoding="utf-8"), package, home)
        if found:
            reaches[str(path.relative_to(ROOT))] = [reach.split(": ")[1] for reach in found]
    assert len(list(INTEGRATIONS.rglob("*.py"))) >= 8
    assert len(list(CLI.rglob("*.py"))) >= 10
    assert reaches == {}
