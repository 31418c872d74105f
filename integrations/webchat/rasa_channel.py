"""Rasa input channel for the residents' web chat: socket.io, Rasa's own protocol, two fixes.

Rasa 3.6's stock ``socketio`` channel cannot serve this product with the installed
python-socketio 5.x (both verified against the running stack):

* it calls ``sio.enter_room(...)`` without ``await`` (a coroutine in python-socketio 5.18), so
  with ``session_persistence`` the socket never joins its conversation's room and receives
  nothing at all;
* ``send_custom_json`` calls ``sio.emit(event, **payload)``, so every protocol payload
  (``{"type": "ask", ...}``) raises ``TypeError`` and the rest of the turn is lost.

This channel keeps the protocol (``session_request`` → ``session_confirm``, ``user_uttered`` /
``bot_uttered`` events, one room per conversation) and changes three things: each bot message is
one ``bot_uttered`` event shaped like a REST answer (``text``, ``buttons``, ``custom``, …); the
conversation id comes from a signed token checked at connect time (``tokens.py``), never from
the client's ``session_id``; oversized or malformed messages get a polite reply and reach
nothing. ``credentials.yml``::

    integrations.webchat.rasa_channel.WebchatInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered

(``session_persistence`` is implied: every socket joins its conversation's room.)

Its name is ``webchat``: tickets record that channel, and staff tools can push messages to a
resident with ``POST /conversations/{id}/tracker/events?output_channel=webchat&execute_side_effects=true``.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from integrations.webchat import tokens
from integrations.webchat.history import bot_message

log = logging.getLogger(__name__)

#: Longest message accepted from a resident (the page's own limit is lower).
MAX_MESSAGE_CHARS = 4000
TOO_LONG = "メッセージが長すぎるため、受け取れませんでした。いくつかに分けて送ってください。"


class WebchatOutput(OutputChannel):
    """Sends each bot message to the conversation's room as one ``bot_uttered`` event."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def __init__(self, sio: AsyncServer, bot_message_evt: Text) -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        payload = bot_message(message)
        if payload:
            await self.sio.emit(self.bot_message_evt, payload, room=recipient_id)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class WebchatInput(InputChannel):
    """socket.io channel bound to signed conversation ids (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            secret=tokens.load_secret(credentials.get("secret")),
        )

    def __init__(self, *, user_message_evt: Text = "user_uttered", bot_message_evt: Text = "bot_uttered",
                 socketio_path: Text = "/socket.io", secret: bytes) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        self.secret = secret
        self.sio: Optional[AsyncServer] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        """For messages pushed from outside a turn (staff replies during a live handoff)."""
        return WebchatOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Origins are not checked here: the token is what grants access, and the product's web
        # server reaches this endpoint server-side (it proxies the page's socket).
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        bp = SocketBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)
        self.sio = sio

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            token = auth.get("token") if isinstance(auth, dict) else None
            session_id = tokens.session_from_token(self.secret, token, time.time())
            if not session_id:
                log.info("web chat socket refused: missing, forged or expired token")
                return False
            await sio.save_session(sid, {"session_id": session_id})
            await sio.enter_room(sid, session_id)
            return True

        @sio.on("session_request")
        async def session_request(sid: Text, data: Any = None) -> None:
            # The conversation is the token's, whatever id the client asks for.
            session = await sio.get_session(sid)
            await sio.emit("session_confirm", session["session_id"], room=sid)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: Text, data: Any = None) -> None:
            session = await sio.get_session(sid)
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str):
                return
            if len(text) > MAX_MESSAGE_CHARS:
                await sio.emit(self.bot_message_evt, {"text": TOO_LONG, "local": True}, room=sid)
                return
            output = WebchatOutput(sio, self.bot_message_evt)
            await on_new_message(UserMessage(text, output, session["session_id"], input_channel=self.name(),
                                             metadata={}))

        return bp
