#!/usr/bin/env bash
# Installs everything, trains when the data changed, migrates the database, and starts every
# process of the Procfile: rasa, the action server, the residents' web chat, the staff console
# and the reminder sender.
set -euo pipefail
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/train.sh
.venv/bin/python -m bot.db.migrate
cat <<MSG

  Starting. When you see "Rasa server is up and running":

    web chat (residents):   http://localhost:${WEB_PORT:-8000}/chat/
    staff console:          http://localhost:${CONSOLE_PORT:-8080}/   (first run: make admin)

  or from the terminal:

    curl -s localhost:${RASA_PORT:-5005}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
         -d '{"sender": "me", "message": "仕事をクビになって家賃が払えません"}'

  or interactively:  .venv/bin/python -m integrations.cli_chat

MSG
exec .venv/bin/honcho start
