"""Clean layers against ink-level ground truth, before and after the ink partition (grmnet.partition).

    python tools/measure_layers.py [--synthetic data/synth] [--real ../shared/data/sketchyscene_samples]
                                   [--images 40] [--pairs-per-image 12] [--json docs/results/layers.json]
    python tools/measure_layers.py --bench [--image resources/examples/scene_1.png] [--repeats 12]

For each sketch, two kinds of layers are scored against the ground-truth objects' ink (SketchyScene INSTANCE_GT):

- whole-sketch split: every object found without an expression (`detect_all`). "before": each object's region
  ∩ ink (the mask grown by the engine's ink margin, as referring results are made today); "after": the ink
  the partition gives it.
- referring: the instances the engine returns for the dataset's expressions. "before": their region ∩ ink as
  returned; "after": mapped onto the sketch's partition (`assign_to_partition`).

Layers are matched one-to-one to ground-truth objects at ink IoU >= 0.5 (greedy by IoU). On matched layers:
purity (share of the layer's ink that is its object's), completeness (share of the object's ink the layer
holds) and move leftover (share of the object's ink still at its old place after its layer is moved: the ink
the layer did not take; "with edges": the same over the object's ink and anti-aliased fringe, lifted as the app
lifts a layer, grmnet.imaging.liftable_inks; "before" lifted ink only). Overlap: ink pixels held by two or more layers of one split / one result, and, over
all results on a sketch, objects lifted as different layers by different queries (consistency). Exact
selection (referring): the returned layers match the targets one-to-one and nothing else is returned.
The real samples are read in place and only scored (never tuned on); the synthetic split is the test split
of docs/RESULTS.md (`grmnet synth --out data/synth --split test --n 200 --seed 3`).

--causes breaks impurity and leftover of the "after" layers down by cause (`causes`, in points of the mean:
the deficit of purity or completeness each cause accounts for, summed over matched layers / matched layers):
impurity is ink of a detected neighbour (a boundary between two objects the partition found), of an object
one detection covers together with its own (merged), of an undetected object, or of another partition object
the referring result took; leftover is ink owned by another matched object, by an unmatched (spurious or
partial) detection, or by nobody.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grmnet.errors import ExpressionError  # noqa: E402
from grmnet.data.sketchyscene import read_sample, read_sentences, sentences_path  # noqa: E402
from grmnet.imaging import ink_mask, liftable_inks, soft_ink_mask, spread_to_fringe, to_grey  # noqa: E402
from grmnet.partition import PartitionConfig, SketchPartitioner, pixel_claims  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "sketchyscene_samples"
MATCH_IOU = 0.5


# ---- scoring ------------------------------------------------------------------------------------------------

def match(layers: np.ndarray, objects: np.ndarray) -> list[tuple[int, int, float]]:
    """One-to-one matches (layer, object, shared pixels) at ink IoU >= 0.5, greedy by IoU.

    layers bool [L, N], objects bool [G, N] over the sketch's N ink pixels."""
    if len(layers) == 0 or len(objects) == 0:
        return []
    inter = layers.astype(np.float32) @ objects.astype(np.float32).T
    iou = inter / np.maximum(layers.sum(1)[:, None] + objects.sum(1)[None, :] - inter, 1)
    pairs, used_l, used_g = [], set(), set()
    for flat in np.argsort(-iou, axis=None):
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < MATCH_IOU:
            break
        if i not in used_l and j not in used_g:
            used_l.add(i)
            used_g.add(j)
            pairs.append((i, j, float(inter[i, j])))
    return pairs


