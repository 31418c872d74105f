"""Residents' web chat: an accessible page on the product's web server, talking to Rasa over socket.io.

``setup_webchat(app, rasa_url=...)`` mounts it into any aiohttp application; ``python -m
integrations.webchat serve`` runs it alone. Rasa needs ``rasa_channel.WebchatInput`` in
``credentials.yml``. See ``README.md`` in this folder.
"""
from __future__ import annotations

from typing import Any

__all__ = ["setup_webchat", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: Rasa imports ``integrations.webchat.rasa_channel`` and needs none of the web server.
    if name in __all__:
        from integrations.webchat import server
        return getattr(server, name)
    raise AttributeError(name)
