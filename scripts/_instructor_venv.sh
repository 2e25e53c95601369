#!/usr/bin/env bash
# The instructor step of scripts/test: runs tests/integrations/test_instructor.py with the real
# instructor package against the gateway. Every instructor release pins jiter<0.15, which the
# openai release of the dev group (3.57) cannot take, so instructor gets a venv of its own under
# .venvs/ with the openai it resolves to (3.3.0), its dependencies pinned, and this project
# installed in editable mode with the gateway and structured extras. Set up on first use and
# again only when this script or pyproject.toml changes.
# Installed with uv (scripts/_uv.sh finds or installs it).
source "$(dirname "${BASH_SOURCE[0]}")/_uv.sh"
PINNED=(
    instructor==1.17.0 openai==3.3.0 jiter==0.14.0 docstring-parser==0.18.0 tenacity==9.2.1
    jinja2==3.1.6 markupsafe==3.0.4 rich==14.3.4 typer==0.29.2 requests==2.34.2
    pydantic==2.14.4 jsonschema==4.26.0 starlette==1.10.0 uvicorn==0.54.0 httptools==0.9.0
    pytest==9.2.0 pytest-timeout==2.4.0 trio==0.35.0
)
want="$(cat "$0" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
venv="$ROOT/.venvs/instructor"
stamp="$venv/.dynaspark-installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setting up $venv ..." >&2
    rm -rf "$venv"
    "$UV" venv --quiet --python "$PY" "$venv" >&2
    "$UV" pip install --quiet --python "$venv/bin/python" "${PINNED[@]}" -e "$ROOT[gateway,structured]" >&2
    echo "$want" > "$stamp"
fi
# DYNASPARK_INSTRUCTOR_VENV tells the module it must find instructor (elsewhere it is skipped).
cd "$ROOT" && DYNASPARK_INSTRUCTOR_VENV=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/integrations/test_instructor.py "$@"
