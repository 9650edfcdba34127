"""A split's expressions as people type them without the article: the target phrase's opening "the" dropped
("the two cats on the left" -> "two cats on the left", "all the trees" -> "all trees", "both the dogs" ->
"both dogs"), reference phrases kept. Writes a sentence file for `grmnet evaluate --sentences` with only the
expressions that changed (same targets), to measure how the model reads bare noun phrases.

    python tools/drop_articles.py data/synth val runs/articles/val_no_article.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from grmnet.selection import head_noun
from grmnet.text import tokenize


def drop_article(expression: str) -> str | None:
    """The expression without the "the" of its target phrase; None when that phrase has none."""
    words = tokenize(expression)
    head, _, entry = head_noun(words)
    if entry is None or "the" not in words[:head]:
        return None
    i = words.index("the")
    return " ".join(words[:i] + words[i + 1:])


def main(argv: list[str]) -> int:
    data, split, out = Path(argv[0]), argv[1], Path(argv[2])
    scenes = json.loads((data / f"sentence_instance_{split}.json").read_text())
    kept, changed = [], 0
    for scene in scenes:
        mapping: dict[str, list[int]] = {}
        clashes: set[str] = set()
        for expression, targets in scene["sen_instIdx_map"].items():
            bare = drop_article(expression)
            if bare is None or bare in clashes:
                continue
            if bare in mapping and sorted(mapping[bare]) != sorted(targets):
                clashes.add(bare)          # two expressions that differ only by the article ("the  trees")
                del mapping[bare]
                continue
            mapping[bare] = targets
        changed += len(mapping)
        kept.append({**scene, "sen_instIdx_map": mapping})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(kept))
    print(json.dumps({"out": str(out), "scenes": len(kept), "expressions": changed}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
