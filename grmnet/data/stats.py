"""`grmnet data-stats DIR --split S [--sentences FILE]`: statistics of a SketchyScene-layout split.

Prints a human summary, then ONE JSON line last (images, pairs, instances, per-category instance counts,
targets-per-expression histogram, no-target share, mean words per expression).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from grmnet.data import sketchyscene as ss
from grmnet.errors import DatasetFormatError

HIST_BINS = ("0", "1", "2", "3", "4", "5+")


def targets_histogram(target_lists) -> dict[str, int]:
    hist = {b: 0 for b in HIST_BINS}
    for t in target_lists:
        n = len(t)
        hist["5+" if n >= 5 else str(n)] += 1
    return hist


def compute_stats(root, split: str, sentences=None) -> dict:
    root = Path(root)
    sent_path = Path(sentences) if sentences else ss.sentences_path(root, split)
    if not (root / split).is_dir():
        raise DatasetFormatError(f"{root / split}: split folder is missing")
    sents = ss.read_sentences(sent_path)
    drawings = sorted((root / split / "DRAWING_GT").glob("L0_sample*.png"))
    per_cat: Counter[str] = Counter()
    instances = 0
    targets, words = [], []
    for key in sorted(sents):
        ids, cats = ss.read_instances(root, split, key)
        instances += len(ids)
        per_cat.update(cats)
        for expr, t in sents[key].items():
            bad = [i for i in t if i >= len(ids)]
            if bad:
                raise DatasetFormatError(
                    f"{sent_path}: image {key}, expression {expr!r} refers to instance index {bad[0]} but "
                    f"{ss.instance_path(root, split, key)} has {len(ids)} instances")
            targets.append(t)
            words.append(len(expr.split()))
    pairs = len(targets)
    hist = targets_histogram(targets)
    return {
        "root": str(root), "split": split, "sentences": str(sent_path),
        "images": len(sents), "drawings": len(drawings), "pairs": pairs, "instances": instances,
        "category_instances": dict(sorted(per_cat.items(), key=lambda kv: (-kv[1], kv[0]))),
        "targets_histogram": hist,
        "no_target_share": round(hist["0"] / pairs, 4) if pairs else 0.0,
        "mean_words": round(sum(words) / pairs, 3) if pairs else 0.0,
        "mean_targets": round(sum(len(t) for t in targets) / pairs, 3) if pairs else 0.0,
    }


def run_data_stats(args) -> int:
    st = compute_stats(args.root, args.split, getattr(args, "sentences", None))
    print(f"{st['root']} split {st['split']} ({st['sentences']})")
    print(f"  images with expressions: {st['images']} (drawings in split: {st['drawings']})")
    print(f"  instances: {st['instances']}  pairs: {st['pairs']}  "
          f"mean words: {st['mean_words']}  mean targets: {st['mean_targets']}")
    print("  targets per expression: " + "  ".join(f"{k}:{v}" for k, v in st["targets_histogram"].items())
          + f"  (no-target share {st['no_target_share']:.2%})")
    print("  instances per category: " + ", ".join(f"{c} {n}" for c, n in st["category_instances"].items()))
    print(json.dumps(st, sort_keys=False))
    return 0
