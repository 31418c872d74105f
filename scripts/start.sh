#!/usr/bin/env bash
# Installs everything, trains when the data changed, and starts rasa + the action server.
set -euo pipefail
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/train.sh
cat <<MSG

  Starting. When you see "Rasa server is up and running", chat with:

    curl -s localhost:${RASA_PORT:-5005}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
         -d '{"sender": "me", "message": "仕事をクビになって家賃が払えません"}'

  or interactively:  .venv/bin/python -m integrations.cli_chat

MSG
exec .venv/bin/honcho start
