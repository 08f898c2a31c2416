"""Benchmarks that print JSON (also run as `os1 bench ...`)."""
