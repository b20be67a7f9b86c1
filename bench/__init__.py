"""Benchmarks: `make bench` (see README, Performance). Figures, not tests."""
