"""Label-preserving augmentation of scene sketches: stroke width, blur/threshold, speckle.

Geometry is left alone on purpose: positions ("on the left", "in the middle") are part of the labels.
"""
from __future__ import annotations

import cv2
import numpy as np


def augment_strokes(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """grey uint8 [H, W] (ink dark) -> grey uint8 [H, W] with re-drawn-looking strokes."""
    out = grey
    r = rng.random()
    if r < 0.25:    # thicker pen
        k = int(rng.integers(2, 4))
        out = cv2.erode(out, np.ones((k, k), np.uint8))
    elif r < 0.4:   # thinner pen (ink is dark: dilating the paper thins strokes)
        out = cv2.dilate(out, np.ones((2, 2), np.uint8))
    if rng.random() < 0.3:   # scanned / anti-aliased look
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.4, 1.2)))
        if rng.random() < 0.5:
            out = np.where(out < rng.integers(100, 200), 0, 255).astype(np.uint8)
    if rng.random() < 0.2:   # grey pencil instead of black ink
        out = np.maximum(out, np.uint8(rng.integers(20, 90)))
    if rng.random() < 0.1:   # paper speckle
        noise = rng.random(out.shape) < 0.0005
        out = np.where(noise, 0, out).astype(np.uint8)
    return out
