"""The `dynaspark` command line, in process through `main([...])` and as a real subprocess,
against the emulator served on a loopback socket."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import eventually_blocking

from dynaspark_sdk import spec
from dynaspark_sdk.cli import main
from dynaspark_sdk.cli._spinner import Spinner
from dynaspark_sdk.testing import MP3_FRAME_HEADER, Emulator, EmulatorServer, faults, serve

SECRET = "sk-live-very-secret-0123456789"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
ERROR_PREFIX = "dynaspark: error: "


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DYNASPARK_API_KEY", "DYNASPARK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # A proxy from the environment must not carry the tests' loopback traffic away.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rejected_keys={"rejected-key-42"})) as running:
        yield running


class Run:
    """What one in-process run of the CLI left: exit status, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def one_error_line(self) -> str:
        """The single error line on stderr (asserting there is exactly one, no traceback)."""
        assert "Traceback" not in self.err
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith(ERROR_PREFIX)
        return lines[0][len(ERROR_PREFIX) :]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_subprocesses(*runs: tuple[list[str], str | None]) -> list[subprocess.CompletedProcess[str]]:
    """Run `python -m dynaspark_sdk ARGV` for each (argv, stdin) at once; wait for all."""
    started = [
        (
            argv,
            stdin,
            subprocess.Popen(
                [sys.executable, "-m", "dynaspark_sdk", *argv],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                env=subprocess_env(),
            ),
        )
        for argv, stdin in runs
    ]
    done = []
    for argv, stdin, process in started:
        try:
            out, err = process.communicate(stdin, timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
    return done


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --------------------------------------------------------------------------- usage


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "--help")
    assert run.code == 0
    for command in ("chat", "text", "image", "speak", "status", "models", "serve-fake", "demo"):
        assert command in run.out
    assert run.err == ""


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys)
    assert run.code == 2
    assert "choose a command" in run.one_error_line()


def test_unknown_option_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "text", "hi", "--temprature", "1")
    assert run.code == 2
    assert "--temprature" in run.one_error_line()
    assert run.out == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import dynaspark_sdk

    run = run_cli(capsys, "--version")
    assert (run.code, run.out) == (0, f"dynaspark-sdk {dynaspark_sdk.__version__}\n")


