# Sourced by scripts/_other_pythons.sh and scripts/_lowest.sh: the fast part of the suite, the
# unit and end-to-end tests that need only the `test` dependency group and the pillow and
# aiohttp extras (no contract tools, code generation, CLI subprocesses or slow waits).
FAST_TESTS=(
    tests/test_chat.py tests/test_chunks.py tests/test_concurrency_limit.py tests/test_e2e.py
    tests/test_emulator.py tests/test_errors_retries.py tests/test_history.py tests/test_lifecycle.py
    tests/test_media.py tests/test_provider.py tests/test_provider_hostile.py tests/test_service_public_endpoints.py
    tests/test_secrets.py tests/test_sse.py tests/test_stream_flush.py tests/integrations/test_process_pool.py
)
