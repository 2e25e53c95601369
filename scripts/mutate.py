"""Mutation testing of the I/O-free core with mutmut: `scripts/mutate [MODULE ...]`.

Each module is mutated alone, against its own tests only (`MODULES`), in a scratch copy of the
project under build/mutate/<module>/ (mutmut reads its settings from the pyproject.toml of the
directory it runs in, and writes its mutants beside it). A large module is sampled: every
`sample`-th mutant, in mutmut's order, is run. Survivors listed in EQUIVALENTS (the same change
of the same line of the same function) are equivalent mutants: no test can kill them. The run
ends with the table TESTING.md shows; `--survivors` also prints each survivor's diff.

`scripts/mutate check-equivalents` (run by scripts/test) only checks that every entry of
EQUIVALENTS still names a function of the core and a line in it.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "scripts" / "equivalent_mutants.toml"
SCRATCH = ROOT / "build" / "mutate"


@dataclass(frozen=True)
class Target:
    """One row of the table: the files mutated together (glob patterns), the test files run
    against them."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    #: Run every `sample`-th mutant (1: all of them).
    sample: int = 1


#: Test files are named without their folder (found anywhere under tests/).
MODULES: dict[str, Target] = {
    "_retry": Target(
        ("dynaspark_sdk/_retry.py",),
        ("test_retry_policy.py", "test_flow_waits.py", "test_errors_retries.py", "test_service_variants.py"),
    ),
    "_rate_limit": Target(
        ("dynaspark_sdk/_rate_limit.py",),
        ("test_retry_policy.py", "test_flow_waits.py", "test_errors_retries.py", "test_rate_limit_keys.py"),
    ),
    "_flow": Target(
        ("dynaspark_sdk/_flow.py",),
        (
            "test_flow_waits.py",
            "test_hostile_answers.py",
            "test_waits_seen_by_clients.py",
            "test_image_url_guard.py",
            "test_errors_retries.py",
            "test_chat_paths.py",
            "test_fetches.py",
            "test_service_variants.py",
            "test_stream_flush.py",
        ),
        sample=2,
    ),
    "_sse": Target(("dynaspark_sdk/_sse.py",), ("test_sse.py", "test_sse_limits.py", "test_chunks.py")),
    "_folding": Target(
        ("dynaspark_sdk/_folding.py",),
        ("test_folding_rules.py", "test_history.py", "test_openai_messages.py", "test_structured_core.py"),
    ),
    "_text_decoders": Target(
        ("dynaspark_sdk/_text_decoders/*.py",),
        (
            "test_decoder_details.py",
            "test_chunks.py",
            "test_sse.py",
            "test_sse_limits.py",
            "test_text_model.py",
            "test_hostile_answers.py",
        ),
        sample=2,
    ),
    "_media": Target(
        ("dynaspark_sdk/_media.py",),
        ("test_media_details.py", "test_media.py", "test_fetches.py", "test_flow_waits.py"),
        sample=2,
    ),
    "_operations": Target(
        ("dynaspark_sdk/_operations/*.py",),
        (
            "test_operation_answers.py",
            "test_chat.py",
            "test_text_model.py",
            "test_service_public_endpoints.py",
            "test_service_variants.py",
            "test_chat_paths.py",
            "test_fetches.py",
            "test_errors_retries.py",
            "test_flow_waits.py",
            "test_hostile_answers.py",
        ),
        sample=2,
    ),
}

KILLED = {"killed", "timeout", "caught by type check"}


# --------------------------------------------------------------------------- equivalents


@dataclass(frozen=True)
class Equivalent:
    """A mutant no test can tell apart: in `function` of `module`, `original` became `mutant`."""

    module: str
    function: str
    original: str
    mutant: str
    why: str

    def matches(self, module: str, change: Change) -> bool:
        return (module, change.function, change.original, change.mutant) == (
            self.module,
            self.function,
            self.original,
            self.mutant,
        )


