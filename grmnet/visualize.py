"""Overlays of predictions on a sketch: coloured ink, boxes and "sheep 1"-style labels (as in the paper)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from grmnet.imaging import ink_mask
from grmnet.results import ReferredInstance, ReferringResult

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (128, 128, 0), (0, 128, 128), (170, 110, 40), (128, 0, 0), (0, 0, 128)]


def draw_overlay(grey: np.ndarray, instances: list[ReferredInstance], title: str | None = None) -> Image.Image:
    """Grey sketch [H, W] + instances -> RGB image with each instance's ink coloured and labelled."""
    return draw_overlays(grey, [ReferringResult(title or "", list(instances))], titled=bool(title))


def draw_overlays(grey: np.ndarray, results: list[ReferringResult], titled: bool = True) -> Image.Image:
    """Every expression's instances on one image (colours run on across expressions); the expressions as a
    legend in their first instance's colour."""
    rgb = np.stack([np.where(ink_mask(grey), 150, 255).astype(np.uint8)] * 3, axis=-1)   # faded ink
    colored = [(r, inst, PALETTE[n % len(PALETTE)])
               for n, (r, inst) in enumerate((r, i) for r in results for i in r.instances)]
    for _, inst, color in colored:
        rgb[inst.ink] = color
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, grey.shape[1] // 50))
    for _, inst, color in colored:
        x0, y0, x1, y1 = inst.box
        draw.rectangle([x0, y0, x1, y1], outline=color, width=2)
        draw.text((x0 + 2, max(0, y0 - font.size - 2)), f"{inst.label} {inst.score:.2f}", fill=color, font=font)
    if titled:
        y = 4
        for r in results:
            first = next((c for rr, _, c in colored if rr is r), (0, 0, 0))
            text = r.expression + ("" if r.instances else ": nothing matches")
            draw.text((6, y), text, fill=first, font=font)
            y += font.size + 4
    return image
