"""Messaging channels (Telegram, LINE) as Rasa 3.6 custom input channels.

``render`` turns bot messages into channel-neutral parts; ``telegram`` and ``line`` are the
adapters. Nothing here runs at import time.
"""
