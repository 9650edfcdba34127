"""Write example sketches for the app (resources/examples/) with the data engine, on seeds used by no split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from grmnet.data.scene import compose_scene

OUT = Path(__file__).resolve().parents[1] / "resources" / "examples"
SEEDS = (2026_11_01, 2026_11_02, 2026_11_03)

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for n, seed in enumerate(SEEDS, 1):
        scene = compose_scene(np.random.default_rng(seed))
        Image.fromarray(scene.drawing).convert("L").save(OUT / f"scene_{n}.png", optimize=True)
        print(OUT / f"scene_{n}.png", [o.category for o in scene.objects])
