#!/usr/bin/env bash
# The gpt4free step of scripts/test: runs tests/integrations/test_gpt4free.py inside the real
# gpt4free client code of the oldest and newest versions it must work with. The two g4f
# versions cannot share a venv (same package), so each gets its own under .venvs/, with g4f
# and its few dependencies pinned here (not in uv.lock: each venv holds a different g4f) and
# this project installed in editable mode, with uv. Set up on first use (a few seconds each)
# and again only when this script or pyproject.toml changes.
source "$(dirname "${BASH_SOURCE[0]}")/_uv.sh"
# g4f's own requirements (requests, aiohttp, brotli, pycryptodome, nest_asyncio), pinned with
# what they pull in, and the test tools at the versions of pyproject.toml's `test` group.
COMMON=(
    aiohappyeyeballs==2.7.1 aiohttp==3.14.5 aiosignal==1.4.0 brotli==1.2.1 certifi==2026.10.19.post1
    charset-normalizer==3.5.3 frozenlist==1.8.0 idna==3.20 multidict==7.2.1 propcache==0.5.4
    pycryptodome==4.4.0 requests==2.34.2 urllib3==2.8.0 yarl==1.25.1
    pytest==9.2.0 pytest-timeout==2.4.0 respx==0.23.1
)
declare -A EXTRA=(
    [0.5.2.0]="nest-asyncio==1.6.0"  # the last release that shipped a Dynaspark provider
    [8.8.6]="nest-asyncio2==1.7.4"   # the newest release
)
want="$(cat "$0" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
failed=0
for version in 0.5.2.0 8.8.6; do
    venv="$ROOT/.venvs/g4f-$version"
    stamp="$venv/.dynaspark-installed"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "setting up $venv ..." >&2
        rm -rf "$venv"
        "$UV" venv --quiet --python "$PY" "$venv" >&2
        # shellcheck disable=SC2086
        "$UV" pip install --quiet --python "$venv/bin/python" \
            "g4f==$version" ${EXTRA[$version]} "${COMMON[@]}" -e "$ROOT" >&2
        echo "$want" > "$stamp"
    fi
    echo "-- gpt4free $version" >&2
    # DYNASPARK_G4F_VERSION tells the module which version it must find imported.
    if ! (cd "$ROOT" && DYNASPARK_G4F_VERSION="$version" "$venv/bin/python" -m pytest -q \
        tests/integrations/test_gpt4free.py "$@"); then
        failed=1
    fi
done
exit "$failed"
