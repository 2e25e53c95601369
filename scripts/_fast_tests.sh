# Sourced by scripts/_other_pythons.sh and scripts/_lowest.sh: the fast part of the suite, the
# unit and end-to-end tests that need only the `test` dependency group and the pillow and
# aiohttp extras (no contract tools, code generation, CLI subprocesses or slow waits).
FAST_TESTS=(
    tests/sdk/test_chat.py tests/sdk/test_chunks.py tests/sdk/test_concurrency_limit.py tests/e2e/test_e2e.py
    tests/emulator/test_emulator.py tests/sdk/test_errors_retries.py tests/sdk/test_history.py tests/e2e/test_lifecycle.py
    tests/sdk/test_media.py tests/integrations/test_provider.py tests/integrations/test_provider_hostile.py
    tests/sdk/test_service_public_endpoints.py tests/sdk/test_secrets.py tests/sdk/test_sse.py tests/e2e/test_stream_flush.py
    tests/integrations/test_process_pool.py
)
