#!/usr/bin/env python3
"""Contact sheets of the synthetic data engine (for looking at, not for training).

    python tools/contact_sheet.py                 # docs/synthetic_scenes.png and docs/components.png
    python tools/contact_sheet.py --scenes 12 --seed 3 --only scenes

``synthetic_scenes.png``: a grid of generated scenes (compose_scene), small.
``components.png``: every library component rendered as line art (grmnet.data.render), grouped by
category, with procedural grass / road / bench samples at the end.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grmnet.data import render  # noqa: E402
from grmnet.data.categories import CATEGORIES  # noqa: E402
from grmnet.data.scene import ComponentLibrary, compose_scene  # noqa: E402


def scenes_sheet(out: Path, n: int, seed: int, cols: int = 4, tile: int = 300) -> None:
    lib = ComponentLibrary()
    tiles = []
    for k in range(n):
        sc = compose_scene(np.random.default_rng([seed, k]), library=lib)
        t = cv2.resize(sc.drawing, (tile, tile), interpolation=cv2.INTER_AREA)
        cv2.rectangle(t, (0, 0), (tile - 1, tile - 1), (180, 180, 180), 1)
        tiles.append(t)
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    cv2.imwrite(str(out), np.concatenate(rows, 0), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def components_sheet(out: Path, cell: int = 72, cols: int = 24, seed: int = 0) -> None:
    lib = ComponentLibrary()
    rng = np.random.default_rng(seed)
    cells: list[tuple[np.ndarray, str]] = []
    for cat in CATEGORIES:
        for e in lib.entries.get(cat, []):
            d = render.render_component(lib.raster(e), e["style"], cell - 12, rng, stroke=2, flip=False,
                                        max_width=cell - 8, detail=0.6)
            cells.append((d.ink, f"{cat[:5]}"))
    for _ in range(4):
        cells.append((render.grass_tuft(cell - 16, rng, 2).ink, "grass"))
        cells.append((render.bench(cell * 0.45, rng, 2).ink, "bench"))
    d, _, _ = render.road(cell * 3, cell * 0.9, rng, 2)
    cells.append((cv2.resize(d.ink.astype(np.uint8), (cell - 8, cell - 8), interpolation=cv2.INTER_NEAREST) > 0, "road"))
    rows = (len(cells) + cols - 1) // cols
    sheet = np.full((rows * (cell + 10), cols * cell), 255, np.uint8)
    for i, (ink, label) in enumerate(cells):
        r, c = divmod(i, cols)
        h, w = ink.shape
        f = min(1.0, (cell - 4) / max(h, w))
        if f < 1:
            ink = cv2.resize(ink.astype(np.uint8), (max(1, int(w * f)), max(1, int(h * f))),
                             interpolation=cv2.INTER_AREA) > 0
            h, w = ink.shape
        y, x = r * (cell + 10), c * cell
        sheet[y + 2:y + 2 + h, x + 2:x + 2 + w][ink] = 0
        cv2.putText(sheet, label, (x + 2, y + cell + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.3, 120, 1)
    cv2.imwrite(str(out), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=REPO / "docs")
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["scenes", "components"], default=None)
    args = ap.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "scenes"):
        scenes_sheet(args.out_dir / "synthetic_scenes.png", args.scenes, args.seed)
    if args.only in (None, "components"):
        components_sheet(args.out_dir / "components.png", seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
