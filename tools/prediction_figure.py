"""Figures of predictions (labelled instance overlays): synthetic sketches -> docs/predictions.png (committed),
real SketchyScene samples -> runs/predictions_real.png (NOT committed: those drawings are non-commercial data
and never enter the repository; look at it locally).

usage: python tools/prediction_figure.py [--weights W]
Synthetic scenes are made by the data engine on seeds of no split.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from grmnet.data.expressions import generate_expressions
from grmnet.data.scene import compose_scene
from grmnet.data.sketchyscene import read_sentences
from grmnet.imaging import to_grey
from grmnet.prediction import Predictor
from grmnet.visualize import draw_overlay

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "sketchyscene_samples"


def real_panels(predictor: Predictor) -> list[Image.Image]:
    out = []
    if REAL.is_dir():
        sentences = read_sentences(REAL / "sentence_instance_test.json")
        for key in sorted(sentences)[:3]:
            grey = to_grey(REAL / "test" / "DRAWING_GT" / f"L0_sample{key}.png")
            for expression in list(sentences[key])[:2]:
                res = predictor.predict(grey, [expression]).results[0]
                out.append(draw_overlay(grey, res.instances, title=f"real {key}: {expression}"))
    return out


def synthetic_panels(predictor: Predictor) -> list[Image.Image]:
    out = []
    for seed in (7001, 7002, 7003, 7004):
        rng = np.random.default_rng(seed)
        scene = compose_scene(rng)
        grey = to_grey(scene.drawing)
        expressions = [e for e, t in generate_expressions(scene.objects, rng).items() if t]
        for expression in rng.choice(expressions, size=min(2, len(expressions)), replace=False):
            res = predictor.predict(grey, [str(expression)]).results[0]
            out.append(draw_overlay(grey, res.instances, title=f"synthetic: {expression}"))
    return out


def grid(images: list[Image.Image], cols: int = 4, cell: int = 360) -> Image.Image:
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell, rows * cell), "white")
    for i, im in enumerate(images):
        im = im.copy()
        im.thumbnail((cell - 4, cell - 4))
        sheet.paste(im, ((i % cols) * cell + 2, (i // cols) * cell + 2))
    return sheet


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=str(ROOT / "docs" / "predictions.png"))
    ap.add_argument("--real-out", default=str(ROOT / "runs" / "predictions_real.png"))
    a = ap.parse_args()
    predictor = Predictor(a.weights)
    grid(synthetic_panels(predictor)).save(a.out, optimize=True)
    real = real_panels(predictor)
    if real:
        Path(a.real_out).parent.mkdir(parents=True, exist_ok=True)
        grid(real).save(a.real_out, optimize=True)
    print(a.out, a.real_out if real else "")
