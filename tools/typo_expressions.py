"""A split's expressions with one typing slip in the target noun, as people type in a hurry: a letter left out,
doubled, changed to a neighbouring key, or two neighbours swapped ("the birds" -> "the brids", "the car on the
left" -> "the cqr on the left"). Nouns shorter than 4 letters are left alone (as `correct_nouns` does). Writes a
sentence file for `grmnet evaluate --sentences` with only the changed expressions (same targets), to measure how
the engine reads misspelt nouns (setting `correct_spelling`).

    python tools/typo_expressions.py data/synth val runs/typos/val_typos.json [--seed 7]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from grmnet.selection import head_noun, noun_table
from grmnet.text import tokenize

KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def neighbours(letter: str) -> str:
    """Keys left and right of a letter on a QWERTY keyboard."""
    for row in KEYBOARD:
        i = row.find(letter)
        if i >= 0:
            return row[max(i - 1, 0):i] + row[i + 1:i + 2]
    return ""


def slip(word: str, rng: np.random.Generator) -> str:
    """One typing slip somewhere inside the word (never its first letter)."""
    i = int(rng.integers(1, len(word)))
    kind = rng.choice(["drop", "double", "key", "swap"])
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "key" and neighbours(word[i]):
        return word[:i] + rng.choice(list(neighbours(word[i]))) + word[i + 1:]
    j = min(i, len(word) - 2)
    return word[:j] + word[j + 1] + word[j] + word[j + 2:]


def with_typo(expression: str, rng: np.random.Generator) -> str | None:
    words = tokenize(expression)
    start, end, entry = head_noun(words)
    if entry is None or end - start != 1 or len(words[start]) < 4:
        return None
    typo = slip(words[start], rng)
    if typo == words[start] or (typo,) in noun_table():
        return None
    return " ".join(words[:start] + [typo] + words[end:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("split")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    scenes = json.loads((Path(args.data) / f"sentence_instance_{args.split}.json").read_text())
    kept, changed = [], 0
    for scene in scenes:
        mapping = {}
        for expression, targets in scene["sen_instIdx_map"].items():
            typo = with_typo(expression, rng)
            if typo is not None and typo not in mapping:
                mapping[typo] = targets
        changed += len(mapping)
        kept.append({**scene, "sen_instIdx_map": mapping})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(kept))
    print(json.dumps({"out": str(out), "scenes": len(kept), "expressions": changed, "seed": args.seed}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
