"""The Python versions the package claims are the ones scripts/test runs the tests on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OTHER_PYTHONS = ROOT / "scripts" / "_other_pythons.sh"
FAST_TESTS = ROOT / "scripts" / "_fast_tests.sh"


def _classified_versions() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    prefix = "Programming Language :: Python :: 3."
    return sorted(f"3.{c.removeprefix(prefix)}" for c in project["classifiers"] if c.startswith(prefix))


def _script_array(name: str, script: Path = OTHER_PYTHONS) -> list[str]:
    match = re.search(rf"^{name}=\((.*?)\)", script.read_text(encoding="utf-8"), flags=re.M | re.S)
    assert match, f"{name}=(...) not found in {script}"
    return match.group(1).split()


def test_every_classified_version_is_tested() -> None:
    # 3.11 is the main venv's (scripts/_venv.sh); the others are scripts/_other_pythons.sh's.
    assert _classified_versions() == ["3.11", *_script_array("VERSIONS")]
    assert _script_array("VERSIONS") == ["3.12", "3.13"]


def test_scripts_test_runs_the_other_versions_and_the_lowest_bounds() -> None:
    steps = [
        line
        for line in (ROOT / "scripts" / "test").read_text(encoding="utf-8").splitlines()
        if line.startswith(("step ", "start "))
    ]
    assert any(" scripts/_other_pythons.sh" in line for line in steps), steps
    assert any(" scripts/_lowest.sh" in line for line in steps), steps


def test_the_subset_names_test_modules_that_exist() -> None:
    modules = _script_array("FAST_TESTS", FAST_TESTS)
    assert modules
    for module in modules:
        assert (ROOT / module).is_file(), module
    assert "tests/e2e/test_e2e.py" in modules


# Modules that may import what only an extra installs (each says which in pyproject.toml).
EXTRA_MODULES = ("aiohttp_transport.py", "integrations/gateway/", "integrations/llm_plugin.py")


def _top_level_imports(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_the_package_imports_is_a_declared_dependency() -> None:
    import sys

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0] for requirement in project["dependencies"]}
    package = ROOT / "dynaspark_sdk"
    undeclared = {
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        if not str(path.relative_to(package)).startswith(EXTRA_MODULES)
        for name in _top_level_imports(path)
        if name not in sys.stdlib_module_names and name != "dynaspark_sdk" and name not in declared
    }
    assert not undeclared, sorted(undeclared)
