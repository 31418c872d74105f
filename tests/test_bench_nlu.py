"""The benchmark's per-author scores: each data round is told apart by its file name."""
from pathlib import Path

from bench import nlu


def _write(path: Path, intent: str, examples: list) -> None:
    lines = "\n".join(f"    - {e}" for e in examples)
    path.write_text(f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n{lines}\n', encoding="utf-8")


def test_examples_carry_their_author_and_are_scored_per_author(tmp_path):
    _write(tmp_path / "answers.yml", "inform", ["パートです", "持ち家です"])
    _write(tmp_path / "third_author_work.yml", "job_loss", ["クビになりました", "雇い止めにあいました"])
    corpus = nlu.load_corpus(tmp_path)
    assert {e.text: e.author for e in corpus.examples} == {
        "パートです": "first", "持ち家です": "first", "クビになりました": "third", "雇い止めにあいました": "third"}

    preds = [{"intent": "inform" if e.text == "クビになりました" else e.intent} for e in corpus.examples]
    scores = nlu.by_author(corpus.examples, preds)
    assert scores["first"] == {"examples": 2, "macro_f1": 1.0, "accuracy": 1.0}
    # macro over the third author's own intent (job_loss): recall 1/2, precision 1 -> F1 2/3
    assert scores["third"]["accuracy"] == 0.5 and abs(scores["third"]["macro_f1"] - 0.6667) < 1e-4
