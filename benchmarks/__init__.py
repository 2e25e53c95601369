"""The benchmarks behind BENCHMARKS.md: `scripts/bench` runs `python -m benchmarks`."""
