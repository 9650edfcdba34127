"""`grmnet synth`: generate synthetic SketchyScene-style scenes with referring expressions.

    grmnet synth --out DIR --split train --n 1000 --seed 0 [--workers 4] [--start-key 1]

Writes the SketchyScene layout of :mod:`grmnet.data.sketchyscene` (drawing PNG, CLASS_GT, INSTANCE_GT,
our REGION_GT extension, ``colorMapC46.mat``, ``sentence_instance_<split>.json``).

Determinism: scene ``key`` of a split depends only on (split, seed, key), through
``np.random.SeedSequence([SPLIT_ID[split], seed, key])``; the split ids differ, so train, val and test
never share a scene, and sharded runs (``--start-key``) give the same scenes as one long run.
Entries of other keys already in the sentence file are kept (their sample files are too).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from grmnet.data.categories import class_id

SPLIT_ID = {"train": 1001, "val": 2002, "test": 3003}
CANVAS = 750


def scene_rngs(split: str, seed: int, key: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(scene rng, expression rng) of one sample; independent streams of one SeedSequence."""
    if split not in SPLIT_ID:
        raise ValueError(f"unknown split {split!r} (expected one of {sorted(SPLIT_ID)})")
    ss = np.random.SeedSequence([SPLIT_ID[split], int(seed), int(key)])
    a, b = ss.spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def make_sample(split: str, seed: int, key: int, library=None):
    """Compose scene ``key`` and its expressions.

    Returns (scene, instance_gt uint8, class_gt uint8, region_gt bool [N, H, W], expressions)."""
    from grmnet.data.expressions import generate_expressions
    from grmnet.data.scene import compose_scene

    rs, re_ = scene_rngs(split, seed, key)
    scene = compose_scene(rs, size=CANVAS, library=library)
    h, w = scene.drawing.shape[:2]
    inst = np.zeros((h, w), np.uint8)
    cls = np.zeros((h, w), np.uint8)
    region = np.zeros((len(scene.objects), h, w), bool)
    for i, o in enumerate(scene.objects):
        inst[o.ink] = i + 1
        cls[o.ink] = class_id(o.category)
        region[i] = o.region
    exprs = generate_expressions(scene.objects, re_, canvas_size=CANVAS, no_target_share=0.05)
    return scene, inst, cls, region, exprs


def _work(job: tuple[str, str, int, int]) -> tuple[int, dict[str, list[int]], int]:
    from grmnet.data.sketchyscene import write_sample

    root, split, seed, key = job
    scene, inst, cls, region, exprs = make_sample(split, seed, key)
    write_sample(root, split, key, scene.drawing, inst, cls, region)
    return key, {k: [int(i) for i in v] for k, v in exprs.items()}, len(scene.objects)


def check_synth_args(args) -> None:
    """One clear line (GRMNetError) for arguments that cannot work, before anything is written."""
    from grmnet.errors import GRMNetError

    if args.n < 0:
        raise GRMNetError(f"--n must be 0 or more, not {args.n}")
    if args.start_key < 1:
        raise GRMNetError("--start-key must be >= 1 (SketchyScene keys are 1-based)")
    if args.workers is not None and int(args.workers) < 1:
        raise GRMNetError(f"--workers must be 1 or more, not {args.workers}")
    if args.split not in SPLIT_ID:
        raise GRMNetError(f"unknown split {args.split!r} (expected one of {sorted(SPLIT_ID)})")
    root = Path(args.out)
    if root.exists() and not root.is_dir():
        raise GRMNetError(f"--out {args.out}: it is a file, not a folder")


def run_synth(args) -> int:
    from tqdm import tqdm

    from grmnet.data.sketchyscene import sentences_path, write_colormap, write_sentences

    check_synth_args(args)
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    write_colormap(root)
    keys = list(range(args.start_key, args.start_key + args.n))
    jobs = [(str(root), args.split, int(args.seed), k) for k in keys]
    t0 = time.time()
    results: dict[int, dict[str, list[int]]] = {}
    n_obj = 0
    workers = max(1, int(args.workers or 1))
    bar = tqdm(total=len(jobs), desc=f"synth {args.split}", unit="scene", file=sys.stderr,
               disable=not sys.stderr.isatty() and len(jobs) < 50)
    if workers == 1 or len(jobs) <= 1:
        for j in jobs:
            k, e, n = _work(j)
            results[k] = e
            n_obj += n
            bar.update()
    else:
        import multiprocessing as mp
        with mp.get_context("spawn" if sys.platform == "darwin" else None).Pool(workers) as pool:
            for k, e, n in pool.imap_unordered(_work, jobs, chunksize=max(1, min(16, len(jobs) // (4 * workers)))):
                results[k] = e
                n_obj += n
                bar.update()
    bar.close()
    entries: dict[int, dict[str, list[int]]] = {}
    sp = sentences_path(root, args.split)
    if sp.exists():
        try:  # keep the entries of other keys (other shards; their sample files are still there)
            for e in json.loads(sp.read_text()):
                entries[int(e["key"])] = e["sen_instIdx_map"]
        except (ValueError, KeyError, TypeError):
            entries = {}
    entries.update(results)
    write_sentences(root, args.split, [{"key": k, "sen_instIdx_map": entries[k]} for k in sorted(entries)])
    dt = time.time() - t0
    n = len(results)
    print(json.dumps({"images": n, "objects": n_obj, "expressions": sum(len(v) for v in results.values()),
                      "seconds": round(dt, 3), "images_per_s": round(n / dt, 3) if dt > 0 else None}))
    return 0

