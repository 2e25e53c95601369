"""What a type checker sees of the public surface: mypy --strict on code a user might write."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

USER_CODE = """\
import httpx

from dynaspark_sdk import AsyncClient, Client, RetryPolicy

client = Client()
client.with_options(timout=5)  # line 6: a misspelt setting
fast = client.with_options(timeout=httpx.Timeout(5.0), max_retries=0, api_key=None, retry_policy=RetryPolicy())
reveal_type(fast)  # line 8
AsyncClient().with_options(max_retries="2")  # line 9: the wrong type
copy = AsyncClient().with_options(base_url="http://127.0.0.1:1", default_headers={"x-a": "b"}, chat_path="/api")
reveal_type(copy)  # line 11
"""


def test_with_options_is_checked_like_the_constructor(tmp_path: Path) -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.fail("mypy is not installed beside this Python")
    script = tmp_path / "user_code.py"
    script.write_text(USER_CODE, encoding="utf-8")
    done = subprocess.run(
        [mypy, "--strict", "--cache-dir", str(ROOT / ".mypy_cache"), "--hide-error-context", str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    found: dict[int, list[str]] = {}
    for match in re.finditer(r"^.*user_code\.py:(\d+): (.*)$", done.stdout, flags=re.M):
        found.setdefault(int(match[1]), []).append(match[2].strip())
    errors = {number: m for number, messages in found.items() for m in messages if m.startswith("error:")}
    assert sorted(errors) == [6, 9], done.stdout
    assert 'Unexpected keyword argument "timout"' in errors[6]
    assert 'Argument "max_retries"' in errors[9] and 'incompatible type "str"' in errors[9]
    assert 'note: Revealed type is "dynaspark_sdk.client.Client"' in found[8]
    assert 'note: Revealed type is "dynaspark_sdk.async_client.AsyncClient"' in found[11]
