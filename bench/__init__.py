"""Benchmarks against a big PostgreSQL database (see docs/benchmarks.md)."""