class Tally:
    """Running sums of one kind of layers (split or referring, before or after)."""

    def __init__(self):
        self.purity, self.completeness, self.leftover, self.leftover_edges = [], [], [], []
        self.causes: dict[str, float] = {}
        self.object_ink = self.left_behind = 0
        self.layers = self.objects = self.matched = 0
        self.ink = self.overlap_pixels = 0
        self.results = self.results_with_overlap = 0
        self.exact = self.scored_results = 0
        self.lifted_objects = self.inconsistent_objects = 0

    def add(self, layers: np.ndarray, objects: np.ndarray, targets: list[int] | None = None,
            edges: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple]:
        """layers bool [L, N]; objects bool [G, N] (all of the sketch's objects, or a result's targets);
        edges: (what each layer lifts bool [L, M], each object's ink and fringe bool [G, M]) over the M non-paper
        pixels (move leftover with edges)."""
        pairs = match(layers, objects)
        if edges is not None:
            lifted, soft = edges
            for i, j, _ in pairs:
                self.leftover_edges.append(1.0 - (lifted[i] & soft[j]).sum() / max(soft[j].sum(), 1))
        self.layers += len(layers)
        self.objects += len(objects)
        self.matched += len(pairs)
        for i, j, shared in pairs:
            self.purity.append(shared / layers[i].sum())
            self.completeness.append(shared / objects[j].sum())
            self.leftover.append(1.0 - shared / objects[j].sum())
            self.object_ink += int(objects[j].sum())
            self.left_behind += int(objects[j].sum() - shared)
        overlap = int((layers.sum(0) > 1).sum()) if len(layers) else 0
        self.ink += layers.shape[1]
        self.overlap_pixels += overlap
        self.results += 1
        self.results_with_overlap += int(overlap > 0)
        if targets is not None:
            self.scored_results += 1
            self.exact += int(len(pairs) == len(layers) == len(objects))
        return pairs

    def summary(self) -> dict:
        mean = lambda v: round(float(np.mean(v)), 4) if v else None  # noqa: E731
        out = {"layers": self.layers, "objects": self.objects, "matched": self.matched,
               "recall": round(self.matched / max(self.objects, 1), 4),
               "purity": mean(self.purity), "completeness": mean(self.completeness),
               "purity_at_least_0.97": mean([p >= 0.97 for p in self.purity]),
               "completeness_at_least_0.95": mean([c >= 0.95 for c in self.completeness]),
               "move_leftover": mean(self.leftover),
               "move_leftover_pixels": round(self.left_behind / max(self.object_ink, 1), 4),
               "moves_leaving_at_most_2pct": mean([v <= 0.02 for v in self.leftover]),
               "move_leftover_with_edges": mean(self.leftover_edges),
               "overlap_pixels": self.overlap_pixels,
               "overlap_share_of_ink": round(self.overlap_pixels / max(self.ink, 1), 5),
               "results_with_overlap": self.results_with_overlap}
        if self.scored_results:
            out["exact_selection"] = round(self.exact / self.scored_results, 4)
        if self.causes:
            out["causes"] = {k: round(v / max(self.matched, 1), 4) for k, v in sorted(self.causes.items(),
                                                                                       key=lambda kv: -kv[1])}
        if self.lifted_objects:
            out["objects_lifted_by_several_queries"] = self.lifted_objects
            out["same_layer_across_queries"] = round(1 - self.inconsistent_objects / self.lifted_objects, 4)
        return out


