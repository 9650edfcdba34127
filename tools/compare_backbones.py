"""Compare CPU-default candidates: parameters, fp16 weight size, and query latency at each input size.

usage: python tools/compare_backbones.py [--json docs/results/backbones.json]
Random weights (latency does not depend on training); one image, 2 threads, median of repeats.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from grmnet.config import GRMNetConfig
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import Vocabulary, grammar_vocabulary_words

CANDIDATES = [("mobilenet_v3_large", 320), ("mobilenet_v3_large", 384), ("mobilenet_v3_large", 512),
              ("mobilenet_v3_small", 384), ("resnet18", 384), ("resnet18", 512)]


def measure(backbone: str, size: int, repeats: int = 5) -> dict:
    cfg = GRMNetConfig(backbone=backbone, input_size=size)
    vocab = Vocabulary(grammar_vocabulary_words())
    model = GRMNet(cfg, len(vocab)).eval()
    params = sum(p.numel() for p in model.parameters())
    image = torch.zeros(1, 3, size, size)
    image[:, :, size // 4: size // 4 + 3, :] = 1
    tokens, lengths = vocab.encode_batch(["the two sheep on the left"], cfg.max_words)
    cold, warm = [], []
    with torch.inference_mode():
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
    return {"backbone": backbone, "input_size": size, "params_M": round(params / 1e6, 2),
            "fp16_MB": round(params * 2 / 2**20, 1), "cold_ms": med(cold), "warm_ms": med(warm)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = [measure(b, s) for b, s in CANDIDATES]
    print("| backbone | input | params (M) | fp16 MB | cold ms | warm ms (model only) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backbone']} | {r['input_size']} | {r['params_M']} | {r['fp16_MB']} | {r['cold_ms']} | {r['warm_ms']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