def load_equivalents() -> list[Equivalent]:
    data = tomllib.loads(EQUIVALENTS.read_text("utf-8"))
    return [Equivalent(**entry) for entry in data.get("equivalent", [])]


def function_lines(module: str, function: str) -> list[str] | None:
    """The stripped source lines of `function` ("name" or "Class.name") in `module`, or None."""
    path = ROOT / module
    if not path.is_file():
        return None
    source = path.read_text("utf-8")
    scope: Sequence[ast.stmt] = ast.parse(source).body
    node: ast.AST | None = None
    for part in function.split("."):
        kinds = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        node = next((n for n in scope if isinstance(n, kinds) and n.name == part), None)
        if node is None:
            return None
        scope = node.body
    segment = ast.get_source_segment(source, node, padded=True) if node is not None else None
    return [line.strip() for line in (segment or "").splitlines()]


def check_equivalents() -> int:
    """Every entry names a function that exists and a line still in it; each has a reason."""
    problems = []
    for entry in load_equivalents():
        lines = function_lines(entry.module, entry.function)
        where = f"{entry.module} {entry.function}"
        if lines is None:
            problems.append(f"{where}: no such function")
        elif any(line.strip() not in lines for line in entry.original.splitlines()):
            problems.append(f"{where}: no line {entry.original!r} in it")
        if not entry.why.strip() or "\n" in entry.why.strip():
            problems.append(f"{where}: the reason must be one line")
    for problem in problems:
        print(f"{EQUIVALENTS.relative_to(ROOT)}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{EQUIVALENTS.relative_to(ROOT)}: every equivalent mutant names existing code")
    return 1 if problems else 0


# --------------------------------------------------------------------------- a run


@dataclass(frozen=True)
class Change:
    """What a mutant changed: in `function`, the `original` lines became the `mutant` lines."""

    function: str
    original: str
    mutant: str
    diff: str


@dataclass
class Row:
    name: str
    total: int = 0
    run: int = 0
    killed: int = 0
    survivors: list[tuple[str, Change]] = field(default_factory=list)
    equivalent: int = 0
    seconds: float = 0.0
    sample: int = 1
    #: Killed in the run before, function unchanged: not run again (--again).
    carried: int = 0

    @property
    def rate(self) -> float:
        return 100.0 * self.killed / self.run if self.run else 0.0

    @property
    def rate_after_equivalents(self) -> float:
        effective = self.run - self.equivalent
        return 100.0 * self.killed / effective if effective else 100.0


