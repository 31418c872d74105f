"""Where the product keeps its local state: keys, the SQLite database, word vectors (gitignored)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
