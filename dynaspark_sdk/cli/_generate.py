"""`dynaspark text`, `dynaspark image` and `dynaspark speak`: one generation each, text to
stdout (streamed or whole), images and speech to a file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._inputs import make_client, output_path, save_file, text_argument
from ._output import EXIT_OK, PROG, Output, rate_limit_json


def run_text(args: argparse.Namespace, out: Output) -> int:
    prompt = text_argument(args.prompt, "PROMPT")
    options: dict[str, Any] = {
        "model": args.model,
        "system": args.system,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "presence_penalty": args.presence_penalty,
        "frequency_penalty": args.frequency_penalty,
        "seed": args.seed,
        "json": args.json_mode,
        "private": args.private,
        "referrer": args.referrer,
    }
    with make_client(args) as client:
        if args.no_stream or out.json:
            with out.spinner():
                answer = client.generate_text(prompt, **options)
            if out.json:
                usage = answer.usage
                out.emit_json(
                    {
                        "text": answer.text,
                        "model": answer.model,
                        "usage": None
                        if usage is None
                        else {
                            "prompt_tokens": usage.prompt_tokens,
                            "completion_tokens": usage.completion_tokens,
                            "total_tokens": usage.total_tokens,
                        },
                        "rate_limit": rate_limit_json(answer.rate_limit),
                    }
                )
            else:
                out.line(answer.text)
            return EXIT_OK
        stream = client.stream_text(prompt, **options)
        with stream, out.spinner() as spinner:
            for piece in stream:
                spinner.stop()
                out.write(piece)
        out.end_line()
    return EXIT_OK


def run_image(args: argparse.Namespace, out: Output) -> int:
    path = output_path(args.output)
    with make_client(args) as client:
        with out.spinner():
            result = client.generate_image(
                args.prompt,
                width=args.width,
                height=args.height,
                model=args.model,
                nologo=args.nologo,
                seed=args.seed,
                watermark=args.watermark,
            )
        with out.spinner("downloading the image"):
            data = result.download()
    save_file(path, data)
    _check_image_extension(path, data, out)
    if out.json:
        out.emit_json(
            {
                "path": str(path),
                "url": result.url,
                "bytes": len(data),
                "model": result.model,
                "seed": result.seed,
                "rate_limit": rate_limit_json(result.rate_limit),
            }
        )
    else:
        out.line(f"saved {path} ({len(data)} bytes, model {result.model}, seed {result.seed})")
        out.line(f"url: {result.url} (valid for 24 hours)")
    return EXIT_OK


# What each image format may be called.
_IMAGE_SUFFIXES = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
}


def _check_image_extension(path: Path, data: bytes, out: Output) -> None:
    """Warn (on stderr) when the file's extension names another format than the bytes hold:
    the image is saved as it came, never converted."""
    from dynaspark_sdk.frontend import detect_image_type

    kind = detect_image_type(data[:16])
    suffix = path.suffix.lower()
    if kind is None or not suffix or suffix in _IMAGE_SUFFIXES[kind]:
        return
    name = kind.removeprefix("image/").upper()
    out.note(
        f"{PROG}: warning: {path} holds a {name} image, saved as it came (not converted);"
        f" name it {path.stem}{_IMAGE_SUFFIXES[kind][0]} to match"
    )


def run_speak(args: argparse.Namespace, out: Output) -> int:
    text = text_argument(args.text, "TEXT")
    path = output_path(args.output)
    with make_client(args) as client, out.spinner():
        audio = client.generate_audio(text, voice=args.voice) if args.voice else client.generate_audio(text)
    save_file(path, audio.data)
    if out.json:
        out.emit_json(
            {
                "path": str(path),
                "bytes": len(audio.data),
                "voice": audio.voice,
                "content_type": audio.content_type,
                "rate_limit": rate_limit_json(audio.rate_limit),
            }
        )
    else:
        out.line(f"saved {path} ({len(audio.data)} bytes, {audio.content_type}, voice {audio.voice})")
    return EXIT_OK
