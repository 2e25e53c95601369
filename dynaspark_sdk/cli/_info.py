"""`dynaspark status`, `dynaspark models` and `dynaspark probe`: what the service (or the spec)
says about itself."""

from __future__ import annotations

import argparse
import json

from ._inputs import make_client
from ._output import EXIT_FAILURE, EXIT_OK, Output


def run_status(args: argparse.Namespace, out: Output) -> int:
    with make_client(args) as client, out.spinner():
        status = client.status()
    if out.json:
        out.emit_json({"ok": status.ok, "status": status.status, "details": dict(status.details)})
    else:
        out.line(f"{status.status or 'unknown'}{'' if status.ok else ' (not ok)'}")
        for name, value in status.details.items():
            if name != "status":
                out.line(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    return EXIT_OK if status.ok else EXIT_FAILURE


def run_models(args: argparse.Namespace, out: Output) -> int:
    from dynaspark_sdk import spec

    if out.json:
        out.emit_json(
            {
                "chat_models": list(spec.CHAT_MODELS),
                "default_chat_model": spec.DEFAULT_CHAT_MODEL,
                "chat_model_aliases": dict(spec.CHAT_MODEL_ALIASES),
                "vision_models": list(spec.VISION_MODELS),
                "image_models": list(spec.IMAGE_MODELS),
                "default_image_model": spec.DEFAULT_IMAGE_MODEL,
                "audio_model": spec.AUDIO_MODEL,
                "voices": list(spec.VOICES),
                "default_voice": spec.DEFAULT_VOICE,
            }
        )
        return EXIT_OK

    def marked(name: str, default: str) -> str:
        return f"{name} (default)" if name == default else name

    out.line("chat models (dynaspark chat --model):")
    for name in spec.CHAT_MODELS:
        alias = spec.CHAT_MODEL_ALIASES.get(name)
        suffix = f"  -> sent as {alias}" if alias else ""
        out.line(f"  {marked(name, spec.DEFAULT_CHAT_MODEL)}{suffix}")
    out.line("image models (dynaspark image --model):")
    out.line("  " + ", ".join(marked(name, spec.DEFAULT_IMAGE_MODEL) for name in spec.IMAGE_MODELS))
    out.line(f"voices (dynaspark speak --voice; model {spec.AUDIO_MODEL}):")
    out.line("  " + ", ".join(marked(name, spec.DEFAULT_VOICE) for name in spec.VOICES))
    return EXIT_OK


def run_probe(args: argparse.Namespace, out: Output) -> int:
    from dynaspark_sdk.integrations.probe import probe

    with out.spinner("probing Dynaspark"):
        report = probe(
            base_url=args.base_url,
            api_key=args.api_key or None,
            proxy=args.proxy,
            timeout=args.timeout,
            max_retries=args.retries or 0,
        )
    if out.json:
        out.emit_json(report.to_dict())
    else:
        for line in report.lines():
            out.line(line)
    return EXIT_OK if report.ok else EXIT_FAILURE
