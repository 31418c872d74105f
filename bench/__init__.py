"""Offline evaluations and benchmarks (not imported by the bot)."""