def explain(tally: Tally, pairs, layers: np.ndarray, objects: np.ndarray, ids: list[int], sketch: dict) -> None:
    """Add the causes of the matched layers' impurity and leftover to the tally (see --causes).

    layers bool [L, N], objects bool [G', N] (the ground-truth objects `ids` of the sketch); sketch: gt_owner int [N]
    (the ground-truth object of each ink pixel, -1 none), owner int [N] (the partition's object, -1 none),
    object_of_gt {gt: partition object matched to it in the whole-sketch split}, all_gt bool [G, N]."""
    gt_owner, owner, object_of_gt, all_gt = (sketch[k] for k in ("gt_owner", "owner", "object_of_gt", "all_gt"))
    gt_of_object = {o: g for g, o in object_of_gt.items()}

    def add(cause: str, value: float) -> None:
        tally.causes[cause] = tally.causes.get(cause, 0.0) + value

    for i, j, _ in pairs:
        g_self = ids[j]
        layer = layers[i]
        foreign = layer & (gt_owner != g_self)
        n = max(int(layer.sum()), 1)
        if foreign.any():
            keys, counts = np.unique(np.stack([gt_owner[foreign], owner[foreign]]), axis=1, return_counts=True)
            for (g, o), c in zip(keys.T, counts):
                if g < 0:
                    cause = "impurity: ink of no object"
                elif g in object_of_gt:
                    mine = o >= 0 and (o == object_of_gt.get(g_self, -2) or gt_of_object.get(o) == g_self)
                    cause = ("impurity: boundary with a detected neighbour" if mine else
                             "impurity: another partition object taken" if o >= 0 else
                             "impurity: unclaimed ink of a detected neighbour")
                else:
                    held = owner[all_gt[g]]
                    cause = ("impurity: merged (one detection covers this object and an undetected one)"
                             if o >= 0 and (held == o).mean() >= 0.5 else "impurity: ink of an undetected object")
                add(cause, c / n)
        missing = objects[j] & ~layer
        if missing.any():
            m = max(int(objects[j].sum()), 1)
            o = owner[missing]
            add("leftover: unclaimed", float((o < 0).sum()) / m)
            matched = np.isin(o, list(gt_of_object))
            add("leftover: owned by another matched object", float(((o >= 0) & matched).sum()) / m)
            add("leftover: owned by an unmatched detection", float(((o >= 0) & ~matched).sum()) / m)


def consistency(tally: Tally, lifted: dict[int, list[bytes]]) -> None:
    """Objects matched by several queries of one sketch: were they lifted as the same ink every time?"""
    for inks in lifted.values():
        if len(inks) > 1:
            tally.lifted_objects += 1
            tally.inconsistent_objects += int(len(set(inks)) > 1)


# ---- one dataset --------------------------------------------------------------------------------------------

