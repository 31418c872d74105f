"""Pretrained Japanese word vectors (chiVe) for the NLU: a Rasa dense featurizer and the fetch step.

Why: with ~70 examples per intent, a word the training data never used (予約を「解除」したい,
「辞退」します) is a blank to count and n-gram features. chiVe, word2vec trained by Works
Applications on the 100-billion-character NWJC web corpus, is keyed by SudachiPy's normalised forms,
the same forms our tokenizer produces, so near-synonyms land close together. Adding these vectors
raised cross-validated intent macro-F1 (``make bench``; README).

Where they come from: GiNZA's ``ja-ginza`` model package on PyPI (MIT; its vectors are chiVe,
Apache-2.0) carries a pruned chiVe table (480,443 words mapped onto 20,000 vectors of 300
dimensions). ``python -m bot.nlu.word_vectors fetch`` (run by ``scripts/setup.sh``) downloads that
wheel with pip, checks its SHA-256 and keeps only the table, as ``var/vectors/chive.npz``: words as
spaCy's 64-bit string hashes, sorted, each with its row. Only the vectors are used, not GiNZA's
parser or NER models. Training copies the table into the model, so a trained model is
self-contained.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from spacy.strings import hash_string

from bot.paths import VAR

DEFAULT_PATH = VAR / "vectors" / "chive.npz"
WHEEL = "ja-ginza==5.1.3"
WHEEL_SHA256 = "a78a9614fa4cdc78c513d014b44b0b1c461bfa74941dddbc13b03dbdf1190c27"
VOCAB_DIR = "ja_ginza/ja_ginza-5.1.3/vocab/"
TOKEN_NORM = "norm"  # Token.data key the tokenizer fills with Sudachi's normalised form


class WordVectors:
    """A read-only word → vector table; unknown words have no vector."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray, table: np.ndarray) -> None:
        self.keys, self.rows, self.table = keys, rows, table
        self.dim = int(table.shape[1])

    @classmethod
    def load(cls, path: Path) -> "WordVectors":
        with np.load(path) as data:
            return cls(data["keys"], data["rows"], data["table"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=self.keys, rows=self.rows, table=self.table)
        tmp.replace(path)

    def lookup(self, words: Sequence[str]) -> np.ndarray:
        """One row per word: its vector, or zeros when the table does not know it."""
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        if not words:
            return out
        hashes = np.array([hash_string(w) for w in words], dtype=np.uint64)
        pos = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        found = self.keys[pos] == hashes
        out[found] = self.table[self.rows[pos[found]]]
        return out


def sentence_vector(token_vectors: np.ndarray) -> np.ndarray:
    """Mean of the known words' vectors, unit length (zeros when no word is known): one row."""
    known = token_vectors[np.any(token_vectors != 0, axis=1)]
    if not len(known):
        return np.zeros((1, token_vectors.shape[1]), dtype=np.float32)
    mean = known.mean(axis=0)
    return (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)[None, :]


# --------------------------------------------------------------------------- fetch

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_from_wheel(wheel: Path) -> WordVectors:
    """The vector table inside a ja-ginza wheel, read with spaCy's own Vectors loader."""
    from spacy.vectors import Vectors

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        for name in ("vectors", "key2row", "vectors.cfg", "strings.json"):
            (Path(tmp) / name).write_bytes(archive.read(VOCAB_DIR + name))
        vectors = Vectors().from_disk(tmp)
    pairs = sorted((int(key), int(row)) for key, row in vectors.key2row.items())
    keys = np.array([k for k, _ in pairs], dtype=np.uint64)
    rows = np.array([r for _, r in pairs], dtype=np.int32)
    return WordVectors(keys, rows, np.asarray(vectors.data, dtype=np.float32))


def fetch(path: Path = DEFAULT_PATH, check_hash: bool = True) -> Path:
    """Downloads the wheel with pip (its cache makes repeats free) and writes the table to ``path``."""
    if path.exists():
        return path
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp, WHEEL],
                       check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        digest = _sha256(wheel)
        if check_hash and digest != WHEEL_SHA256:
            raise SystemExit(f"{wheel.name}: SHA-256 {digest} is not the expected {WHEEL_SHA256}")
        table_from_wheel(wheel).save(path)
    return path


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.nlu.word_vectors",
                                     description="Fetch the chiVe word vectors used by the NLU pipeline.")
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    print(f"Word vectors: {fetch(args.path)}")


if __name__ == "__main__":
    main()
