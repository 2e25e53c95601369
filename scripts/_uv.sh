# Sourced by the scripts: sets UV to a uv that can read uv.lock, installing one if needed.
#
# The uv on PATH is used when it is at least UV_VERSION; otherwise (a fresh machine has only
# Python and pip) pip installs uv==UV_VERSION into ./.venvs/uv, once. uv never downloads an
# interpreter here (UV_PYTHON_DOWNLOADS=never): every venv is made from a Python the machine
# already has, named with --python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION=0.13.9  # keep in step with required-version in pyproject.toml
export UV_PYTHON_DOWNLOADS=never
# The project's venvs are made with --python; uv must not pick a different one from the
# environment a caller happens to have activated.
unset VIRTUAL_ENV
# The interpreter the main venv, the code generator and the gpt4free venvs are made with.
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

_uv_new_enough() {
    # True when uv "$1" reports a version >= UV_VERSION.
    local have
    have="$("$1" --version 2>/dev/null | awk '{print $2}')" || return 1
    [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$UV_VERSION" "$have" | sort -V | head -n1)" = "$UV_VERSION" ]
}

if command -v uv >/dev/null 2>&1 && _uv_new_enough "$(command -v uv)"; then
    UV="$(command -v uv)"
else
    UV="$ROOT/.venvs/uv/bin/uv"
    if ! _uv_new_enough "$UV"; then
        echo "installing uv $UV_VERSION into .venvs/uv (pip; the machine has no uv >= $UV_VERSION) ..." >&2
        rm -rf "$ROOT/.venvs/uv"
        "$PY" -m venv "$ROOT/.venvs/uv"
        "$ROOT/.venvs/uv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2
    fi
fi

# uv sync --locked "$@": from uv's cache alone when it holds every file (offline, and no
# index requests), else from the index; failing with the one fix when pyproject.toml and
# uv.lock disagree.
uv_sync_locked() {
    local log status=0
    log="$(mktemp)"
    "$UV" sync --locked --offline "$@" 2>"$log" || "$UV" sync --locked "$@" 2>"$log" || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$log" >&2
        if grep -q "needs to be updated" "$log"; then
            echo "uv.lock does not match pyproject.toml: run \`scripts/uv lock\` (or \`uv lock\`) and commit" \
                "pyproject.toml and uv.lock together." >&2
        fi
    fi
    rm -f "$log"
    return "$status"
}
