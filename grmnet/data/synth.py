"""`grmnet synth`: generate synthetic SketchyScene-style scenes with referring expressions.

    grmnet synth --out DIR --split train --n 1000 --seed 0 [--workers 4] [--start-key 1]

Writes the SketchyScene layout of :mod:`grmnet.data.sketchyscene` (drawing PNG, CLASS_GT, INSTANCE_GT,
our REGION_GT extension, ``colorMapC46.mat``, ``sentence_instance_<split>.json``).

Determinism: scene ``key`` of a split depends only on (split, seed, key), through
``np.random.SeedSequence([SPLIT_ID[split], seed, key])``; the split ids differ, so train, val and test
never share a scene, and sharded runs (``--start-key``) give the same scenes as one long run.
Entries of other keys already in the sentence file are kept (their sample files are too).

Splits: ``train``, ``val``, ``test`` never use the icon sets the component manifest names in
``"style_held_out_sets"``; ``style_test`` composes scenes ONLY from those sets (categories they lack fall
back to a procedural drawing where :data:`grmnet.data.render.PROCEDURAL` has one, else are left out),
with seeds of its own. Without that manifest key every split but ``style_test`` uses the whole library
and ``style_test`` fails with a clear message.

Realism (:class:`grmnet.data.realism.Realism`): the hand-drawn effects, all on by default;
``make_sample(..., realism=Realism.parse("no-gaps"))`` or ``grmnet synth --realism no-gaps,no-wobble``
turns single switches off for an ablation.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from grmnet.data.categories import class_id
from grmnet.data.realism import SWITCHES, Realism

SPLIT_ID = {"train": 1001, "val": 2002, "test": 3003, "style_test": 4004}
STYLE_TEST = "style_test"
CANVAS = 750


def split_library(split: str, library=None):
    """The component library a split draws from: without the style-held-out icon sets, or (``style_test``)
    only them. Raises :class:`grmnet.data.scene.HeldOutSetsMissing` for ``style_test`` when the manifest
    names no held-out sets."""
    from grmnet.data.scene import default_library

    lib = library if library is not None else default_library()
    return lib.view("held_out" if split == STYLE_TEST else "seen")


def realism_arg(text: str) -> Realism:
    """argparse type of ``--realism`` (e.g. ``all``, ``legacy``, ``none``, ``no-gaps,no-wobble``)."""
    import argparse

    try:
        return Realism.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_synth_arguments(p) -> None:
    """The data-engine options of ``grmnet synth``: ``--split`` choices (with ``style_test``) and ``--realism``.
    The CLI calls this after its own arguments, so the choices live next to the engine."""
    choices = sorted(SPLIT_ID, key=SPLIT_ID.get)
    split = [a for a in p._actions if "--split" in a.option_strings]
    if split:
        split[0].choices = choices
    else:
        p.add_argument("--split", required=True, choices=choices)
    if not any("--realism" in a.option_strings for a in p._actions):
        p.add_argument("--realism", type=realism_arg, default=Realism(),
                       help="hand-drawn effects: 'all' (default), 'none', 'legacy', or switches to turn off, "
                            f"e.g. 'no-gaps,no-wobble' (switches: {', '.join(SWITCHES)})")


def scene_rngs(split: str, seed: int, key: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(scene rng, expression rng) of one sample; independent streams of one SeedSequence."""
    if split not in SPLIT_ID:
        raise ValueError(f"unknown split {split!r} (expected one of {sorted(SPLIT_ID)})")
    ss = np.random.SeedSequence([SPLIT_ID[split], int(seed), int(key)])
    a, b = ss.spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def compose_sample(split: str, seed: int, key: int, library=None, realism: Realism | str | None = None,
                   free_share: float = 0.0):
    """Scene ``key`` of ``split`` and its expressions, without the label maps: (scene, expressions).
    :func:`make_sample` is this plus the instance / class / region arrays (the training loader needs only
    a few of the regions, and takes them from ``scene.objects``).

    ``free_share`` in [0, 1]: about this share of the expressions is free phrasing (:func:`mix_free_phrasing`);
    0 (default) = the template grammar only, exactly the expressions `grmnet synth` writes."""
    from grmnet.data.expressions import generate_expressions
    from grmnet.data.scene import compose_scene

    rs, re_ = scene_rngs(split, seed, key)
    lib = split_library(split, library)
    scene = compose_scene(rs, size=CANVAS, library=lib, realism=Realism.parse(realism),
                          drawable_only=split == STYLE_TEST)
    exprs = generate_expressions(scene.objects, re_, canvas_size=CANVAS, no_target_share=0.05)
    if free_share > 0:
        exprs = mix_free_phrasing(scene.objects, exprs, re_, free_share)
    return scene, exprs