def find_tests(names: Sequence[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        paths = sorted((ROOT / "tests").rglob(name))
        if not paths:
            raise SystemExit(f"scripts/mutate: no test file {name} under tests/")
        found.extend(str(path.relative_to(ROOT)) for path in paths)
    return found


def prepare(name: str, target: Target) -> Path:
    """A fresh scratch copy of the package and the tests, with mutmut's settings for `target`."""
    work = SCRATCH / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    shutil.copytree(ROOT / "dynaspark_sdk", work / "dynaspark_sdk", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    settings = {
        "source_paths": ["dynaspark_sdk"],
        "only_mutate": list(target.files),
        "pytest_add_cli_args_test_selection": find_tests(target.tests),
        "use_git_change_detection": False,
    }
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    (work / "pyproject.toml").write_text(pyproject + "\n[tool.mutmut]\n" + _toml(settings), "utf-8")
    return work


def _toml(settings: dict[str, object]) -> str:
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())


def mutmut(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    done = subprocess.run(command, cwd=work, env=env, text=True, capture_output=True)
    if check and done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"scripts/mutate: {' '.join(args[:1])} failed in {work}")
    return done


def generate(work: Path, workers: int) -> dict[str, list[str]]:
    """Create the mutants without running any test; their names, by mutated file."""
    code = (
        "from mutmut.__main__ import copy_src_dir, copy_also_copy_files, create_mutants\n"
        "from mutmut.utils.file_utils import setup_source_paths\n"
        "import os; os.makedirs('mutants', exist_ok=True)\n"
        f"copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants({workers})\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=work, check=True, capture_output=True, text=True)
    return mutant_names(work)


def read_results(work: Path) -> dict[str, dict[str, int | None]]:
    """mutmut's exit code of each mutant (None: not run), by mutated file."""
    results: dict[str, dict[str, int | None]] = {}
    for meta in sorted((work / "mutants" / "dynaspark_sdk").rglob("*.py.meta")):
        exit_codes: dict[str, int | None] = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        results[str(meta.relative_to(work / "mutants"))[: -len(".meta")]] = exit_codes
    return results


def mutant_names(work: Path) -> dict[str, list[str]]:
    return {path: list(codes) for path, codes in read_results(work).items()}


def change_of(mutated_file: Path, mutant: str) -> Change:
    """The function and lines a mutant changed: its function against the original one, both
    kept side by side in mutmut's copy of the module (`<name>__mutmut_orig`, `<name>__mutmut_<n>`)."""
    mangled, _, _number = mutant.split(".")[-1].rpartition("__mutmut_")
    sources = _function_sources(mutated_file)
    function = mangled.removeprefix("x_").replace("xǁ", "").replace("ǁ", ".")
    # The def lines differ in the name mutmut gave each copy: compare them under the real one.
    original_name, mutant_name, name = f"{mangled}__mutmut_orig", mutant.split(".")[-1], function.split(".")[-1]
    before = sources[original_name].replace(original_name, name, 1).splitlines()
    after = sources[mutant_name].replace(mutant_name, name, 1).splitlines()
    diff = list(difflib.unified_diff(before, after, lineterm="", n=1))
    removed = [line[1:].strip() for line in diff[2:] if line.startswith("-")]
    added = [line[1:].strip() for line in diff[2:] if line.startswith("+")]
    return Change(function, "\n".join(removed), "\n".join(added), "\n".join(diff))


@functools.cache
def _function_sources(path: Path) -> dict[str, str]:
    source = path.read_text("utf-8")
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name
    }


def sampled(names: Sequence[str], every: int) -> list[str]:
    def order(name: str) -> tuple[str, int]:
        function, _, number = name.rpartition("__mutmut_")
        return function, int(number)

    return [name for index, name in enumerate(sorted(names, key=order)) if index % every == 0]


def function_hashes(work: Path) -> dict[str, str]:
    """mutmut's hash of each mutated function's code, by its mangled name."""
    hashes: dict[str, str] = {}
    for meta in (work / "mutants" / "dynaspark_sdk").rglob("*.py.meta"):
        hashes.update(json.loads(meta.read_text("utf-8")).get("hash_by_function_name", {}))
    return hashes


def _mangled(mutant: str) -> str:
    return mutant.split(".")[-1].rpartition("__mutmut_")[0]


def run_module(
    name: str, target: Target, *, workers: int, sample: int | None, report_only: bool = False, again: bool = False
) -> Row:
    from mutmut.stats import status_by_exit_code  # type: ignore[import-not-found, unused-ignore]

    started = time.monotonic()
    work = SCRATCH / name
    every = sample or target.sample
    last_run = work / "last-run.json"
    carried: dict[str, int | None] = {}
    if report_only:
        names = [mutant for mutants in mutant_names(work).values() for mutant in mutants]
        recorded = json.loads(last_run.read_text("utf-8"))
        every = recorded["sample"] if sample is None else every
        carried = recorded.get("carried", {})
    else:
        before, before_hashes = read_results(work) if again else {}, function_hashes(work) if again else {}
        if again and last_run.is_file():  # the kills that run carried over itself
            earlier: dict[str, int | None] = json.loads(last_run.read_text("utf-8")).get("carried", {})
            for codes in before.values():
                codes.update({mutant: code for mutant, code in earlier.items() if mutant in codes})
        prepare(name, target)
        names = [mutant for mutants in generate(work, workers).values() for mutant in mutants]
        # A mutant the last run killed stays killed when its function is unchanged: tests were
        # only added since (--again is for that case), so it is not run again.
        hashes = function_hashes(work)
        for codes in before.values():
            for mutant, code in codes.items():
                function = _mangled(mutant)
                if status_by_exit_code[code] in KILLED and before_hashes.get(function) == hashes.get(function):
                    carried[mutant] = code
    row = Row(name, total=len(names), sample=every)
    chosen = names if every == 1 else sampled(names, every)
    carried = {mutant: code for mutant, code in carried.items() if mutant in chosen}
    row.carried = len(carried)
    to_run = [mutant for mutant in chosen if mutant not in carried]
    print(
        f"== {name}: {len(to_run)} of {len(names)} mutants ({len(carried)} killed before), against"
        f" {', '.join(target.tests)}",
        flush=True,
    )
    if not report_only:
        if to_run:
            mutmut(work, "run", "--max-children", str(workers), *([] if to_run == names else to_run))
        seconds = time.monotonic() - started
        last_run.write_text(json.dumps({"sample": every, "seconds": seconds, "carried": carried}), "utf-8")
    row.seconds = json.loads(last_run.read_text("utf-8"))["seconds"]
    results = read_results(work)
    for codes in results.values():
        codes.update({mutant: code for mutant, code in carried.items() if mutant in codes})
    equivalents = load_equivalents()
    for path, codes in results.items():
        for mutant, code in codes.items():
            if every != 1 and mutant not in chosen:
                continue
            row.run += 1
            if status_by_exit_code[code] in KILLED:
                row.killed += 1
                continue
            change = change_of(work / "mutants" / path, mutant)
            if any(entry.matches(path, change) for entry in equivalents):
                row.equivalent += 1
            else:
                row.survivors.append((f"{mutant} ({status_by_exit_code[code]})", change))
    return row


def table(rows: Sequence[Row]) -> Iterator[str]:
    yield "| module | mutants | run | killed | kill rate | equivalent | after equivalents | time |"
    yield "|---|---|---|---|---|---|---|---|"
    for row in rows:
        notes = ([f"every {row.sample}"] if row.sample != 1 else []) + (
            [f"{row.carried} kills carried over"] if row.carried else []
        )
        run = f"{row.run} ({'; '.join(notes)})" if notes else str(row.run)
        yield (
            f"| `{row.name}` | {row.total} | {run} | {row.killed} | {row.rate:.1f}% | {row.equivalent}"
            f" | {row.rate_after_equivalents:.1f}% | {f'{row.seconds / 60:.1f} min' if row.seconds else '-'} |"
        )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all), or check-equivalents")
    parser.add_argument("--workers", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--sample", type=int, help="run every N-th mutant of each module (default: per module)")
    parser.add_argument("--survivors", action="store_true", help="print each surviving mutant's diff")
    parser.add_argument(
        "--again",
        action="store_true",
        help="after adding tests: run only what the last run did not kill (and any changed function)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="no run: the table of the last run (after editing the equivalents)"
    )
    options = parser.parse_args(argv)
    if options.modules == ["check-equivalents"]:
        return check_equivalents()
    unknown = [name for name in options.modules if name not in MODULES]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}")
    rows = []
    for name in options.modules or list(MODULES):
        row = run_module(
            name,
            MODULES[name],
            workers=options.workers,
            sample=options.sample,
            report_only=options.report_only,
            again=options.again,
        )
        rows.append(row)
        for label, change in row.survivors:
            print(f"   survived: {label}: {change.function}: {change.original!r} -> {change.mutant!r}")
            if options.survivors:
                print(change.diff)
        print(list(table([row]))[-1], flush=True)
    print()
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
