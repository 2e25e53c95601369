#!/usr/bin/env bash
# The fast part of the suite (unit and end-to-end tests) on CPython 3.12 and 3.13, as found
# in pyenv (`pyenv root`, else ~/.pyenv) or on PATH. Each version gets its own venv,
# ./.venv-3.12 and ./.venv-3.13, with the project (editable) and only what these tests need,
# at the versions pinned in pyproject.toml's dev extra; pip runs again only when
# pyproject.toml or this script changes. A version absent from the machine is skipped, with a
# message saying so; any other problem fails. The versions run at the same time.
#
# Not run here: the contract tools (Prism, Schemathesis), code generation, the CLI's
# subprocess tests and the slow fault and rate-limit waits; scripts/test runs those on 3.11.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VERSIONS=(3.12 3.13)
# The test packages of the dev extra these tests import (their pins are read from pyproject.toml).
TEST_PACKAGES=(pytest pytest-timeout respx hypothesis trio)
TESTS=(
    tests/sdk/test_chat.py tests/sdk/test_chunks.py tests/sdk/test_concurrency_limit.py tests/e2e/test_e2e.py
    tests/emulator/test_emulator.py tests/sdk/test_errors_retries.py tests/sdk/test_history.py tests/e2e/test_lifecycle.py
    tests/sdk/test_media.py tests/integrations/test_provider.py tests/integrations/test_provider_hostile.py tests/sdk/test_service_public_endpoints.py
    tests/sdk/test_secrets.py tests/sdk/test_sse.py tests/e2e/test_stream_flush.py tests/integrations/test_process_pool.py
)

find_python() {
    local version="$1" root candidate found=""
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for candidate in "$root"/versions/"$version".*/bin/python"$version"; do
        [ -x "$candidate" ] && found="$candidate"  # the glob sorts, so the newest patch is last
    done
    if [ -z "$found" ] && command -v "python$version" >/dev/null 2>&1; then
        found="$(command -v "python$version")"
    fi
    echo "$found"
}

pinned_requirements() {
    # Each TEST_PACKAGES entry as the dev extra pins it ("pytest==9.2.0").
    "$1" - "${TEST_PACKAGES[@]}" <<'EOF'
import re
import sys
import tomllib

with open("pyproject.toml", "rb") as file:
    dev = tomllib.load(file)["project"]["optional-dependencies"]["dev"]
wanted = set(sys.argv[1:])
pins = {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower(): requirement for requirement in dev}
missing = wanted - set(pins)
if missing:
    sys.exit(f"not in the dev extra of pyproject.toml: {', '.join(sorted(missing))}")
print("\n".join(pins[name] for name in sorted(wanted)))
EOF
}

run_version() {
    local version="$1" python venv stamp want requirements
    python="$(find_python "$version")"
    if [ -z "$python" ]; then
        echo "SKIPPED: CPython $version is not installed on this machine (looked in pyenv and on PATH)"
        return 0
    fi
    venv="$ROOT/.venv-$version"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    stamp="$venv/.dynaspark-installed"
    want="$(cat pyproject.toml "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "setting up $venv ($("$python" --version)) ..."
        mapfile -t requirements < <(pinned_requirements "$venv/bin/python")
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[pillow,aiohttp]" \
            "${requirements[@]}" >"$venv/pip.log" 2>&1; then
            grep -v "^WARNING: Location" "$venv/pip.log"
            echo "pip install failed in $venv"
            return 1
        fi
        echo "$want" > "$stamp"
    fi
    echo "-- $("$venv/bin/python" --version): ${#TESTS[@]} test modules"
    "$venv/bin/python" -m pytest -q "${TESTS[@]}"
}

# The versions run side by side (most of the time goes to pip and to tests waiting on
# sockets); each one's output is shown whole once it is done.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
pids=()
for version in "${VERSIONS[@]}"; do
    run_version "$version" >"$logs/$version" 2>&1 &
    pids+=($!)
done
failed=()
for i in "${!VERSIONS[@]}"; do
    if ! wait "${pids[$i]}"; then
        failed+=("${VERSIONS[$i]}")
    fi
    cat "$logs/${VERSIONS[$i]}"
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED on CPython ${failed[*]}" >&2
    exit 1
fi
