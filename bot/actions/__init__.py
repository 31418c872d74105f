"""Thin async rasa-sdk actions. Decisions live in pure modules under ``bot/``.

rasa-sdk imports every submodule here at start-up, so modules must not do work at import time.
"""
