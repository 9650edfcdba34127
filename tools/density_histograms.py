#!/usr/bin/env python
"""Scene density and object sizes: real SketchyScene vs our synthetic scenes, side by side.

Real statistics are only READ (nothing is copied into the repository, nothing is trained on):

* counts per scene (trees, grass tufts, clouds, all instances) from the SketchyScene-Matching train+val
  expression files: per image and category, the union of the targets of the expressions naming it;
* object heights (ink bounding box, 750-px canvas) from the ink-level instance masks of the three real
  sample sketches (few objects: indicative only).

Synthetic statistics come from ``compose_scene`` on the ``train`` split seeds, with the realism default
(``Realism()``, SketchyScene-matched density) and with ``--baseline`` (default ``legacy``: the older tables).

    python tools/density_histograms.py [--n 200] [--seed 0] [--out docs/results/density.md]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grmnet.data.categories import category_of_noun  # noqa: E402
from grmnet.data.realism import Realism  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
COUNT_CATS = ("tree", "grass", "cloud")
SIZE_CATS = ("tree", "people", "house", "cloud", "grass", "sun", "chicken", "duck", "dog", "road")
BINS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # last bin is "10+"


def _target_category(expr: str) -> str | None:
    for w in expr.split():
        c = category_of_noun(w)
        if c:
            return c
    return None


def real_counts(data: Path) -> list[dict[str, int]]:
    out = []
    for split in ("train", "val"):
        p = data / f"sentence_instance_{split}.json"
        if not p.is_file():
            continue
        for e in json.loads(p.read_text()):
            u: dict[str, set[int]] = {}
            for s, t in e["sen_instIdx_map"].items():
                c = _target_category(s)
                if c:
                    u.setdefault(c, set()).update(t)
            out.append({c: len(v) for c, v in u.items() if v})
    if not out:
        raise SystemExit(f"no sentence_instance_{{train,val}}.json under {data}")
    return out


def real_heights(samples: Path) -> dict[str, list[int]]:
    from scipy.io import loadmat

    from grmnet.data.categories import CATEGORIES

    names = None
    cm = samples / "colorMapC46.mat"
    if cm.is_file():
        m = loadmat(str(cm))["colorMap"]
        names = [str(m[i][0][0]) for i in range(len(m))]
    out: dict[str, list[int]] = defaultdict(list)
    for n in (1, 2, 3):
        ip = samples / "test" / "INSTANCE_GT" / f"sample_{n}_instance.mat"
        cp = samples / "test" / "CLASS_GT" / f"sample_{n}_class.mat"
        if not ip.is_file() or not cp.is_file():
            continue
        inst = loadmat(str(ip))["INSTANCE_GT"]
        cls = loadmat(str(cp))["CLASS_GT"]
        for i in np.unique(inst):
            if i == 0:
                continue
            m = inst == i
            cid = int(np.bincount(cls[m]).argmax())
            name = names[cid - 1] if names and 0 < cid <= len(names) else str(cid)
            name = {"person": "people"}.get(name, name)
            if name not in CATEGORIES:
                continue
            ys = np.nonzero(m.any(1))[0]
            out[name].append(int(ys[-1] - ys[0] + 1))
    return out


def synthetic(n: int, seed: int, realism: Realism, library=None
              ) -> tuple[list[dict[str, int]], dict[str, list[int]], float]:
    from grmnet.data.scene import ComponentLibrary, compose_scene
    from grmnet.data.synth import CANVAS, scene_rngs, split_library

    lib = split_library("train", ComponentLibrary(library) if library else None)
    counts, heights = [], defaultdict(list)
    t0 = time.process_time()
    for k in range(1, n + 1):
        rs, _ = scene_rngs("train", seed, k)
        sc = compose_scene(rs, size=CANVAS, library=lib, realism=realism)
        counts.append(dict(Counter(o.category for o in sc.objects)))
        for o in sc.objects:
            heights[o.category].append(o.bbox[3] - o.bbox[1])
    return counts, heights, (time.process_time() - t0) / max(1, n)


def _hist(counts: list[dict[str, int]], cat: str) -> list[float]:
    h = np.zeros(len(BINS))
    for c in counts:
        h[min(c.get(cat, 0), BINS[-1])] += 1
    return list(100.0 * h / max(1, len(counts)))


def _mean(counts, cat=None) -> float:
    if cat is None:
        return float(np.mean([sum(c.values()) for c in counts]))
    return float(np.mean([c.get(cat, 0) for c in counts]))


def _pct(v, q) -> str:
    return "-" if not v else f"{np.percentile(v, q):.0f}"


def report(real_c, real_h, cols: list[tuple[str, list, dict]], n: int, note: str = "") -> str:
    lines = ["# Scene density and object sizes: real SketchyScene vs synthetic", "",
             "Written by `tools/density_histograms.py` (real data only read: SketchyScene-Matching train+val "
             f"expression files, {len(real_c)} images; the 3 real sample sketches for sizes). Synthetic: "
             f"{n} `train` scenes per column (`compose_scene`, seed 0). {note}", ""]
    names = ["real"] + [c[0] for c in cols]
    allc = [real_c] + [c[1] for c in cols]
    lines += ["## Instances per scene (means)", "",
              "| category | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for cat in (*COUNT_CATS, "house", "people", "bird", "road", "sun"):
        lines.append(f"| {cat} | " + " | ".join(f"{_mean(c, cat):.2f}" for c in allc) + " |")
    lines.append("| all objects | " + " | ".join(f"{_mean(c):.1f}" for c in allc) + " |")
    lines.append("| scenes with 5+ trees (%) | " + " | ".join(
        f"{100 * np.mean([x.get('tree', 0) >= 5 for x in c]):.1f}" for c in allc) + " |")
    lines.append("| scenes with 7+ grass (%) | " + " | ".join(
        f"{100 * np.mean([x.get('grass', 0) >= 7 for x in c]):.1f}" for c in allc) + " |")
    lines.append("")
    for cat in COUNT_CATS:
        lines += [f"## {cat}: count per scene, % of scenes", "",
                  "| count | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        hs = [_hist(c, cat) for c in allc]
        for i, b in enumerate(BINS):
            lab = f"{b}+" if b == BINS[-1] else str(b)
            lines.append(f"| {lab} | " + " | ".join(f"{h[i]:.1f}" for h in hs) + " |")
        lines.append("")
    lines += ["## Object height (ink bounding box, px on the 750 canvas): median [p10-p90] (n)", "",
              "Real: the 3 sample sketches only (few objects per category; indicative).", "",
              "| category | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    allh = [real_h] + [c[2] for c in cols]
    for cat in SIZE_CATS:
        cells = []
        for h in allh:
            v = h.get(cat, [])
            cells.append("-" if not v else f"{_pct(v, 50)} [{_pct(v, 10)}-{_pct(v, 90)}] ({len(v)})")
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(SHARED / "sketchyscene_matching"))
    ap.add_argument("--samples", default=str(SHARED / "sketchyscene_samples"))
    ap.add_argument("--n", type=int, default=200, help="synthetic scenes per column")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", default="legacy", help="realism spec of the comparison column ('' = none)")
    ap.add_argument("--library", default=None, help="component library folder (default: resources/components)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "density.md"))
    a = ap.parse_args(argv)
    real_c = real_counts(Path(a.data))
    real_h = real_heights(Path(a.samples))
    cols, times = [], []
    for label, spec in (("synthetic (realism on)", "all"), (f"synthetic ({a.baseline})", a.baseline)):
        if not spec:
            continue
        c, h, dt = synthetic(a.n, a.seed, Realism.parse(spec), a.library)
        print(f"{label}: {dt:.3f} CPU s/scene", file=sys.stderr)
        times.append(f"{label}: {dt:.3f} CPU s/scene")
        cols.append((label, c, h))
    note = f"Library: `{a.library or 'resources/components'}`. Compose time: " + "; ".join(times) + "."
    md = report(real_c, real_h, cols, a.n, note)
    print(md)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(md + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
