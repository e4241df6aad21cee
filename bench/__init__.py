"""Benchmarks: each prints its numbers and writes JSON under bench/results/. Never run as tests."""
