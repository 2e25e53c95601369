"""OpenAI's request and answer shapes, and how they map onto the SDK's calls. No I/O, no Starlette.

One module per endpoint, and what they share:

- `errors.py`: `GatewayError` (OpenAI's error shape) and the SDK's errors mapped onto it;
- `parameters.py`: the parameter policy (what each endpoint accepts, ignores or refuses) and
  the checks of a request body's fields;
- `models.py`: the model names served and `/v1/models` entries;
- `chat_completions.py`: `/v1/chat/completions`;
- `images.py`: `/v1/images/generations`;
- `speech.py`: `/v1/audio/speech`.

A request body is checked into a small plan (`ChatPlan`, `ImagePlan`, `SpeechPlan`); anything
the service cannot honour is a `GatewayError` (a 400 naming it, or a 404 for an unknown model)
before anything is sent upstream.
"""
