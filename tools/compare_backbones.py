"""Compare CPU-default candidates: parameters, fp16 weight size, and query latency at each input size.

usage: python tools/compare_backbones.py [--json docs/results/backbones.json]
Random weights (latency does not depend on training); one image, 2 threads, median of repeats; fp32, and bf16
autocast + channels_last (AMX CPUs).
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from grmnet.config import GRMNetConfig
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import Vocabulary, grammar_vocabulary_words

CANDIDATES = [("mobilenet_v3_large", 384, False), ("efficientnet_lite0", 384, False), ("resnet18", 384, False),
              ("mobilenet_v3_large", 384, True), ("efficientnet_lite0", 384, True), ("resnet18", 384, True),
              ("mobilenet_v3_large", 512, False), ("efficientnet_lite0", 512, False)]
NORM = {"efficientnet_lite0": "frozen_batch", "resnet18": "frozen_batch"}


def measure(backbone: str, size: int, bf16: bool, repeats: int = 5) -> dict:
    cfg = GRMNetConfig(backbone=backbone, input_size=size, norm=NORM.get(backbone, "group"))
    vocab = Vocabulary(grammar_vocabulary_words())
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    model = GRMNet(cfg, len(vocab)).eval().to(memory_format=fmt)
    params = sum(p.numel() for p in model.parameters())
    image = torch.zeros(1, 3, size, size)
    image[:, :, size // 4: size // 4 + 3, :] = 1
    tokens, lengths = vocab.encode_batch(["the two sheep on the left"], cfg.max_words)
    cold, warm = [], []
    image = image.to(memory_format=fmt)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(repeats + 1):
            t = time.perf_counter()
            feats = model.encode_images(image)
            t1 = time.perf_counter()
            model.refer(feats, [(size, size)], tokens, lengths)
            t2 = time.perf_counter()
            if i:
                cold.append((t2 - t) * 1e3)
                warm.append((t2 - t1) * 1e3)
    med = lambda xs: round(sorted(xs)[len(xs) // 2], 1)
    return {"backbone": backbone, "input_size": size, "precision": "bf16" if bf16 else "fp32", "params_M": round(params / 1e6, 2),
            "fp16_MB": round(params * 2 / 2**20, 1), "cold_ms": med(cold), "warm_ms": med(warm)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = [measure(b, s, h) for b, s, h in CANDIDATES]
    print("| backbone | input | precision | params (M) | fp16 MB | cold ms | warm ms (model only) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backbone']} | {r['input_size']} | {r['precision']} | {r['params_M']} | {r['fp16_MB']} | "
              f"{r['cold_ms']} | {r['warm_ms']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
