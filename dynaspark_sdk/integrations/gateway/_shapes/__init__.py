"""OpenAI's request and answer shapes, and how they map onto the SDK's calls. No I/O, no Starlette.

One module per endpoint, and what they share:

- `errors.py`: `GatewayError` (OpenAI's error shape) and the SDK's errors mapped onto it;
- `parameters.py`: the parameter policy (what each endpoint accepts, ignores or refuses) and
  the checks of a request body's fields;
- `messages.py`: chat messages checked in OpenAI's terms (both chat completions and responses);
- `stop.py`: `stop` sequences, whole and streamed;
- `models.py`: the model names served and `/v1/models`;
- `chat_completions.py`: `/v1/chat/completions` (and the `ChatPlan` every model call is);
- `responses.py`: `/v1/responses`' requests; `response_objects.py`: its answers and events;
- `images.py`: `/v1/images/generations`;
- `speech.py`: `/v1/audio/speech`.

A request body is checked into a small plan (`ChatPlan`, `ImagePlan`, `SpeechPlan`); anything
the service cannot honour is a `GatewayError` (a 400 naming it, or a 404 for an unknown model)
before anything is sent upstream.
"""
