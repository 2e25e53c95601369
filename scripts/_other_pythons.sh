#!/usr/bin/env bash
# The fast part of the suite (unit and end-to-end tests) on CPython 3.12 and 3.13, as found
# in pyenv (`pyenv root`, else ~/.pyenv) or on PATH. Each version gets its own venv,
# ./.venv-3.12 and ./.venv-3.13, with the project (editable), its pillow and aiohttp extras and
# the `test` dependency group, at the versions uv.lock pins (`uv sync --locked`); uv runs again
# only when pyproject.toml, uv.lock or this script changes. A version absent from the machine
# is skipped, with a message saying so; any other problem fails. The versions run at the same time.
#
# Not run here: the contract tools (Prism, Schemathesis), code generation, the CLI's
# subprocess tests and the slow fault and rate-limit waits; scripts/test runs those on 3.11.
source "$(dirname "${BASH_SOURCE[0]}")/_uv.sh"
cd "$ROOT"

VERSIONS=(3.12 3.13)
# Arguments go to pytest (scripts/test passes `-m "not serial"`, then `-m serial`).
PYTEST_ARGS=("$@")
source "$ROOT/scripts/_fast_tests.sh"

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

run_version() {
    local version="$1" python venv stamp want
    python="$(find_python "$version")"
    if [ -z "$python" ]; then
        echo "SKIPPED: CPython $version is not installed on this machine (looked in pyenv and on PATH)"
        return 0
    fi
    venv="$ROOT/.venv-$version"
    stamp="$venv/.dynaspark-installed"
    want="$(cat pyproject.toml uv.lock "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "setting up $venv ($("$python" --version)) from uv.lock ..."
        if ! UV_PROJECT_ENVIRONMENT="$venv" uv_sync_locked --python "$python" --quiet --no-default-groups \
            --group test --extra pillow --extra aiohttp; then
            echo "uv sync failed in $venv"
            return 1
        fi
        echo "$want" > "$stamp"
    fi
    echo "-- $("$venv/bin/python" --version): ${#FAST_TESTS[@]} test modules"
    "$venv/bin/python" -m pytest -q "${PYTEST_ARGS[@]}" "${FAST_TESTS[@]}"
}

# The versions run side by side (most of the time goes to tests waiting on sockets); each
# one's output is shown whole once it is done. SIDE_BY_SIDE=0 runs them one after the other
# (scripts/test does, for the `serial` tests, which time what they do).
failed=()
if [ "${SIDE_BY_SIDE:-1}" = 0 ]; then
    for version in "${VERSIONS[@]}"; do
        run_version "$version" || failed+=("$version")
    done
else
    logs="$(mktemp -d)"
    trap 'rm -rf "$logs"' EXIT
    pids=()
    for version in "${VERSIONS[@]}"; do
        run_version "$version" >"$logs/$version" 2>&1 &
        pids+=($!)
    done
    for i in "${!VERSIONS[@]}"; do
        if ! wait "${pids[$i]}"; then
            failed+=("${VERSIONS[$i]}")
        fi
        cat "$logs/${VERSIONS[$i]}"
    done
fi
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED on CPython ${failed[*]}" >&2
    exit 1
fi