def test_importing_the_cli_loads_neither_httpx_nor_the_clients() -> None:
    probe = (
        "import sys, dynaspark_sdk.cli\n"
        "print(sorted(m for m in ('httpx', 'anyio', 'dynaspark_sdk.client', 'dynaspark_sdk._generated')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=subprocess_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_models_answers_without_loading_httpx_or_the_clients() -> None:
    """`dynaspark models` reads the spec's values only: it starts in a fraction of `import httpx`."""
    probe = (
        "import sys\n"
        "from dynaspark_sdk.cli import main\n"
        "code = main(['models'])\n"
        "print(code, sorted(m for m in ('httpx', 'attrs', 'anyio', 'dynaspark_sdk.client') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=subprocess_env())
    assert done.returncode == 0, done.stderr
    assert "chat models (dynaspark chat --model):" in done.stdout
    assert done.stdout.splitlines()[-1] == "0 []"


# --------------------------------------------------------------------------- chat


def test_chat_one_shot(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(capsys, "--base-url", server.url, "chat", "Hello there")
    assert (run.code, run.err) == (0, "")
    assert run.out == "[gemini-1.5-flash-8b] You said: Hello there\n"
    [request] = server.emulator.requests
    assert request.fields == {"user_input": "Hello there", "ai_model": "gemini-1.5-flash-8b"}


def test_chat_json_and_options_after_the_command(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(capsys, "chat", "Hi", "--model", "gemini-2.0-flash-lite", "--base-url", server.url, "--json")
    assert run.code == 0
    answer = json.loads(run.out)
    assert answer["text"] == "[gemini-2.0-flash-lite] You said: Hi"
    assert answer["model"] == "gemini-2.0-flash-lite"
    assert answer["rate_limit"]["limit"] == 100
    assert answer["rate_limit"]["remaining"] == 99


def test_chat_with_an_image_file(capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path) -> None:
    picture = tmp_path / "dot.png"
    picture.write_bytes(PNG)
    run = run_cli(capsys, "--base-url", server.url, "chat", "What is this?", "--image", str(picture))
    assert run.code == 0
    assert run.out == f"[gemini-1.5-flash-8b] You said: What is this? (with a {len(PNG)}-byte image/png image)\n"
    [upload] = server.emulator.requests[0].files
    assert (upload.filename, upload.data) == ("dot.png", PNG)


def test_chat_with_a_missing_image_is_exit_2_before_any_request(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.png"
    run = run_cli(capsys, "--base-url", server.url, "chat", "What is this?", "--image", str(missing))
    assert run.code == 2
    assert "no such image file" in run.one_error_line()
    assert run.out == ""
    assert server.emulator.requests == []


def test_interactive_chat_with_a_missing_image_stops_before_the_session(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello\n"))
    run = run_cli(capsys, "--base-url", server.url, "chat", "-i", "--image", str(tmp_path / "gone.png"))
    assert run.code == 2
    assert "no such image file" in run.one_error_line()
    assert server.emulator.requests == []


def test_chat_reads_a_piped_prompt(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("first line\nsecond line\n"))
    run = run_cli(capsys, "--base-url", server.url, "chat")
    assert run.code == 0
    assert server.emulator.requests[0].fields["user_input"] == "first line\nsecond line"
    assert run.out == "[gemini-1.5-flash-8b] You said: second line\n"


def test_chat_with_empty_piped_stdin_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    run = run_cli(capsys, "--base-url", server.url, "chat")
    assert run.code == 2
    assert "no prompt" in run.one_error_line()


def test_interactive_chat_folds_the_history_and_resets(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "Name a colour.\nAnother one?\n/reset\nFresh start\n/exit\nnever sent\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    run = run_cli(capsys, "--base-url", server.url, "chat", "-i", "--model", "gemini-2.0-flash-lite")
    assert run.code == 0
    assert run.out.splitlines() == [
        "[gemini-2.0-flash-lite] You said: Name a colour.",
        "[gemini-2.0-flash-lite] You said: Another one?",  # the emulator quotes the newest user line
        "[gemini-2.0-flash-lite] You said: Fresh start",
    ]
    sent = [request.fields["user_input"] for request in server.emulator.requests]
    assert sent == [
        "Name a colour.",
        "User: Name a colour.\n"
        "Assistant: [gemini-2.0-flash-lite] You said: Name a colour.\n"
        "User: Another one?\n"
        "Assistant:",
        "Fresh start",
    ]


def test_interactive_chat_goes_on_after_a_failed_turn(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.emulator.inject(faults.status(500))
    monkeypatch.setattr(sys, "stdin", io.StringIO("lost\nkept\n"))
    run = run_cli(capsys, "--base-url", server.url, "--retries", "0", "--json", "chat", "-i")
    assert run.code == 1  # the worst turn decides
    assert len(run.err.splitlines()) == 1
    error, answer = (json.loads(line) for line in run.out.splitlines())
    assert error["error"]["status_code"] == 500
    assert answer == {"user": "kept", "text": "[gemini-1.5-flash-8b] You said: kept", "model": "gemini-1.5-flash-8b"}
    # The failed turn left no trace in the history.
    assert server.emulator.requests[-1].fields["user_input"] == "kept"


# --------------------------------------------------------------------------- text


def test_text_streams_to_stdout(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(capsys, "--base-url", server.url, "text", "tell me more")
    assert (run.code, run.err) == (0, "")
    assert run.out == "[openai] You said: tell me more\n"
    [request] = server.emulator.requests
    assert request.params["stream"] == "true"


def test_text_sends_every_parameter(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(
        capsys,
        "--base-url", server.url,
        "text", "a prompt",
        "--model", "mistral",
        "--system", "be brief",
        "--temperature", "0.5",
        "--top-p", "0.9",
        "--presence-penalty", "-1.5",
        "--frequency-penalty", "2",
        "--seed", "42",
        "--json-mode",
        "--private",
        "--referrer", "cli-test",
        "--no-stream",
    )  # fmt: skip
    assert run.code == 0
    assert json.loads(run.out) == {"model": "mistral", "you_said": "a prompt"}
    params = server.emulator.requests[0].params
    assert {name: params[name] for name in params if name != "user_input"} == {
        "model": "mistral",
        "system": "be brief",
        "temperature": "0.5",
        "top_p": "0.9",
        "presence_penalty": "-1.5",
        "frequency_penalty": "2.0",
        "seed": "42",
        "json": "true",
        "private": "true",
        "referrer": "cli-test",
    }


def test_text_json_output_has_usage(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(capsys, "--json", "--base-url", server.url, "text", "one two three")
    assert run.code == 0
    answer = json.loads(run.out)
    assert answer["text"] == "[openai] You said: one two three"
    assert answer["usage"] == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}
    assert "stream" not in server.emulator.requests[0].params


def test_text_reads_stdin_for_dash(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped prompt\n"))
    run = run_cli(capsys, "--base-url", server.url, "text", "-", "--no-stream")
    assert (run.code, run.out) == (0, "[openai] You said: piped prompt\n")


@pytest.mark.parametrize("temperature", ["3.5", "-1"])
def test_text_out_of_range_temperature_is_exit_2_before_any_request(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, temperature: str
) -> None:
    run = run_cli(capsys, "--base-url", server.url, "text", "hi", "--temperature", temperature)
    assert run.code == 2
    assert "temperature" in run.one_error_line()
    assert server.emulator.requests == []


@pytest.mark.parametrize("command", ["text", "speak"])
def test_a_prompt_too_long_for_a_get_is_exit_2_with_advice_for_the_shell(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    from dynaspark_sdk._plans import MAX_URL_BYTES

    monkeypatch.setattr(sys, "stdin", io.StringIO("word " * MAX_URL_BYTES))
    extra = ["-o", str(tmp_path / "x.mp3")] if command == "speak" else []
    run = run_cli(capsys, "--base-url", "http://127.0.0.1:9", command, "-", *extra)
    assert run.code == 2
    message = run.one_error_line()
    assert f"over the {MAX_URL_BYTES}-byte limit" in message
    assert "()" not in message  # no Python method named at the shell
    if command == "text":
        assert "`dynaspark chat` sends long prompts in a POST body" in message


def test_text_non_numeric_temperature_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "text", "hi", "--temperature", "warm")
    assert run.code == 2
    assert "warm" in run.one_error_line()


def test_a_stream_cut_short_keeps_what_arrived_and_exits_1(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    server.emulator.inject(faults.cut_stream(after_events=2), path="/api/generate_response")
    run = run_cli(capsys, "--base-url", server.url, "--retries", "0", "text", "tell me more")
    assert run.code == 1
    assert run.out == "[openai] You \n"  # the two events that arrived, then the line is ended
    run.one_error_line()


# --------------------------------------------------------------------------- image, speak


def test_image_is_saved(capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    run = run_cli(
        capsys,
        "--base-url", server.url,
        "image", "a lighthouse", "-o", str(target),
        "--width", "96", "--height", "64", "--model", "turbo", "--nologo", "--seed", "5", "--watermark", "demo",
    )  # fmt: skip
    assert (run.code, run.err) == (0, "")
    assert png_size(target.read_bytes()) == (96, 64)
    first, second = run.out.splitlines()
    assert first.startswith(f"saved {target} ({target.stat().st_size} bytes, model turbo, seed 5)")
    assert second.startswith(f"url: {server.url}/images/")
    params = server.emulator.requests[0].params
    assert params == {
        "user_input": "a lighthouse",
        "width": "96",
        "height": "64",
        "model": "turbo",
        "nologo": "true",
        "seed": "5",
        "wm": "demo",
    }


@pytest.mark.parametrize(
    ("name", "warned"),
    [("x.gif", True), ("x.JPG", True), ("x.webp", True), ("x.png", False), ("x.PNG", False), ("x", False)],
)
def test_image_warns_when_the_extension_names_another_format(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path, name: str, warned: bool
) -> None:
    target = tmp_path / name
    run = run_cli(capsys, "--base-url", server.url, "image", "a fox", "-o", str(target), "--width", "64")
    assert run.code == 0
    assert target.read_bytes().startswith(b"\x89PNG")  # saved as it came, never converted
    if warned:
        assert run.err == (
            f"dynaspark: warning: {target} holds a PNG image, saved as it came (not converted);"
            f" name it {target.stem}.png to match\n"
        )
    else:
        assert run.err == ""


def test_image_json(capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    run = run_cli(capsys, "--json", "--base-url", server.url, "image", "dots", "-o", str(target), "--width", "64")
    assert run.code == 0
    answer = json.loads(run.out)
    assert answer["path"] == str(target)
    assert answer["bytes"] == target.stat().st_size
    assert answer["url"].startswith(server.url + "/images/")
    assert answer["model"] == "flux"
    assert png_size(target.read_bytes()) == (64, 768)


def test_image_into_a_missing_folder_is_exit_2_before_any_request(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path
) -> None:
    run = run_cli(capsys, "--base-url", server.url, "image", "dots", "-o", str(tmp_path / "no" / "out.png"))
    assert run.code == 2
    assert "no such directory" in run.one_error_line()
    assert server.emulator.requests == []


def test_image_without_output_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "image", "dots")
    assert run.code == 2
    assert "-o/--output" in run.one_error_line()


def test_speak_saves_mp3(capsys: pytest.CaptureFixture[str], server: EmulatorServer, tmp_path: Path) -> None:
    target = tmp_path / "hello.mp3"
    run = run_cli(capsys, "--base-url", server.url, "speak", "Hello", "-o", str(target), "--voice", "nova")
    assert run.code == 0
    data = target.read_bytes()
    assert data.startswith(MP3_FRAME_HEADER)
    assert run.out == f"saved {target} ({len(data)} bytes, audio/mpeg, voice nova)\n"
    params = server.emulator.requests[0].params
    assert (params["model"], params["voice"]) == ("openai-audio", "nova")


def test_speak_unknown_voice_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = run_cli(
        capsys, "--base-url", "http://127.0.0.1:9", "speak", "Hi", "-o", str(tmp_path / "a.mp3"), "--voice", "x"
    )
    assert run.code == 2
    assert "voice" in run.one_error_line()


# --------------------------------------------------------------------------- status, models


def test_status(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(capsys, "--base-url", server.url, "status")
    assert (run.code, run.out) == (0, "ok\n  emulator: true\n")
    run = run_cli(capsys, "--base-url", server.url, "--json", "status")
    assert json.loads(run.out) == {"ok": True, "status": "ok", "details": {"status": "ok", "emulator": True}}


def test_models_come_from_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "--json", "models")
    listed = json.loads(run.out)
    assert listed["chat_models"] == list(spec.CHAT_MODELS)
    assert listed["chat_model_aliases"] == dict(spec.CHAT_MODEL_ALIASES)
    assert listed["image_models"] == list(spec.IMAGE_MODELS)
    assert listed["voices"] == list(spec.VOICES)
    text = run_cli(capsys, "models").out
    assert "gemini-1.5-flash (default)  -> sent as gemini-1.5-flash-8b" in text
    assert "alloy (default)" in text


# --------------------------------------------------------------------------- failures


def test_a_server_error_is_exit_1_on_one_line(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    server.emulator.inject(faults.status(500, error="the model fell over"))
    run = run_cli(capsys, "--base-url", server.url, "--retries", "0", "chat", "Hello")
    assert run.code == 1
    assert run.out == ""
    assert "the model fell over" in run.one_error_line()


def test_errors_as_json(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    server.emulator.inject(faults.status(503))
    run = run_cli(capsys, "--json", "--base-url", server.url, "--retries", "0", "text", "hi")
    assert run.code == 1
    error = json.loads(run.out)["error"]
    assert (error["type"], error["status_code"], error["exit_code"]) == ("InternalServerError", 503, 1)
    assert error["message"] == run.one_error_line()


def test_no_service_listening_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_cli(capsys, "--base-url", f"http://127.0.0.1:{port}", "--retries", "0", "status")
    assert run.code == 1
    run.one_error_line()


def test_bad_base_url_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "--base-url", "ftp://example.invalid", "status")
    assert run.code == 2
    assert "base_url" in run.one_error_line()


@pytest.mark.parametrize("how", ["rejected key", "injected 401"])
def test_the_api_key_never_shows_on_a_401(capsys: pytest.CaptureFixture[str], server: EmulatorServer, how: str) -> None:
    key = "rejected-key-42" if how == "rejected key" else SECRET
    if how == "injected 401":
        server.emulator.inject(faults.status(401, error=f"bad key {SECRET}"))
    for extra in ([], ["--json"], ["--debug"]):
        run = run_cli(capsys, *extra, "--api-key", key, "--base-url", server.url, "text", "hi", "--no-stream")
        assert run.code == 1
        assert key not in run.out + run.err
        if how == "injected 401":
            server.emulator.inject(faults.status(401, error=f"bad key {SECRET}"))
    assert all(request.api_key == key for request in server.emulator.requests)


def test_the_api_key_never_shows_in_debug_output(capsys: pytest.CaptureFixture[str], server: EmulatorServer) -> None:
    run = run_cli(capsys, "--debug", "--api-key", SECRET, "--base-url", server.url, "text", "hi", "--no-stream")
    assert run.code == 0
    assert "HTTP Request: GET" in run.err  # debug really logged the request line...
    assert "api_key=[REDACTED]" in run.err  # ...with the key taken out
    assert SECRET not in run.out + run.err
    assert server.emulator.requests[0].api_key == SECRET


def test_the_api_key_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNASPARK_API_KEY", SECRET)
    run = run_cli(capsys, "--json", "--base-url", server.url, "text", "hi")
    assert run.code == 0
    assert SECRET not in run.out + run.err
    assert server.emulator.requests[0].api_key == SECRET


def test_interrupt_is_exit_130(
    capsys: pytest.CaptureFixture[str], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", interrupted)
    run = run_cli(capsys, "--base-url", server.url, "chat", "-i")
    assert run.code == 130
    assert run.err == "dynaspark: interrupted\n"


class Terminal:
    """`python -m dynaspark_sdk ARGV` on a pseudo-terminal: its controlling terminal, so the
    line discipline turns ^C into SIGINT and ^D into end of input, as for a person."""

    def __init__(self, *argv: str) -> None:
        import pty

        env = subprocess_env()
        env["TERM"] = "dumb"  # readline: no escape sequences in what is read back
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(sys.executable, [sys.executable, "-m", "dynaspark_sdk", *argv], env)
        self.seen = b""
        self.matched = 0  # where the last expected text ended

    def expect(self, wanted: bytes, timeout: float = 20.0) -> None:
        """Read until `wanted` appears after the last text expected."""
        assert self.appears(wanted, timeout), f"no {wanted!r} within {timeout} s; seen: {self.seen!r}"

    def appears(self, wanted: bytes, timeout: float) -> bool:
        """Whether `wanted` appears after the last text expected, reading for at most `timeout` s
        of silence."""
        import select

        while (found := self.seen.find(wanted, self.matched)) < 0:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return False
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            assert chunk, f"the terminal closed before {wanted!r}; seen: {self.seen!r}"
            self.seen += chunk
        self.matched = found + len(wanted)
        return True

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def ended(self, timeout: float) -> bool:
        """Whether the terminal closes (the command ended) within `timeout` s of silence."""
        import select

        while True:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return False
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                return True
            if not chunk:
                return True
            self.seen += chunk

    def wait(self, timeout: float = 20.0) -> int:
        """The exit status, reading the terminal dry meanwhile."""
        assert self.ended(timeout), f"the command did not end; seen: {self.seen!r}"
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_interactive_chat_on_a_terminal_survives_ctrl_c_and_leaves_on_ctrl_d(server: EmulatorServer) -> None:
    terminal = Terminal("--base-url", server.url, "chat", "-i")
    try:
        terminal.expect(b"you> ")
        terminal.send(b"half a line")
        terminal.expect(b"half a line")  # echoed: the prompt is reading
        # Ctrl-C: the line is dropped, the session goes on. CPython's readline misses a SIGINT
        # that lands while it is still handling the keys before it (it acts on one only while
        # waiting for input), as a person pressing Ctrl-C again would see: so press it again.
        presses = 1
        terminal.send(b"\x03")
        while not terminal.appears(b"you> ", timeout=2.0):
            assert presses < 5, f"Ctrl-C never gave a new prompt; seen: {terminal.seen!r}"
            terminal.send(b"\x03")
            presses += 1
        terminal.send(b"Name a colour.\r")
        terminal.expect(b"You said: Name a colour.")
        terminal.expect(b"you> ")
        terminal.send(b"\x04")  # Ctrl-D at an empty prompt: the session ends
        code = terminal.wait()
    finally:
        terminal.kill()
    assert code == 0
    assert b"Traceback" not in terminal.seen
    assert b"interrupted" not in terminal.seen
    assert [request.fields["user_input"] for request in server.emulator.requests] == ["Name a colour."]


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_ctrl_c_while_an_answer_is_awaited_cancels_it_and_keeps_the_session(server: EmulatorServer) -> None:
    """As ollama's REPL: Ctrl-C while waiting cancels that request, the history stays; at an
    empty prompt a second Ctrl-C ends the session."""
    terminal = Terminal("--base-url", server.url, "--retries", "0", "chat", "-i")
    try:
        terminal.expect(b"you> ")
        terminal.send(b"Name a colour.\r")
        terminal.expect(b"You said: Name a colour.")
        terminal.expect(b"you> ")
        server.emulator.inject(faults.slow_first_byte(60))  # the next answer takes a minute
        terminal.send(b"Another one?\r")
        eventually_blocking(lambda: len(server.emulator.requests) == 2, "the second question reached the emulator")
        # Once: no readline is reading now, so the signal is not missed, and a second press
        # at the prompt that follows would end the session.
        terminal.send(b"\x03")
        terminal.expect(b"(cancelled; the conversation is as it was")
        terminal.expect(b"you> ")
        terminal.send(b"And now?\r")
        terminal.expect(b"You said: And now?")
        terminal.expect(b"you> ")
        # At an empty prompt: a hint, the session goes on; again: it ends. Pressed until it ends,
        # as readline may miss a press (see the test above).
        for _ in range(6):
            terminal.send(b"\x03")
            if terminal.ended(timeout=2.0):
                break
        code = terminal.wait()
        assert terminal.seen.count(b"(Ctrl-C again, Ctrl-D or /exit quits)") == 1
    finally:
        terminal.kill()
    assert code == 0
    assert b"Traceback" not in terminal.seen
    assert b"interrupted" not in terminal.seen
    asked = [request.fields["user_input"] for request in server.emulator.requests]
    first = "User: Name a colour.\nAssistant: [gemini-1.5-flash-8b] You said: Name a colour.\n"
    assert asked[:2] == ["Name a colour.", first + "User: Another one?\nAssistant:"]
    # The cancelled question left no trace: the third prompt folds only the first exchange.
    assert asked[2:] == [first + "User: And now?\nAssistant:"]


def test_interactive_chat_on_a_terminal_leaves_on_exit(server: EmulatorServer) -> None:
    terminal = Terminal("--base-url", server.url, "chat", "-i")
    try:
        terminal.expect(b"you> ")
        terminal.send(b"/exit\r")
        code = terminal.wait()
    finally:
        terminal.kill()
    assert code == 0
    assert server.emulator.requests == []


# --------------------------------------------------------------------------- spinner


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal, and tells when something was drawn."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        written = super().write(text)
        self.drawn.set()
        return written


def visible_line(written: str) -> str:
    """What a terminal shows on the line after `written` (carriage returns overwrite)."""
    line: list[str] = []
    column = 0
    for char in written:
        if char == "\r":
            column = 0
        else:
            line[column : column + 1] = [char]
            column += 1
    return "".join(line).rstrip()


def test_spinner_draws_on_a_terminal_and_leaves_a_clean_line() -> None:
    terminal = FakeTerminal()
    spinner = Spinner(terminal, "waiting for Dynaspark", start_delay=0).start()
    assert terminal.drawn.wait(5)
    spinner.stop()
    written = terminal.getvalue()
    assert "waiting for Dynaspark" in written
    assert written.endswith("\r")
    assert visible_line(written) == ""
    spinner.stop()  # idempotent: nothing more is written
    assert terminal.getvalue() == written
    assert not spinner.active


def test_spinner_draws_nothing_off_a_terminal() -> None:
    stream = io.StringIO()
    spinner = Spinner(stream, start_delay=0).start()
    assert not spinner.active
    spinner.stop()
    assert stream.getvalue() == ""


class RecordingStdout(io.StringIO):
    """A stdout that notes each write in a log it shares with `OrderedTerminal`."""

    def __init__(self, log: list[tuple[str, str]]) -> None:
        super().__init__()
        self.log = log

    def write(self, text: str) -> int:
        self.log.append(("out", text))
        return super().write(text)


class OrderedTerminal(FakeTerminal):
    def __init__(self, log: list[tuple[str, str]]) -> None:
        super().__init__()
        self.log = log

    def write(self, text: str) -> int:
        self.log.append(("err", text))
        return super().write(text)


def test_spinner_is_wiped_before_the_first_piece_of_output(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dynaspark_sdk import client as client_module

    log: list[tuple[str, str]] = []
    terminal = OrderedTerminal(log)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", RecordingStdout(log))
    monkeypatch.setattr("dynaspark_sdk.cli._spinner._DEFAULT_START_DELAY", 0)
    # The stream yields nothing until the spinner has drawn: a slow service, without a clock.
    original_next = client_module.Stream.__next__

    def after_the_spinner_drew(stream: client_module.Stream) -> str:
        assert terminal.drawn.wait(5)
        return original_next(stream)

    monkeypatch.setattr(client_module.Stream, "__next__", after_the_spinner_drew)
    assert main(["--base-url", server.url, "text", "hello"]) == 0
    first_out = next(index for index, (where, _) in enumerate(log) if where == "out")
    drawn_before = "".join(text for where, text in log[:first_out] if where == "err")
    assert "waiting for Dynaspark" in drawn_before
    assert visible_line(drawn_before) == ""  # wiped before the answer began
    assert all(where == "out" for where, _ in log[first_out:])  # and never drawn again
    assert "".join(text for where, text in log if where == "out") == "[openai] You said: hello\n"


# --------------------------------------------------------------------------- real subprocesses


def test_subprocesses_answer_one_shot_and_interactive_chats(server: EmulatorServer) -> None:
    with serve() as session_server:
        one_shot, session = run_subprocesses(
            (["--base-url", server.url, "chat", "Привет! Как дела?"], None),
            (["--base-url", session_server.url, "chat", "-i"], "Name a colour.\nAnother one?\n"),
        )
        second = session_server.emulator.requests[1].fields["user_input"]
    assert (one_shot.returncode, one_shot.stderr) == (0, "")
    assert one_shot.stdout == "[gemini-1.5-flash-8b] You said: Привет! Как дела?\n"
    assert (session.returncode, session.stderr) == (0, "")
    assert session.stdout.splitlines() == [
        "[gemini-1.5-flash-8b] You said: Name a colour.",
        "[gemini-1.5-flash-8b] You said: Another one?",
    ]
    assert second.splitlines() == [
        "User: Name a colour.",
        "Assistant: [gemini-1.5-flash-8b] You said: Name a colour.",
        "User: Another one?",
        "Assistant:",
    ]


def test_subprocesses_exit_1_and_2_with_one_line_errors(server: EmulatorServer) -> None:
    server.emulator.inject(faults.status(500))
    failed, refused = run_subprocesses(
        (["--base-url", server.url, "--retries", "0", "--api-key", SECRET, "text", "hi"], None),
        (["--base-url", server.url, "--api-key", SECRET, "text", "hi", "--temperature", "9"], None),
    )
    assert (failed.returncode, refused.returncode) == (1, 2)
    assert "Internal Server Error" in failed.stderr
    assert "temperature" in refused.stderr
    for done in (failed, refused):
        assert done.stdout == ""
        assert done.stderr.startswith(ERROR_PREFIX)
        assert done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr
        assert SECRET not in done.stdout + done.stderr
    assert [request.api_key for request in server.emulator.requests] == [SECRET]


@pytest.mark.parametrize(
    "argv",
    [["--json", "chat", "hi"], ["chat", "hi"], ["text", "hi"], ["--json", "text", "hi"], ["models"]],
    ids=" ".join,
)
def test_a_failing_stdout_is_one_error_line_and_exit_1(server: EmulatorServer, argv: list[str]) -> None:
    # /dev/full takes the open but fails every write with ENOSPC, as a full disk does.
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "dynaspark_sdk", "--base-url", server.url, *argv],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
            timeout=30,
        )
    assert done.returncode == 1
    assert done.stderr == f"{ERROR_PREFIX}cannot write to stdout: No space left on device\n"


@contextlib.contextmanager
def serve_fake(*options: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`dynaspark serve-fake --port 0 OPTIONS` as a subprocess: (process, its first stdout line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dynaspark_sdk", "serve-fake", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_serve_fake_runs_until_interrupted() -> None:
    with serve_fake("--stream-delay", "0") as (process, first):
        assert first.startswith("Dynaspark emulator listening on http://127.0.0.1:")
        url = first.split()[-1]
        answer = httpx.get(url + "/api/generate_response", params={"user_input": "ping"}, trust_env=False)
        assert answer.json()["response"] == "[openai] You said: ping"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err
    assert "stopped after 1 requests" in err


def test_serve_fake_refuses_a_bad_chat_path(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "serve-fake", "--port", "0", "--chat-path", "generate_response")
    assert run.code == 2
    assert "--chat-path" in run.one_error_line()


def test_serve_fake_serves_chat_only_at_the_chosen_path() -> None:
    with serve_fake("--chat-path", "/generate_response") as (_, first):
        url = first.split()[-1]
        fields = {"user_input": "ping", "ai_model": "gemini-2.0-flash-lite"}
        old = httpx.post(url + "/generate_response", data=fields, trust_env=False)
        new = httpx.post(url + "/dsai_fuck_u_spammer", data=fields, trust_env=False)
    assert old.json() == {"response": "[gemini-2.0-flash-lite] You said: ping"}
    assert new.status_code == 404


def test_serve_fake_answers_only_hosts_it_serves_unless_allowed() -> None:
    with serve_fake() as (_, first):
        url = first.split()[-1]
        rebound = httpx.get(url + "/status", headers={"host": "rebind.example"}, trust_env=False)
        page = httpx.get(url + "/status", headers={"origin": "https://evil.example"}, trust_env=False)
    assert (rebound.status_code, page.status_code) == (403, 403)
    assert "--allowed-host NAME" in rebound.json()["error"]
    with serve_fake("--allowed-host", "rebind.example") as (_, first):
        url = first.split()[-1]
        allowed = httpx.get(url + "/status", headers={"host": "rebind.example"}, trust_env=False)
    assert allowed.json() == {"status": "ok", "emulator": True}


def test_serve_fake_refuses_an_allowed_host_that_is_not_a_host_name(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "serve-fake", "--port", "0", "--allowed-host", "http://x.example")
    assert run.code == 2
    assert "--allowed-host: an allowed host is a host name without scheme or port" in run.one_error_line()


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_serve_fake_takes_a_rate_limit_window_and_faults_from_the_command_line() -> None:
    options = ("--rate-limit", "2", "--rate-window", "60", "--fault", "status:503x2@/status", "--fault", "reset")
    with serve_fake(*options) as (process, first):
        url = first.split()[-1]
        with httpx.Client(base_url=url, trust_env=False) as http:
            with pytest.raises(httpx.TransportError):  # `reset`, on the first request of any path
                http.get("/api/generate_response", params={"user_input": "a"})
            statuses = [http.get("/status").status_code for _ in range(3)]
            texts = [http.get("/api/generate_response", params={"user_input": "b"}) for _ in range(3)]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert statuses == [503, 503, 200]
    assert [answer.status_code for answer in texts] == [200, 200, 429]
    assert texts[0].headers["x-ratelimit-limit"] == "2"
    assert 1 <= int(texts[2].headers["retry-after"]) <= 60
    assert "rate limit: 2 requests per key per 60 s" in err
    assert "faults: the next 3 matching request(s)" in err


@pytest.mark.serial  # gives a subprocess a fixed time to start or to answer a signal
def test_serve_fake_rate_limit_0_is_no_limit() -> None:
    with serve_fake("--rate-limit", "0", "--json") as (process, first):
        started = json.loads(first)
        assert (started["rate_limit"], started["rate_window"], started["faults"]) == (None, 3600.0, 0)
        with httpx.Client(base_url=started["url"], trust_env=False) as http:
            answers = [http.get("/api/generate_response", params={"user_input": "hi"}) for _ in range(110)]
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert {answer.status_code for answer in answers} == {200}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--fault", "status:abc"], "argument --fault: the status code must be a whole number, not 'abc'"),
        (["--fault", "teapot"], "argument --fault: unknown fault 'teapot'"),
        (["--rate-limit", "-1"], "argument --rate-limit: must be 0 or more: '-1'"),
        (["--rate-window", "0"], "argument --rate-window: must be more than 0: '0'"),
    ],
)
def test_serve_fake_refuses_bad_limits_and_faults(
    capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    run = run_cli(capsys, "serve-fake", "--port", "0", *option)
    assert run.code == 2
    assert message in run.one_error_line()


def test_serve_fake_help_documents_the_defaults_and_every_fault(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dynaspark_sdk.testing import FAULT_SPEC_SYNTAX

    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside a fault's name
    run = run_cli(capsys, "serve-fake", "--help")
    assert run.code == 0
    shown = " ".join(run.out.split())
    for said in ("(default 100; 0: no limit)", "(default 3600)", "(default 0)", "default: none"):
        assert said in shown, said
    kinds = FAULT_SPEC_SYNTAX.split("KIND one of: ", 1)[1].split(" (e.g.", 1)[0]
    for kind in kinds.split(", "):
        assert kind in shown, kind


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--json", "chat", "--bogus", "x"], "unrecognized arguments: --bogus"),
        (["chat", "--json", "--bogus", "x"], "unrecognized arguments: --bogus"),
        (["--json", "image", "a fox"], "the following arguments are required: -o/--output"),
        (["--json", "--api-key", SECRET, "--timeout", SECRET, "status"], "argument --timeout: "),
        (["--json", f"--api-key={SECRET}", "--timeout", SECRET, "status"], "argument --timeout: "),
    ],
)
def test_usage_errors_come_as_json_too_with_json(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    run = run_cli(capsys, *argv)
    assert run.code == 2
    line = run.one_error_line()
    assert message in line
    error = json.loads(run.out)["error"]
    assert error == {"type": "UsageError", "message": line, "exit_code": 2}
    assert SECRET not in run.out + run.err


def test_usage_errors_without_json_leave_stdout_empty(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "chat", "--bogus", "x", "--", "--json")
    assert run.code == 2
    assert run.out == ""
    assert "unrecognized arguments" in run.one_error_line()


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_stdin_that_is_not_utf8_is_named_with_its_byte(server: EmulatorServer, errors: str) -> None:
    env = {**subprocess_env(), "PYTHONIOENCODING": f"utf-8:{errors}"}
    command = [sys.executable, "-m", "dynaspark_sdk", "--base-url", server.url]
    expected = (
        "stdin is not UTF-8: byte 0xE9 after 'caf' cannot be read as UTF-8;"
        " convert it first (e.g. iconv -f latin1 -t utf-8)"
    )
    for argv in (["chat"], ["text", "-"]):
        done = subprocess.run([*command, *argv], input=b"caf\xe9", capture_output=True, env=env, timeout=60)
        assert (done.returncode, done.stdout) == (2, b"")
        assert done.stderr.decode() == f"{ERROR_PREFIX}{expected}\n"
    session = subprocess.run(
        [*command, "chat", "-i"], input=b"first\ncaf\xe9\nthird\n", capture_output=True, env=env, timeout=60
    )
    assert session.returncode == 2  # the worst of the turns
    assert session.stderr.decode() == f"{ERROR_PREFIX}{expected}\n"
    answers = session.stdout.decode().splitlines()
    if errors == "surrogateescape":  # the line is refused, the session goes on
        assert answers == ["[gemini-1.5-flash-8b] You said: first", "[gemini-1.5-flash-8b] You said: third"]
        assert len(server.emulator.requests) == 2
    else:  # a strict stdin loses the whole chunk it cannot decode: the session ends there
        assert answers == []


def test_an_argument_that_is_not_utf8_is_named_with_its_byte(server: EmulatorServer) -> None:
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"dynaspark_sdk", b"--base-url", server.url.encode(), b"text", b"caf\xe9"],
        capture_output=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode() == (
        f"{ERROR_PREFIX}the PROMPT argument is not UTF-8: byte 0xE9 after 'caf' cannot be read as UTF-8;"
        " convert it first (e.g. iconv -f latin1 -t utf-8)\n"
    )
    assert server.emulator.requests == []
