"""scripts/public_api.py: the committed snapshot of the public API, what counts as breaking,
and the CHANGELOG entry a breaking change needs."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_loader = importlib.util.spec_from_file_location("public_api", ROOT / "scripts" / "public_api.py")
assert _loader is not None and _loader.loader is not None
public_api = importlib.util.module_from_spec(_loader)
_loader.loader.exec_module(public_api)

OLD = [
    "module dynaspark_sdk",
    "  class dynaspark_sdk.Client",
    "      def chat(self, messages: MessagesInput, *, model: str | None = None) -> ChatResponse",
    "      def status(self) -> ServiceStatus",
    "      property base_url: str",
    "  class dynaspark_sdk.ChatResponse",
    "      field text: str",
    "  class dynaspark_sdk.RateLimitError(dynaspark_sdk.APIStatusError)",
    "  def dynaspark_sdk.helper(a: int, b: int = 1) -> int",
]


def changed(index: int, line: str) -> list[str]:
    new = list(OLD)
    new[index] = line
    return new


def test_additions_break_nothing() -> None:
    new = [*OLD[:4], "      def close(self) -> None", *OLD[4:], "  def dynaspark_sdk.other() -> None"]
    assert public_api.breaking_changes(OLD, new) == []


def test_a_new_optional_parameter_breaks_nothing_a_required_one_does() -> None:
    optional = (
        "      def chat(self, messages: MessagesInput, *, model: str | None = None, media: object = None)"
        " -> ChatResponse"
    )
    assert public_api.breaking_changes(OLD, changed(2, optional)) == []
    required = (
        "      def chat(self, messages: MessagesInput, *, model: str | None = None, media: object) -> ChatResponse"
    )
    assert public_api.breaking_changes(OLD, changed(2, required)) == [
        f"changed dynaspark_sdk.Client.chat: {OLD[2].strip()} -> {required.strip()}"
    ]


def test_removed_renamed_or_reordered_parameters_break() -> None:
    renamed = "  def dynaspark_sdk.helper(a: int, c: int = 1) -> int"
    reordered = "  def dynaspark_sdk.helper(b: int, a: int = 1) -> int"
    keyword_only = "  def dynaspark_sdk.helper(a: int, *, b: int = 1) -> int"
    for line in (renamed, reordered, keyword_only):
        assert public_api.breaking_changes(OLD, changed(8, line)) == [
            f"changed dynaspark_sdk.helper: {OLD[8].strip()} -> {line.strip()}"
        ]


def test_removed_names_members_fields_and_bases_break() -> None:
    new = [line for line in OLD if "status" not in line and "field text" not in line]
    new = [line.replace("(dynaspark_sdk.APIStatusError)", "(dynaspark_sdk.DynasparkError)") for line in new]
    assert public_api.breaking_changes(OLD, new) == [
        "removed dynaspark_sdk.Client.status: def status(self) -> ServiceStatus",
        "removed dynaspark_sdk.ChatResponse.text: field text: str",
        "changed dynaspark_sdk.RateLimitError: class dynaspark_sdk.RateLimitError(dynaspark_sdk.APIStatusError)"
        " -> class dynaspark_sdk.RateLimitError(dynaspark_sdk.DynasparkError)",
    ]


def test_a_breaking_change_needs_its_name_in_the_unreleased_section() -> None:
    broken = [
        "removed dynaspark_sdk.Client.status: def status(self) -> ServiceStatus",
        "removed dynaspark_sdk.helper: def dynaspark_sdk.helper(a: int) -> int",
        "changed dynaspark_sdk.AudioResult.__init__: def __init__(self, voice: str)"
        " -> def __init__(self, voice_name: str)",
        "removed dynaspark_sdk.AudioResult.voice: field voice: str",
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
    return tmp_path


def _guard(project: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "scripts" / "public_api.py"), command],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_fails_until_update_and_update_wants_the_changelog(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    # A snapshot written by this Python (the committed one is checked by scripts/test's own step).
    assert _guard(project, "check").returncode == 1  # no snapshot yet
    assert _guard(project, "update").returncode == 0
    assert _guard(project, "check").returncode == 0

    results = project / "dynaspark_sdk" / "_results.py"
    source = results.read_text(encoding="utf-8")
    results.write_text(source.replace("    voice: str\n", "    voice_name: str\n", 1), encoding="utf-8")
    check = _guard(project, "check")
    assert check.returncode == 1
    assert "-      field voice: str" in check.stdout
    assert "+      field voice_name: str" in check.stdout
    assert "breaking change(s)" in check.stderr and "scripts/public-api update" in check.stderr

    refused = _guard(project, "update")
    assert refused.returncode == 1
    assert "removed dynaspark_sdk.AudioResult.voice: field voice: str" in refused.stderr
    assert _guard(project, "check").returncode == 1  # the snapshot was left alone

    changelog = project / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    entry = "### Changed\n- `AudioResult.voice` is now `AudioResult.voice_name`.\n\n"
    changelog.write_text(text.replace("## [Unreleased]\n\n", "## [Unreleased]\n\n" + entry, 1), encoding="utf-8")
    assert _guard(project, "update").returncode == 0
    assert _guard(project, "check").returncode == 0
