"""`dynaspark serve-fake --answers FILE`: the emulator playing a model from a file of answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import run_cli, serve_fake

from dynaspark_sdk import Client

pytestmark = pytest.mark.usefixtures("loopback_only")


def test_the_file_s_answers_come_in_order_then_the_echo(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    call = '{"name": "get_time", "arguments": {}}'
    answers.write_text(json.dumps({"chat": [call, "It is noon."], "text": ['{"ok": true}']}), encoding="utf-8")
    with serve_fake("--answers", str(answers)) as (_, first):
        url = first.split()[-1]
        with Client(base_url=url, max_retries=0) as client:
            tools = [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
            (made,) = client.chat("What time is it?", tools=tools).tool_calls
            assert (made.name, made.arguments) == ("get_time", {})
            assert client.chat("And?").text == "It is noon."
            assert client.chat("ping").text == "[gemini-1.5-flash-8b] You said: ping"
            assert client.generate_text("x", response_format={"type": "json_object"}).parsed == {"ok": True}


def test_a_plain_list_is_shared_by_both_endpoints(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text('["one", "two"]', encoding="utf-8")
    with serve_fake("--answers", str(answers)) as (_, first), Client(base_url=first.split()[-1], max_retries=0) as c:
        assert [c.generate_text("a").text, c.chat("b").text] == ["one", "two"]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read the answers file"),
        ("{not json", "cannot read the answers file"),
        ('{"image": ["x"]}', "unknown endpoint 'image'"),
        ('{"chat": [1]}', "must be a list of strings"),
        ('"text"', "must hold a list of texts"),
    ],
)
def test_a_bad_answers_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, error: str
) -> None:
    answers = tmp_path / "answers.json"
    if content is not None:
        answers.write_text(content, encoding="utf-8")
    run = run_cli(capsys, "serve-fake", "--port", "0", "--answers", str(answers))
    assert run.code == 2
    line = run.one_error_line()
    assert "--answers" in line and error in line
