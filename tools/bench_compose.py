"""CPU cost of the synthetic data engine: milliseconds per composed scene, as a training loader worker sees it.

    python tools/bench_compose.py [--n 30] [--start-key 90000001] [--seed 1] [--repeat 3]
                                  [--components DIR] [--config tools/cpu_continue_config.json] [--json OUT]

Two numbers per key, median (and mean) over the keys, best of ``--repeat`` passes per key:

* ``compose``: ``make_sample("train", seed, key)`` (scene, label maps, expressions);
* ``item``: ``PairBatches.__getitem__`` over ``SynthesizedScenes`` (what one loader worker does per image:
  composition, grey, augmentation, model input, the picked expressions' targets).

Times are CPU seconds of this process (``time.process_time``), with one OpenCV and one torch thread like a
loader worker, so a busy machine disturbs them less than wall time; the first pass over the keys is not
timed (it decodes the component rasters, which a long-running worker holds in memory). ``--components``
points at another component library (e.g. a frozen copy, to compare two versions of the code on the same
rasters).
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30, help="keys")
    ap.add_argument("--start-key", type=int, default=90000001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per key (the best one counts)")
    ap.add_argument("--components", default=None, help="component library folder (default: the repository's)")
    ap.add_argument("--config", default="tools/cpu_continue_config.json", help="training config of the item path")
    ap.add_argument("--only", choices=("compose", "item"), default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)

    import grmnet.data.scene as scene_mod
    from grmnet.config import GRMNetConfig
    from grmnet.data.synth import make_sample
    from grmnet.training import PairBatches, SynthesizedScenes

    if a.components:
        scene_mod._DEFAULT = scene_mod.ComponentLibrary(a.components)
    lib = scene_mod.default_library()
    cfg = GRMNetConfig.load(a.config)
    items = PairBatches(SynthesizedScenes(a.seed, a.start_key), None, cfg, cfg.training.seed)
    keys = list(range(a.start_key, a.start_key + a.n))
    jobs = {"compose": lambda k: make_sample("train", a.seed, k, library=lib),
            "item": lambda k: items[k - a.start_key]}
    row = {"n": a.n, "start_key": a.start_key, "seed": a.seed, "repeat": a.repeat}
    for name, job in jobs.items():
        if a.only and name != a.only:
            continue
        for k in keys:          # warm-up: imports, raster decoding
            job(k)
        best = []
        for k in keys:
            ts = []
            for _ in range(max(1, a.repeat)):
                t = time.process_time()
                job(k)
                ts.append(time.process_time() - t)
            best.append(min(ts))
        row[f"{name}_ms_median"] = round(1000 * float(np.median(best)), 1)
        row[f"{name}_ms_mean"] = round(1000 * float(np.mean(best)), 1)
    print(json.dumps(row), flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(row, fh, indent=1)


if __name__ == "__main__":
    main()
