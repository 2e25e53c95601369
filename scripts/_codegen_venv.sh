#!/usr/bin/env bash
# Make ./.venvs/codegen, the code generator's own environment (openapi-python-client and the
# ruff that tidies its output, locked in openapi/codegen/uv.lock, apart from the SDK's
# dependencies), and print its bin folder. scripts/codegen.py runs it; idempotent and quiet.
# Installs from uv's cache when it can (no network), so check-generated works offline once
# the cache has the generator.
source "$(dirname "$0")/_uv.sh"
VENV="$ROOT/.venvs/codegen"
PROJECT="$ROOT/openapi/codegen"
stamp="$VENV/.dynaspark-installed"
want="$(cat "$PROJECT/pyproject.toml" "$PROJECT/uv.lock" "$0" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setting up $VENV from openapi/codegen/uv.lock ..." >&2
    UV_PROJECT_ENVIRONMENT="$VENV" uv_sync_locked --project "$PROJECT" --python "$PY" --quiet >&2
    echo "$want" > "$stamp"
fi
echo "$VENV/bin"
