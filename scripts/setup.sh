#!/usr/bin/env bash
# Creates .venv with a Python 3.10 interpreter (rasa 3.6 supports nothing newer) and installs
# the project. Re-running is cheap: pip only installs what changed.
set -euo pipefail
export RASA_TELEMETRY_ENABLED=false
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.10 "$HOME/.pyenv/versions/"3.10*/bin/python /root/.pyenv/versions/3.10*/bin/python /usr/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  if ! PY=$(find_python); then
    echo "ERROR: Python 3.10 is required (rasa 3.6 does not run on newer versions)." >&2
    echo "Install it (e.g. 'pyenv install 3.10.13') or set PYTHON=/path/to/python3.10, then run this again." >&2
    exit 1
  fi
  echo "Using $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip wheel
  .venv/bin/python -m pip install --quiet -e ".[test]"
  touch "$stamp"
fi
mkdir -p var models
# chiVe word vectors for the NLU (bot/nlu/word_vectors.py): taken once from GiNZA's wheel on PyPI.
.venv/bin/python -m bot.nlu.word_vectors fetch
