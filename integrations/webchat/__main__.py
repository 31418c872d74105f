"""``python -m integrations.webchat serve --port 8000 --rasa-url http://127.0.0.1:5005``"""
from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web

from integrations.webchat.server import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m integrations.webchat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the residents' web chat")
    serve.add_argument("--host", default=os.environ.get("WEB_HOST", "0.0.0.0"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8000")))
    serve.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    serve.add_argument("--prefix", default="/chat", help="URL prefix of the chat page (default /chat)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(rasa_url=args.rasa_url, prefix=args.prefix, rasa_token=os.environ.get("RASA_AUTH_TOKEN"))
    web.run_app(app, host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
