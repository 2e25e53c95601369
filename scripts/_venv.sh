# Sourced by the scripts: make ./.venv exist, with the project installed from uv.lock.
#
# By default it holds every extra and the `dev` dependency group (`uv sync --locked
# --all-extras`); scripts/demo sets VENV_SET=runtime and gets the runtime dependencies alone,
# added without removing anything (`--inexact`), so its cold start stays a few seconds.
# Idempotent: uv runs again only when pyproject.toml or uv.lock has changed since the last sync.
# A uv.lock that does not match pyproject.toml fails, naming the fix (`scripts/uv lock`).
source "$(dirname "${BASH_SOURCE[0]}")/_uv.sh"
VENV="$ROOT/.venv"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/uv.lock" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
full_stamp="$VENV/.dynaspark-installed"
if [ "${VENV_SET:-dev}" = runtime ]; then
    stamp="$VENV/.dynaspark-runtime"
    sync_args=(--no-default-groups --inexact)
    what="the runtime dependencies"
else
    stamp="$full_stamp"
    sync_args=(--all-extras)
    what="every extra and the dev group"
fi
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; } \
    && ! { [ -f "$full_stamp" ] && [ "$(cat "$full_stamp")" = "$want" ]; }; then
    echo "setting up $VENV from uv.lock ($what) ..." >&2
    # An explicit exit: `set -e` does not reach a file sourced inside `&&` or `if`.
    (cd "$ROOT" && UV_PROJECT_ENVIRONMENT="$VENV" uv_sync_locked --python "$PY" --quiet "${sync_args[@]}") || exit 1
    echo "$want" > "$stamp"
fi
unset VENV_SET
export PATH="$VENV/bin:$PATH"
