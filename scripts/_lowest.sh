#!/usr/bin/env bash
# The fast tests (scripts/_fast_tests.sh) on the lowest versions pyproject.toml allows: the
# project with its pillow and aiohttp extras installed with `--resolution lowest-direct`, so
# httpx, httpcore, attrs, anyio, pillow and aiohttp are at their floors (what they pull in at the newest
# versions that fit), beside the `test` group's pinned tools. This is what keeps the floors
# honest: a floor too low for the code fails here. On the oldest Python supported (3.11), in
# ./.venvs/lowest, set up again only when pyproject.toml or this script changes.
source "$(dirname "${BASH_SOURCE[0]}")/_uv.sh"
source "$ROOT/scripts/_fast_tests.sh"
cd "$ROOT"
venv="$ROOT/.venvs/lowest"
stamp="$venv/.dynaspark-installed"
want="$(cat pyproject.toml "$0" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setting up $venv (--resolution lowest-direct) ..." >&2
    rm -rf "$venv"
    "$UV" venv --quiet --python "$PY" "$venv" >&2
    "$UV" pip install --quiet --python "$venv/bin/python" --resolution lowest-direct \
        -e ".[pillow,aiohttp]" --group test >&2
    echo "$want" > "$stamp"
fi
echo "-- lowest bounds: $("$UV" pip freeze --python "$venv/bin/python" 2>/dev/null \
    | grep -iE '^(httpx|httpcore|attrs|anyio|pillow|aiohttp)==' | tr '\n' ' ')"
exec "$venv/bin/python" -m pytest -q "$@" "${FAST_TESTS[@]}"
