"""The hand-maintained spec: valid OpenAPI, and it says what the service document says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "dynaspark.yaml"


@pytest.fixture
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def _deref(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _query(spec: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    for param in spec["paths"][path]["get"]["parameters"]:
        param = _deref(spec, param)
        if param["name"] == name:
            return _deref(spec, param["schema"])
    raise AssertionError(f"{path} has no parameter {name}")


def test_spec_is_valid_openapi_31() -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.1")


def test_validator_rejects_a_broken_copy(tmp_path: Path, spec: dict[str, Any]) -> None:
    # Proves the validity test above can fail: a parameter cannot live "in" the body.
    spec["paths"]["/api/generate_image"]["get"]["parameters"][0]["in"] = "body"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(spec), encoding="utf-8")
    document, _ = read_from_filename(str(broken))
    with pytest.raises(Exception, match="body"):
        validate(document)


#: The endpoints the service document and the known clients name. The spec may describe more
#: (an operation added after a probe finds one): each must then have an operationId, which
#: `scripts/generate` and the emulator go by.
DOCUMENTED_PATHS = {
    "/dsai_fuck_u_spammer",
    "/generate_response",
    "/api/generate_response",
    "/api/generate_image",
    "/status",
}


def test_every_endpoint_of_the_service_document_is_described(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) >= DOCUMENTED_PATHS
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
    chat = spec["paths"]["/dsai_fuck_u_spammer"]["post"]
    previous = spec["paths"]["/generate_response"]["post"]
    assert chat["x-previous-paths"] == ["/generate_response"]
    assert previous["deprecated"] is True
    assert "ASSUMED" in chat["description"]
    # The move changed nothing but the path.
    assert previous["requestBody"] == chat["requestBody"]
    assert previous["responses"] == chat["responses"]
    chat_body = chat["requestBody"]["content"]
    assert set(chat_body) == {"multipart/form-data", "application/x-www-form-urlencoded"}
    multipart = _deref(spec, chat_body["multipart/form-data"]["schema"])
    assert set(multipart["properties"]) == {"user_input", "ai_model", "file"}
    assert multipart["properties"]["file"]["format"] == "binary"
    text_ok = spec["paths"]["/api/generate_response"]["get"]["responses"]["200"]["content"]
    assert set(text_ok) == {"application/json", "text/event-stream", "text/plain", "audio/mpeg"}


def test_chat_models_aliases_and_default(spec: dict[str, Any]) -> None:
    chat_model = spec["components"]["schemas"]["ChatModel"]
    # The models gpt4free's provider listed; the spec may list newer ones after them.
    assert chat_model["enum"][:4] == [
        "gemini-1.5-flash",
        "gemini-1.5-flash-8b",
        "gemini-2.0-flash",
        "gemini-2.0-flash-lite",
    ]
    assert chat_model["default"] == "gemini-1.5-flash"
    assert chat_model["x-aliases"] == {
        "gemini-1.5-flash": "gemini-1.5-flash-8b",
        "gemini-2.0-flash": "gemini-2.0-flash-lite",
    }
    assert chat_model["x-vision-models"] == chat_model["enum"]


@pytest.mark.parametrize(
    ("path", "name", "low", "high"),
    [
        ("/api/generate_response", "temperature", 0, 3),
        ("/api/generate_response", "top_p", 0, 1),
        ("/api/generate_response", "presence_penalty", -2, 2),
        ("/api/generate_response", "frequency_penalty", -2, 2),
        ("/api/generate_image", "width", 64, 2048),
        ("/api/generate_image", "height", 64, 2048),
    ],
)
def test_ranges(spec: dict[str, Any], path: str, name: str, low: int, high: int) -> None:
    schema = _query(spec, path, name)
    assert (schema["minimum"], schema["maximum"]) == (low, high)


def test_enumerations_and_defaults(spec: dict[str, Any]) -> None:
    assert _query(spec, "/api/generate_image", "width")["default"] == 768
    assert _query(spec, "/api/generate_image", "height")["default"] == 768
    assert _query(spec, "/api/generate_image", "model")["enum"] == ["flux", "turbo", "gptimage"]
    voice = _query(spec, "/api/generate_response", "voice")
    assert voice["enum"] == ["alloy", "echo", "fable", "onyx", "nova", "shimmer"]
    assert voice["default"] == "alloy"
    params = spec["paths"]["/api/generate_response"]["get"]["parameters"]
    model = next(p for p in params if p.get("name") == "model")
    assert model["x-audio-model"] == "openai-audio"
    names = {_deref(spec, p)["name"] for p in params}
    assert names >= {  # the documented ones; the spec may gain more
        "user_input", "api_key", "model", "temperature", "top_p", "presence_penalty",
        "frequency_penalty", "json", "system", "stream", "private", "seed", "referrer", "voice",
    }  # fmt: skip


def test_errors_and_rate_limit_headers_on_every_operation(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = {code: _deref(spec, r) for code, r in operation["responses"].items()}
            ok = responses["200"]
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(ok["headers"]), (
                path,
                method,
            )
            assert "500" in responses, (path, method)
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    body = _deref(spec, response["content"]["application/json"]["schema"])
                    assert body["required"] == ["error"], (path, code)
    limited = _deref(spec, spec["paths"]["/api/generate_image"]["get"]["responses"]["429"])
    assert {"Retry-After", "X-RateLimit-Reset"} <= set(limited["headers"])


def test_undocumented_stream_format_is_marked_as_assumed(spec: dict[str, Any]) -> None:
    description = spec["paths"]["/api/generate_response"]["get"]["responses"]["200"]["description"]
    assert "ASSUMED" in description
    assert '"delta"' in description and "[DONE]" in description


def test_the_package_hands_out_the_spec_it_was_generated_from(spec: dict[str, Any]) -> None:
    from dynaspark_sdk import spec as sdk_spec

    document = sdk_spec.openapi_document()
    assert document == spec
    document["paths"].clear()  # each call gets its own copy
    assert sdk_spec.openapi_document()["paths"] == spec["paths"]
