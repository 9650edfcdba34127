#!/usr/bin/env python
"""Compare the expression generator (grmnet.data.expressions) with real SketchyScene-Matching expressions.

Reads the real ``sentence_instance_{train,val}.json`` (never copied anywhere), derives from them the per-image
category presence and instance counts, draws synthetic box layouts with those statistics (our own simple
layout model, or ``grmnet.data.scene.compose_scene`` with ``--layouts scene`` when available), runs the
generator on them and prints, side by side: pattern family shares (GRAMMAR.md §3), template shares,
targets-per-expression histogram, expressions per image, words per expression, relation words and word usage.

    python tools/expression_stats.py [--data /work/shared/data/sketchyscene_matching] [--n 600] [--seed 0]
                                     [--json OUT.json]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grmnet.data.categories import (  # noqa: E402
    CATEGORIES, SKY, category_of_noun, plural, singular,
)
from grmnet.data.expressions import RELATIONS, generate_expressions  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sketchyscene_matching"
NUM = r"(?:two|three|four|five)"
POS = r"(?:left|right|middle|leftmost|rightmost|topmost|bottommost|(?:left|right|top|bottom) second)"
EXT = r"(?:leftmost|rightmost|topmost|bottommost)"
REL = "(?:" + "|".join(sorted((r for r in RELATIONS), key=len, reverse=True)) + ")"
RDIR = r"(?:(?:left|right) (?:front|back)|left|right|front|back)"
NOUNS = sorted({w for c in CATEGORIES for w in (singular(c), plural(c))}, key=len, reverse=True)
NOUN = "(?:" + "|".join(NOUNS) + ")"
SG = "(?:" + "|".join(sorted({singular(c) for c in CATEGORIES}, key=len, reverse=True)) + ")"
SIDE3 = r"(?:on the left|in the middle|on the right)"

# (family, template, regex) in matching order
TEMPLATES: list[tuple[str, str, str]] = [
    ("F", "the {sg} in the sky", rf"the {SG} in the sky"),
    ("F", "the stars in the sky", r"the stars in the sky"),
    ("A", "the {noun}", rf"the {NOUN}"),
    ("A", "all the {noun}", rf"all the {NOUN}"),
    ("A", "both the {noun}", rf"both the {NOUN}"),
    ("B", "the {N} {pl}", rf"the {NUM} {NOUN}"),
    ("B", "all the {N} {pl}", rf"all the {NUM} {NOUN}"),
    ("B", "both the two {pl}", rf"both the two {NOUN}"),
    ("B", "the/all the ␣{pl}", rf"(?:all )?the  {NOUN}"),
    ("C1", "the {sg} {side3}", rf"the {SG} {SIDE3}"),
    ("C1", "the {N} {pl} {side3}", rf"the {NUM} {NOUN} {SIDE3}"),
    ("C1", "the ␣{pl} {side3}", rf"the  {NOUN} {SIDE3}"),
    ("C2", "the {pos} {sg}", rf"the {POS} {SG}"),
    ("C2", "the {sg} on the {ext}", rf"the {SG} on the {EXT}"),
    ("C2", "the second {sg} on the ...", rf"the second {SG} on the (?:left|right|top|bottom)"),
    ("D", "the {sg} near the [{rdir}] {ref}", rf"the {SG} near the (?:{RDIR} )?{NOUN}"),
    ("D", "the {N} {pl} near the [{rdir}] {ref}", rf"the {NUM} {NOUN} near the (?:{RDIR} )?{NOUN}"),
    ("D", "the {sg} {rel} the {ref}", rf"the {SG} {REL} the {NOUN}"),
    ("D", "the {sg} {rel} the {rdir} {ref}", rf"the {SG} {REL} the {RDIR} {NOUN}"),
    ("D", "the {N} {pl} {rel} the {ref}", rf"the {NUM} {NOUN} {REL} the {NOUN}"),
    ("D", "the {N} {pl} {rel} the {rdir} {ref}", rf"the {NUM} {NOUN} {REL} the {RDIR} {NOUN}"),
    ("D", "the ␣{pl} {rel} the [{rdir}] {ref}", rf"the  {NOUN} {REL} the (?:{RDIR} )?{NOUN}"),
    ("E", "the {pos} {sg} {rel} the [{rdir}] {ref}", rf"the {POS} {SG} {REL} the (?:{RDIR} )?{NOUN}"),
]
_COMPILED = [(f, t, re.compile(rx + "$")) for f, t, rx in TEMPLATES]
FAMILIES = ("A", "B", "C1", "C2", "D", "E", "F", "other")


def classify(expr: str) -> tuple[str, str]:
    for fam, tpl, rx in _COMPILED:
        if rx.match(expr):
            return fam, tpl
    return "other", "other"


def relation_of(expr: str) -> str | None:
    m = re.search(rf" ({REL}) the ", expr)
    return m.group(1) if m else None


def target_category(expr: str) -> str | None:
    for w in expr.split():
        c = category_of_noun(w)
        if c:
            return c
    return None


# ---------------------------------------------------------------------------------------------- real data
def load_real(data: Path) -> list[dict[str, list[int]]]:
    images = []
    for split in ("train", "val"):
        p = data / f"sentence_instance_{split}.json"
        if p.is_file():
            images += [e["sen_instIdx_map"] for e in json.loads(p.read_text())]
    if not images:
        raise SystemExit(f"no sentence_instance_{{train,val}}.json under {data}")
    return images


def category_counts(images: list[dict[str, list[int]]]) -> list[dict[str, int]]:
    """Per image: {category: instance count}, as the union of targets of expressions naming it."""
    out = []
    for m in images:
        u: dict[str, set[int]] = {}
        for s, t in m.items():
            c = target_category(s)
            if c:
                u.setdefault(c, set()).update(t)
        out.append({c: len(v) for c, v in u.items() if v})
    return out


# ---------------------------------------------------------------------------------------- synthetic layouts
@dataclass
class Box:
    category: str
    bbox: tuple[float, float, float, float]


SIZE = {  # (w range, h range) on the 750 canvas
    "house": ((150, 280), (150, 260)), "bus": ((200, 300), (100, 150)), "truck": ((180, 280), (100, 150)),
    "car": ((120, 200), (60, 100)), "bench": ((100, 160), (50, 80)), "chair": ((50, 80), (70, 110)),
    "tree": ((80, 160), (150, 320)), "people": ((40, 80), (100, 180)), "bird": ((30, 60), (20, 40)),
    "butterfly": ((30, 60), (25, 45)), "sun": ((60, 110), (60, 110)), "moon": ((50, 80), (50, 80)),
    "cloud": ((100, 180), (50, 90)), "star": ((20, 40), (20, 40)), "grass": ((30, 80), (20, 40)),
    "road": ((600, 750), (100, 200)),
}


def _draw_box(c: str, rng: np.random.Generator, canvas: float) -> Box:
    (w0, w1), (h0, h1) = SIZE.get(c, ((50, 120), (40, 90)))
    w, h = rng.uniform(w0, w1), rng.uniform(h0, h1)
    x0 = rng.uniform(0, max(1.0, canvas - w))
    if c in SKY:
        y0 = rng.uniform(0, 0.25 * canvas)
    elif c in ("bird", "butterfly"):
        y0 = rng.uniform(0.05 * canvas, 0.6 * canvas)
    elif c == "grass":
        y0 = rng.uniform(0.55 * canvas, canvas - h)
    elif c == "road":
        y0 = rng.uniform(0.5 * canvas, canvas - h)
    else:   # feet in the ground band
        foot = rng.uniform(0.45 * canvas, 0.97 * canvas)
        y0 = max(0.0, foot - h)
    return Box(c, (float(x0), float(y0), float(x0 + w), float(y0 + h)))


def synthetic_layouts(counts: list[dict[str, int]], n: int, rng: np.random.Generator, canvas: float = 750,
                      use_scene: bool = False) -> list[list]:
    if use_scene:
        try:
            from grmnet.data.scene import compose_scene  # written concurrently; optional
            return [compose_scene(rng).objects for _ in range(n)]
        except Exception as exc:  # noqa: BLE001
            print(f"compose_scene unavailable ({exc}); using the built-in layout model", file=sys.stderr)
    layouts = []
    for _ in range(n):
        spec = counts[int(rng.integers(len(counts)))]   # resample a real image's category counts
        layouts.append([_draw_box(c, rng, canvas) for c, k in spec.items() for _ in range(k)])
    return layouts


# ---------------------------------------------------------------------------------------------- summaries
def summarize(images: list[dict[str, list[int]]]) -> dict:
    fam, tpl, rel, words, hist, nouns = Counter(), Counter(), Counter(), Counter(), Counter(), Counter()
    nwords, per_image, n = [], [], 0
    sg_forms = 0
    for m in images:
        per_image.append(len(m))
        for s, t in m.items():
            n += 1
            f, tp = classify(s)
            fam[f] += 1
            tpl[(f, tp)] += 1
            r = relation_of(s)
            if r:
                rel[r] += 1
            words.update(set(s.split()))
            nwords.append(len(s.split()))
            k = len(t)
            hist["5+" if k >= 5 else str(k)] += 1
            c = target_category(s)
            if c:
                nouns[c] += 1
                first = next(w for w in s.split() if category_of_noun(w))
                sg_forms += first == singular(c)
    pct = lambda c, tot: {k: round(100.0 * v / tot, 2) for k, v in c.items()} if tot else {}  # noqa: E731
    nrel = sum(rel.values())
    return {
        "images": len(images), "expressions": n,
        "expr_per_image": round(float(np.mean(per_image)), 2) if per_image else 0.0,
        "mean_words": round(float(np.mean(nwords)), 2) if nwords else 0.0,
        "mean_targets_positive": round(sum(len(t) for m in images for t in m.values() if t)
                                       / max(1, sum(1 for m in images for t in m.values() if t)), 2),
        "families": pct(fam, n), "templates": {f"{f} | {t}": v for (f, t), v in pct(tpl, n).items()},
        "targets": pct(hist, n), "relations": pct(rel, nrel), "target_nouns": pct(nouns, n),
        "singular_share": round(100.0 * sg_forms / max(1, sum(nouns.values())), 1),
        "word_doc_share": pct(words, n), "vocab_used": len(words),
    }


def _table(title: str, real: dict, gen: dict, keys=None, width=44) -> None:
    keys = keys or sorted(set(real) | set(gen), key=lambda k: -max(real.get(k, 0), gen.get(k, 0)))
    print(f"\n{title:<{width}} {'real %':>8} {'gen %':>8} {'diff':>7}")
    for k in keys:
        r, g = real.get(k, 0.0), gen.get(k, 0.0)
        print(f"{str(k)[:width]:<{width}} {r:8.2f} {g:8.2f} {g - r:+7.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=600, help="synthetic scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-target-share", type=float, default=0.05)
    ap.add_argument("--layouts", choices=["builtin", "scene"], default="builtin")
    ap.add_argument("--json", type=Path, default=None, help="write both summaries here")
    args = ap.parse_args(argv)

    real_images = load_real(args.data)
    rng = np.random.default_rng(args.seed)
    layouts = synthetic_layouts(category_counts(real_images), args.n, rng, use_scene=args.layouts == "scene")
    gen_images = [generate_expressions(objs, rng, no_target_share=args.no_target_share) for objs in layouts]
    real, gen = summarize(real_images), summarize(gen_images)

    print(f"real: {real['images']} images, {real['expressions']} expressions | "
          f"generated: {gen['images']} synthetic scenes, {gen['expressions']} expressions")
    for k in ("expr_per_image", "mean_words", "mean_targets_positive", "singular_share", "vocab_used"):
        print(f"  {k:<24} real {real[k]:>7}   gen {gen[k]:>7}")
    _table("pattern family", real["families"], gen["families"], list(FAMILIES))
    _table("template", real["templates"], gen["templates"])
    _table("targets per expression", real["targets"], gen["targets"], ["0", "1", "2", "3", "4", "5+"])
    _table("relation word (share of relations)", real["relations"], gen["relations"])
    _table("target category", real["target_nouns"], gen["target_nouns"])
    wr, wg = real["word_doc_share"], gen["word_doc_share"]
    diffs = sorted(set(wr) | set(wg), key=lambda w: -abs(wg.get(w, 0) - wr.get(w, 0)))[:15]
    _table("words (share of expressions using it), top diffs", wr, wg, diffs)
    tv = sum(abs(real["families"].get(f, 0) - gen["families"].get(f, 0)) for f in FAMILIES) / 2
    th = sum(abs(real["targets"].get(k, 0) - gen["targets"].get(k, 0)) for k in ("0", "1", "2", "3", "4", "5+")) / 2
    print(f"\ntotal variation distance: families {tv:.1f} %, targets histogram {th:.1f} %")
    if args.json:
        args.json.write_text(json.dumps({"real": real, "generated": gen, "tv_families": tv, "tv_targets": th},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
