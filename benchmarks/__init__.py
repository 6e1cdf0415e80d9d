"""Benchmarks; each writes its results, with the command used, to docs/benchmarks.md."""
