"""Overlays of predictions on a sketch: coloured ink, boxes and "sheep 1"-style labels (as in the paper)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from grmnet.masks import decode_rle

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (128, 128, 0), (0, 128, 128), (170, 110, 40), (128, 0, 0), (0, 0, 128)]


def draw_overlay(grey: np.ndarray, instances: list[dict], title: str | None = None) -> Image.Image:
    """Grey sketch [H, W] + instances (JSON format) -> RGB image with each instance's ink coloured and labelled."""
    rgb = np.stack([np.where(grey < 128, 150, 255).astype(np.uint8)] * 3, axis=-1)   # faded ink
    for i, inst in enumerate(instances):
        rgb[decode_rle(inst["ink_mask_rle"])] = PALETTE[i % len(PALETTE)]
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, grey.shape[1] // 50))
    for i, inst in enumerate(instances):
        x, y, w, h = inst["bbox"]
        color = PALETTE[i % len(PALETTE)]
        draw.rectangle([x, y, x + w, y + h], outline=color, width=2)
        draw.text((x + 2, max(0, y - font.size - 2)), f"{inst['label']} {inst['score']:.2f}", fill=color, font=font)
    if title:
        draw.text((6, 4), title, fill=(0, 0, 0), font=font)
    return image
