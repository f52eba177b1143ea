"""The benchmark: ``make bench`` writes docs/benchmarks.md and docs/benchmarks.png."""