def measure(engine, partitioner: SketchPartitioner, root: Path, split: str, images: int | None,
            pairs_per_image: int | None, causes: bool = False) -> dict:
    expressions = read_sentences(sentences_path(root, split))
    keys = sorted(expressions)[:images] if images else sorted(expressions)
    tallies = {kind: Tally() for kind in ("split_before", "split_after", "refer_before", "refer_after")}
    n_pairs = 0
    for key in keys:
        sample = read_sample(root, split, key)
        grey = to_grey(sample.drawing)
        ink = ink_mask(grey)
        ys, xs = np.nonzero(ink)
        objects = sample.ink_masks[:, ys, xs]
        # the non-paper pixels (ink and anti-aliased fringe) and each object's share of them
        soft = soft_ink_mask(grey)
        sy, sx = np.nonzero(soft)
        gt_full = np.full(grey.shape, -1, np.int32)
        for g in range(len(objects)):
            gt_full[sample.ink_masks[g] & ink & (gt_full < 0)] = g
        gt_soft = spread_to_fringe(gt_full, ink, soft)[sy, sx]
        objects_soft = np.stack([gt_soft == g for g in range(len(objects))]) if len(objects) else \
            np.zeros((0, len(sy)), bool)
        column = np.full(grey.shape, -1, np.int64)
        column[sy, sx] = np.arange(len(sy))
        ink_column = column[ys, xs]

        def ink_only(layers: np.ndarray) -> np.ndarray:
            """layers over ink pixels [L, N] -> the same over non-paper pixels [L, M] (nothing of the fringe)."""
            out = np.zeros((len(layers), len(sy)), bool)
            out[:, ink_column] = layers
            return out

        def with_fringe(masks: list) -> np.ndarray:
            """full-size inks -> what the app lifts for them, over non-paper pixels [L, M]."""
            return np.stack([m[sy, sx] for m in liftable_inks(grey, masks)]) if masks else \
                np.zeros((0, len(sy)), bool)

        sketch = engine.encode(grey)
        part = partitioner.partition(sketch)
        after = np.stack([part.owner[ys, xs] == i for i in range(len(part))]) if len(part) else \
            np.zeros((0, len(ys)), bool)
        before = pixel_claims((ys, xs), part.objects, grey.shape, engine.ink_margin(*grey.shape)) \
            >= partitioner.partition_cfg.mask_threshold
        tallies["split_before"].add(before, objects, edges=(ink_only(before), objects_soft))
        pairs = tallies["split_after"].add(after, objects, edges=(
            with_fringe([part.owner == i for i in range(len(part))]), objects_soft))
        known = {"gt_owner": np.where(objects.any(0), objects.argmax(0), -1), "owner": part.owner[ys, xs],
                 "object_of_gt": {j: i for i, j, _ in pairs}, "all_gt": objects}
        if causes:
            explain(tallies["split_after"], pairs, after, objects, list(range(len(objects))), known)
        lifted = {"refer_before": {}, "refer_after": {}}
        items = list(expressions[key].items())[:pairs_per_image] if pairs_per_image else list(expressions[key].items())
        for expression, targets in items:
            try:
                result = engine.refer(sketch, expression)
            except ExpressionError:
                continue                                     # no word of it is known to this model
            owned = partitioner.assign(sketch, result.instances)
            for kind, instances in (("refer_before", result.instances), ("refer_after", owned)):
                layers = np.stack([i.ink[ys, xs] for i in instances]) if instances else np.zeros((0, len(ys)), bool)
                edges = ink_only(layers) if kind == "refer_before" else with_fringe([i.ink for i in instances])
                pairs = tallies[kind].add(layers, objects[targets], targets, edges=(edges, objects_soft[targets]))
                if causes and kind == "refer_after":
                    explain(tallies[kind], pairs, layers, objects[targets], list(targets), known)
                for i, j, _ in pairs:
                    lifted[kind].setdefault(targets[j], []).append(np.packbits(layers[i]).tobytes())
            n_pairs += 1
        for kind, seen in lifted.items():
            consistency(tallies[kind], seen)
        print(f"{root.name} {key}: {len(part)} objects, {len(items)} expressions", file=sys.stderr, flush=True)
    out = {"images": len(keys), "pairs": n_pairs}
    for kind, tally in tallies.items():
        what, when = kind.split("_")
        out.setdefault("split" if what == "split" else "referring", {})[when] = tally.summary()
    return out


# ---- latency ------------------------------------------------------------------------------------------------

def bench(engine, partitioner: SketchPartitioner, image: str, repeats: int) -> dict:
    """Whole-sketch split of a new sketch (backbone + detect_all + partition + layers), then a referring query
    on the same sketch mapped onto the cached partition."""
    from grmnet.partition import partition_instances

    grey = to_grey(image)
    expressions = ["the tree", "the cat on the right", "all the clouds", "the house", "the sun"]
    expressions = [e for e in expressions if len(engine.unknown_words(e)) < len(engine.tokenize(e))]
    partitioner.split(grey)                                  # warm-up: allocator, lazy init, category sentences
    split_ms, second_ms, stages = [], [], {}
    for i in range(repeats):
        variant = grey.copy()
        variant[0, i % grey.shape[1]] ^= 1                   # a new sketch each time: every cache must miss
        t0 = time.perf_counter()
        sketch = engine.encode(variant)
        t1 = time.perf_counter()
        layers = partition_instances(partitioner.partition(sketch))
        t2 = time.perf_counter()
        split_ms.append((t2 - t0) * 1e3)
        for k, v in {"backbone": (t1 - t0) * 1e3, **partitioner.last_stages_ms,
                     "layers": (t2 - t1) * 1e3 - sum(partitioner.last_stages_ms.values())}.items():
            stages.setdefault(k, []).append(v)
        t0 = time.perf_counter()
        partitioner.assign(sketch, engine.refer(sketch, expressions[i % len(expressions)]).instances)
        second_ms.append((time.perf_counter() - t0) * 1e3)

    def pct(xs, q):
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 1)
    return {"image": os.path.relpath(image, ROOT),
            "size": list(grey.shape[::-1]), "ink_pixels": int((grey < 128).sum()), "repeats": repeats,
            "layers": len(layers),
            "split_ms": {"p50": pct(split_ms, 0.5), "p90": pct(split_ms, 0.9), "min": pct(split_ms, 0)},
            "second_query_ms": {"p50": pct(second_ms, 0.5), "p90": pct(second_ms, 0.9), "min": pct(second_ms, 0)},
            "stages_ms_median": {k: round(statistics.median(v), 1) for k, v in stages.items()},
            "load_average": [round(v, 2) for v in os.getloadavg()], "cpus": os.cpu_count()}