def mix_free_phrasing(objects, template: dict[str, list[int]], rng: np.random.Generator, free_share: float
                      ) -> dict[str, list[int]]:
    """The template expressions of a scene plus free-phrased ones (the generator's free family, its
    held-out kinds of variation left out so that they stay unseen: ``DEFAULT_HELD_OUT_TYPES``), as many as
    make a uniform pick land on a free one with probability ``free_share`` (1 = free phrasing only).

    {expression: targets} -> {expression: targets}; the template entries are kept as they are."""
    from grmnet.data.expressions import DEFAULT_HELD_OUT_TYPES, generate_free_expressions

    if not 0.0 <= free_share <= 1.0:
        raise ValueError(f"free_share must lie in [0, 1], not {free_share}")
    free = [(t, v) for t, v in generate_free_expressions(objects, rng, CANVAS, 0.05, DEFAULT_HELD_OUT_TYPES).items()
            if t not in template]
    if free_share >= 1.0:
        return dict(free) if free else dict(template)
    n = min(len(free), int(round(len(template) * free_share / (1.0 - free_share))))
    picked = sorted(rng.choice(len(free), size=n, replace=False)) if n else []
    out = dict(template)
    out.update(free[int(i)] for i in picked)
    return out


def make_sample(split: str, seed: int, key: int, library=None, realism: Realism | str | None = None):
    """Compose scene ``key`` and its expressions.

    ``library``: the whole component library (default: the repository's); the split picks its part
    (:func:`split_library`). ``realism``: a :class:`Realism`, a spec string, or None (all on).

    Returns (scene, instance_gt uint8, class_gt uint8, region_gt bool [N, H, W], expressions)."""
    scene, exprs = compose_sample(split, seed, key, library, realism)
    h, w = scene.drawing.shape[:2]
    inst = np.zeros((h, w), np.uint8)
    cls = np.zeros((h, w), np.uint8)
    region = np.zeros((len(scene.objects), h, w), bool)
    for i, o in enumerate(scene.objects):
        x0, y0, x1, y1 = o.bbox   # the visible ink lies inside its bbox: label only there
        ink = o.ink[y0:y1, x0:x1]
        inst[y0:y1, x0:x1][ink] = i + 1
        cls[y0:y1, x0:x1][ink] = class_id(o.category)
        region[i] = o.region
    return scene, inst, cls, region, exprs


def _work(job: tuple) -> tuple[int, dict[str, list[int]], int]:
    from grmnet.data.sketchyscene import write_sample

    root, split, seed, key, realism = job
    scene, inst, cls, region, exprs = make_sample(split, seed, key, realism=realism)
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
    try:
        Realism.parse(getattr(args, "realism", None))
    except ValueError as e:
        raise GRMNetError(f"--realism: {e}") from None
    if args.split == STYLE_TEST:
        from grmnet.data.scene import HeldOutSetsMissing
        try:
            split_library(STYLE_TEST)
        except HeldOutSetsMissing as e:
            raise GRMNetError(str(e)) from None
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
    realism = Realism.parse(getattr(args, "realism", None))
    jobs = [(str(root), args.split, int(args.seed), k, realism) for k in keys]
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
    print(json.dumps({"images": n, "objects": n_obj, "realism": realism.spec(), "expressions": sum(len(v) for v in results.values()),
                      "seconds": round(dt, 3), "images_per_s": round(n / dt, 3) if dt > 0 else None}))
    return 0

