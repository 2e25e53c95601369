"""scripts/public_api.py: the committed snapshot of the public API, what counts as breaking
(griffe's verdict, on breaks planted in a copy of the package), and the CHANGELOG entry a
breaking change needs."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # griffe over the package, a command per case


ROOT = Path(__file__).resolve().parents[2]
_loader = importlib.util.spec_from_file_location("public_api", ROOT / "scripts" / "public_api.py")
assert _loader is not None and _loader.loader is not None
public_api = importlib.util.module_from_spec(_loader)
_loader.loader.exec_module(public_api)

Edit = tuple[str, str, str]  # a file of the package, the text in it, what it becomes


def _package_with(tmp: Path, edits: list[Edit]) -> Any:
    """A copy of the package with `edits` made, as griffe reads it."""
    package = tmp / "dynaspark_sdk"
    shutil.copytree(ROOT / "dynaspark_sdk", package, ignore=shutil.ignore_patterns("__pycache__", "_generated"))
    for name, before, after in edits:
        path = package / name
        source = path.read_text(encoding="utf-8")
        assert before in source, (name, before)
        path.write_text(source.replace(before, after, 1), encoding="utf-8")
    return public_api.load_api(package)


@pytest.fixture(scope="module")
def old_api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _package_with(tmp_path_factory.mktemp("old"), [])


@pytest.fixture
def changed_api(tmp_path: Path) -> Callable[[list[Edit]], Any]:
    return lambda edits: _package_with(tmp_path, edits)


def _shown(broken: list[Any]) -> list[str]:
    return [str(change) for change in broken]


def test_additions_and_compatible_changes_break_nothing(old_api: Any, changed_api: Callable[..., Any]) -> None:
    new = changed_api(
        [
            # a new optional parameter, keyword-only
            (
                "async_client.py",
                "voice: str = spec_values.DEFAULT_VOICE)",
                "voice: str = spec_values.DEFAULT_VOICE, speed: float = 1.0)",
            ),
            # a keyword-only parameter that may now be passed by position too
            ("spec.py", "*, resolve_alias: bool = True)", "resolve_alias: bool = True)"),
            # a new method, and a new public function
            (
                "async_client.py",
                "    async def status(",
                "    async def ping(self) -> None:\n        pass\n\n    async def status(",
            ),
            ("spec.py", "def openapi_document(", "def new_helper() -> None:\n    pass\n\n\ndef openapi_document("),
            # the version, which every release changes
            ("__init__.py", '__version__ = "0.1.0"', '__version__ = "0.2.0"'),
        ]
    )
    assert _shown(public_api.breaking_changes(old_api, new)) == []


def test_planted_breaks_are_each_caught_under_their_public_name(old_api: Any, changed_api: Callable[..., Any]) -> None:
    new = changed_api(
        [
            # a result field renamed (through the package's lazy exports)
            ("_results.py", "    voice: str\n", "    voice_name: str\n"),
            # a changed default, a changed return annotation
            ("async_client.py", "*, voice: str = spec_values.DEFAULT_VOICE)", '*, voice: str = "alloy")'),
            ("async_client.py", "    async def status(self) -> ServiceStatus:", "    async def status(self) -> bool:"),
            # a base class replaced by another
            ("_errors.py", "class RateLimitError(APIStatusError):", "class RateLimitError(DynasparkError):"),
            # a parameter made positional-only, and a required one added
            (
                "spec.py",
                "None = None, *, resolve_alias: bool = True",
                "None = None, /, *, resolve_alias: bool = True, strict: bool",
            ),
            # a public name removed altogether
            ("__init__.py", "    from ._retry import RetryPolicy\n", ""),
            ("__init__.py", '    "_retry": ("RetryPolicy",),\n', ""),
            ("__init__.py", '    "RetryPolicy",\n', ""),
        ]
    )
    assert _shown(public_api.breaking_changes(old_api, new)) == [
        "dynaspark_sdk.AsyncClient.generate_audio: parameter voice: parameter default was changed"
        " (voice: str = spec_values.DEFAULT_VOICE -> voice: str = 'alloy')",
        "dynaspark_sdk.AsyncClient.status: return annotation changed: ServiceStatus -> bool",
        "dynaspark_sdk.AudioResult.voice: removed",
        "dynaspark_sdk.RateLimitError: base class removed: APIStatusError",
        "dynaspark_sdk.RetryPolicy: removed",
        "dynaspark_sdk.spec.resolve_chat_model: parameter model: parameter kind was changed"
        " (model: str | None = None -> model: str | None = None)",
        "dynaspark_sdk.spec.resolve_chat_model: parameter strict: parameter was added as required",
    ]


def test_a_breaking_change_needs_its_name_in_the_unreleased_section() -> None:
    Break = public_api.Break
    broken = [
        Break("dynaspark_sdk.Client.status", "removed"),
        Break("dynaspark_sdk.helper", "removed"),
        Break("dynaspark_sdk.AudioResult.__init__", "parameter voice: parameter was removed"),
        Break("dynaspark_sdk.AudioResult.voice", "removed"),
    ]
    changelog = (
        "# Changelog\n\n## [Unreleased]\n### Removed\n- `Client.status()`: use ... instead; the voices\n\n"
        "## [0.1.0] - 2025-06-01\n- helper, AudioResult.voice\n"
    )
    # `helper` and `AudioResult.voice` are named only under 0.1.0, which does not count; "voices" is
    # not `AudioResult.voice`.
    assert public_api.missing_changelog(broken, changelog) == broken[1:]
    fixed = changelog.replace("the voices", "`helper()` too; `AudioResult.voice` is now `voice_name`")
    assert public_api.missing_changelog(broken, fixed) == []


def test_the_snapshot_lists_names_signatures_and_fields() -> None:
    lines = public_api.api_lines()
    assert "  class dynaspark_sdk.Client" in lines
    assert "  class dynaspark_sdk.RateLimitError(dynaspark_sdk.APIStatusError)" in lines
    assert any(
        line.startswith("      def chat(self, messages: MessagesInput, *, model: str | None = None") for line in lines
    )
    chat_response = lines.index("  class dynaspark_sdk.ChatResponse")
    assert lines[chat_response + 1 : chat_response + 3] == ["      field text: str", "      field model: str"]
    assert "  dynaspark_sdk.client.Client = dynaspark_sdk.Client" in lines  # re-exports point at one entry


def _project_copy(tmp_path: Path) -> Path:
    for name in ("dynaspark_sdk", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    _git(tmp_path, "init", "--quiet")
    return tmp_path


def _git(project: Path, *args: str) -> None:
    identity = ("-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false")
    subprocess.run(["git", *identity, *args], cwd=project, check=True, capture_output=True, timeout=60)


def _commit(project: Path) -> None:
    _git(project, "add", "-A")
    _git(project, "commit", "--quiet", "-m", "snapshot")


# Runs `scripts/public_api.py <command>` for each line it reads, each in a process of its own
# forked from this one, as a fresh `python scripts/public_api.py <command>` would run: the
# package unimported, the script loaded anew, so each command reads the files as they are
# then. This process imports what the package's public modules import (llm, aiohttp, griffe,
# ...) once, first: that import is most of a command's time, and the test runs nine commands.
_GUARD_SERVER = """
import contextlib, importlib.util, io, json, os, sys