def partition_settings(pairs: list[str]) -> PartitionConfig:
    """["junction_radius=0", ...] -> PartitionConfig with those settings (each parsed as its field's type)."""
    defaults = PartitionConfig()
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not hasattr(defaults, name):
            raise SystemExit(f"--partition: no setting {name!r} in PartitionConfig")
        kind = type(getattr(defaults, name))
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return replace(defaults, **changes)


def torch_threads() -> int:
    import torch
    return torch.get_num_threads()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", default=str(ROOT / "data" / "synth"), help="synthetic root")
    parser.add_argument("--split", default="test", help="synthetic split (test; val while choosing settings)")
    parser.add_argument("--real", default=str(REAL), help="real SketchyScene samples (skipped when absent)")
    parser.add_argument("--images", type=int, default=40, help="synthetic test images scored (first N keys)")
    parser.add_argument("--pairs-per-image", type=int, default=12, help="expressions scored per image (first N)")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--json", default=None, help="write the numbers here (e.g. docs/results/layers.json)")
    parser.add_argument("--causes", action="store_true",
                        help="break impurity and leftover of the partition's layers down by cause")
    parser.add_argument("--partition", action="append", default=[], metavar="NAME=VALUE",
                        help="a PartitionConfig setting other than its default, e.g. junction_radius=0 (ablation)")
    parser.add_argument("--bench", action="store_true", help="latency of the whole-sketch split only")
    parser.add_argument("--image", action="append", default=None,
                        help="sketch(es) to time (default: resources/examples/scene_1.png and the densest real sample)")
    parser.add_argument("--repeats", type=int, default=12)
    args = parser.parse_args(argv)

    from grmnet.prediction import Predictor
    engine = Predictor(args.weights)
    partitioner = SketchPartitioner(engine, partition_cfg=partition_settings(args.partition))
    command = "python tools/measure_layers.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.bench:
        images = args.image or [str(p) for p in (ROOT / "resources" / "examples" / "scene_1.png",
                                                 Path(args.real) / "test" / "DRAWING_GT" / "L0_sample2.png")
                                if p.is_file()]
        out = {"command": command, "threads": torch_threads(),
               "bench": [bench(engine, partitioner, image, args.repeats) for image in images]}
    else:
        out = {"command": command, "match_iou": MATCH_IOU}
        synthetic = Path(args.synthetic)
        if (synthetic / args.split).is_dir():
            out[f"synthetic_{args.split}"] = measure(engine, partitioner, synthetic, args.split, args.images,
                                                     args.pairs_per_image, args.causes)
        else:
            print(f"no synthetic test split at {synthetic} (grmnet synth --out {synthetic} --split test --n 200 "
                  "--seed 3): skipped", file=sys.stderr)
        real = Path(args.real)
        if (real / "test").is_dir():
            out["real_samples"] = measure(engine, partitioner, real, "test", None, None, args.causes)
        else:
            print(f"no real samples at {real}: skipped", file=sys.stderr)
    text = json.dumps(out, indent=1)
    if args.json:
        previous = json.loads(Path(args.json).read_text()) if Path(args.json).is_file() else {}
        key = "bench" if args.bench else "accuracy"
        previous[key] = out
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(previous, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
