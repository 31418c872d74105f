"""Re-encrypt all personal data with the newest data key (the second step of a key rotation).

    INTAKE_DATA_KEY="<new>,<old>" python -m bot.db.rekey [--endpoints endpoints.yml]

Re-encrypts the encrypted columns of the bot's database (``DATABASE_URL``) and every event of
Rasa's conversation store named in endpoints.yml. Afterwards the old key can be removed. Run it
while the servers are stopped, or accept that a conversation written meanwhile with the new key
is simply re-encrypted again next time. Prints counts only.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import List, Optional

from bot.db import crypto, personal, trackerdb
from bot.db.engine import make_engine
from bot.retention import DEFAULT_ENDPOINTS


async def _rekey_database() -> dict:
    engine = make_engine()
    try:
        return await personal.rekey_database(engine)
    finally:
        await engine.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.db.rekey", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="Rasa endpoints.yml (tracker store)")
    args = parser.parse_args(argv)
    try:
        keys = len(crypto.load_keys())
        counts = asyncio.run(_rekey_database())
        url = trackerdb.url_from_endpoints(args.endpoints)
        events = trackerdb.rekey(url) if url is not None else None
    except (crypto.DataKeyError, trackerdb.EndpointsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"re-encrypted with the first of {keys} key(s):")
    for table, n in counts.items():
        print(f"  {table}: {n} rows")
    print(f"  conversation events: {events if events is not None else 'no SQL tracker store'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