script = sys.argv[1]


def load():
    spec = importlib.util.spec_from_file_location("public_api", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, os.path.dirname(os.path.dirname(script)))
load().public_modules()
for name in [name for name in sys.modules if name.partition(".")[0] == "dynaspark_sdk"]:
    del sys.modules[name]
for line in sys.stdin:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = load().main([script, line.strip()])
            except SystemExit as stop:
                code = stop.code
        with os.fdopen(write, "w") as answer:
            answer.write(json.dumps([code, out.getvalue(), err.getvalue()]))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        result = answer.read()
    os.waitpid(pid, 0)
    print(result, flush=True)
"""


class _Guard:
    """`python scripts/public_api.py <command>` in a project copy, through `_GUARD_SERVER`."""

    def __init__(self, project: Path) -> None:
        script = str(project / "scripts" / "public_api.py")
        self._server = subprocess.Popen(
            [sys.executable, "-c", _GUARD_SERVER, script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=project,
        )

    def __call__(self, command: str) -> subprocess.CompletedProcess[str]:
        assert self._server.stdin is not None and self._server.stdout is not None
        self._server.stdin.write(command + "\n")
        self._server.stdin.flush()
        line = self._server.stdout.readline()
        assert line, f"the guard's server ended ({self._server.wait(timeout=60)})"
        code, out, err = json.loads(line)
        return subprocess.CompletedProcess([command], code, out, err)

    def close(self) -> None:
        assert self._server.stdin is not None and self._server.stdout is not None
        self._server.stdin.close()
        self._server.wait(timeout=60)
        self._server.stdout.close()


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[_Guard]:
    """The guard's commands in a copy of the project (dynaspark_sdk, scripts, the CHANGELOG)."""
    runner = _Guard(_project_copy(tmp_path))
    yield runner
    runner.close()


def test_check_fails_until_update_and_update_wants_the_changelog(tmp_path: Path, guard: _Guard) -> None:
    project = tmp_path  # the copy the guard runs in
    # A snapshot written by this Python (the committed one is checked by scripts/test's own step).
    assert guard("check").returncode == 1  # no snapshot yet
    assert guard("update").returncode == 0
    assert guard("check").returncode == 0
    _commit(project)  # breaking is measured from the commit that last wrote the snapshot

    results = project / "dynaspark_sdk" / "_results.py"
    source = results.read_text(encoding="utf-8")
    results.write_text(source.replace("    voice: str\n", "    voice_name: str\n", 1), encoding="utf-8")
    check = guard("check")
    assert check.returncode == 1
    assert "-      field voice: str" in check.stdout
    assert "+      field voice_name: str" in check.stdout
    assert "breaking: dynaspark_sdk.AudioResult.voice: removed" in check.stderr
    assert "(1 breaking change(s))" in check.stderr and "scripts/public-api update" in check.stderr

    refused = guard("update")
    assert refused.returncode == 1
    assert "dynaspark_sdk.AudioResult.voice: removed" in refused.stderr
    assert guard("check").returncode == 1  # the snapshot was left alone

    changelog = project / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    entry = "### Changed\n- `AudioResult.voice` is now `AudioResult.voice_name`.\n\n"
    changelog.write_text(text.replace("## [Unreleased]\n\n", "## [Unreleased]\n\n" + entry, 1), encoding="utf-8")
    assert guard("update").returncode == 0
    assert guard("check").returncode == 0
