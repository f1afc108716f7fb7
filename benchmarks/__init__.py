"""Benchmarks and soak runs, behind `make bench`: never part of `make test`."""
