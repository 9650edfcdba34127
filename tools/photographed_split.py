"""A photographed-paper copy of a SketchyScene-layout split: what a phone photo or a scan of a paper sketch
looks like to the app (tinted grey paper, light falling off across the page, pencil-grey to pen-dark lines,
sensor noise, sometimes a little blur, JPEG compression), with the split's ground truth and expressions
unchanged. It measures how the product copes with sketches drawn on paper (grmnet.imaging.even_out_paper):

    python tools/photographed_split.py data/synth data/synth_photo test
    grmnet evaluate --data data/synth_photo --split test --json runs/photo_test.json

Only the drawings change; the seed is fixed, so the copy is the same on every machine.
"""
from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def photograph(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """grey uint8 [H, W] (dark ink on white) -> RGB uint8 [H, W, 3] as photographed on paper."""
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    darkest_light = rng.uniform(0.55, 0.9)                   # light falls off away from one spot
    light = darkest_light + (1 - darkest_light) * (1 - np.hypot(xx - cx, yy - cy) / np.hypot(w, h))
    paper, ink = rng.uniform(0.8, 0.97), rng.uniform(0.2, 0.55)   # grey paper; pencil-grey to pen-dark lines
    value = 255 * (paper - (paper - ink) * (1 - grey / 255.0)) * light
    value += rng.normal(0, rng.uniform(2, 6), grey.shape)
    photo = np.clip(value, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        photo = cv2.GaussianBlur(photo, (3, 3), 0)
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.0)])    # warm paper / light
    rgb = np.clip(photo[..., None] * tint, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(rng.integers(70, 92)))
    return np.asarray(Image.open(buf).convert("RGB"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="SketchyScene-layout root (e.g. data/synth)")
    parser.add_argument("out", help="root of the photographed copy (replaced)")
    parser.add_argument("split", help="split to copy (test, val)")
    parser.add_argument("--seed", type=int, default=123)
    args = parser.parse_args(argv)
    src, dst = Path(args.source), Path(args.out)
    if (dst / args.split).exists():
        shutil.rmtree(dst / args.split)
    shutil.copytree(src / args.split, dst / args.split)
    for f in [*src.glob("sentence_instance_*.json"), *src.glob("*.mat")]:
        shutil.copy(f, dst / f.name)
    rng = np.random.default_rng(args.seed)
    drawings = sorted((dst / args.split / "DRAWING_GT").glob("*.png"))
    for png in drawings:     # PNG names kept: the reader finds drawings by name
        Image.fromarray(photograph(np.asarray(Image.open(png).convert("L")), rng)).save(png)
    print(f"{len(drawings)} drawings photographed into {dst / args.split}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
