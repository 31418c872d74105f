#!/usr/bin/env bash
# Trains models/current.tar.gz only when the training data, domain or pipeline changed.
set -euo pipefail
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3
cd "$(dirname "$0")/.."
hash=$(cat config.yml domain.yml nlu/data/*.yml bot/nlu/*.py var/vectors/chive.npz | sha256sum | cut -c1-16)
if [ -f models/current.tar.gz ] && [ "$(cat models/.data-hash 2>/dev/null)" = "$hash" ]; then
  echo "Model is up to date (models/current.tar.gz)."
  exit 0
fi
echo "Training the model (3–5 minutes on 2 cores; later runs reuse .rasa/cache)..."
.venv/bin/rasa train --data nlu/data --config config.yml --domain domain.yml --out models --fixed-model-name current --quiet
echo "$hash" > models/.data-hash
