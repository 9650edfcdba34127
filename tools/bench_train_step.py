"""Seconds per training step on this machine, data excluded: the same 8 composed scenes x 6 expressions
through forward + backward + AdamW, per backbone / precision.

usage: python tools/bench_train_step.py [--steps 4] [--images 8] [--pairs 6] [--threads N] [--json OUT]

--threads 1 measures the work itself: on a busy 2-core machine, two OpenMP threads spend most of a step
waiting for each other (measured 4-5x slower than one thread while another training run was going).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from grmnet.config import GRMNetConfig
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import Vocabulary, grammar_vocabulary_words
from grmnet.training import PairBatches, SynthesizedScenes, collate

VARIANTS = [  # (name, backbone, norm, amp)
    ("mobilenet_v3_large fp32", "mobilenet_v3_large", "group", False),
    ("mobilenet_v3_large bf16", "mobilenet_v3_large", "group", True),
    ("efficientnet_lite0 fp32", "efficientnet_lite0", "frozen_batch", False),
    ("efficientnet_lite0 bf16", "efficientnet_lite0", "frozen_batch", True),
    ("resnet18 fp32", "resnet18", "frozen_batch", False),
    ("resnet18 bf16", "resnet18", "frozen_batch", True),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--input-size", type=int, default=384)
    ap.add_argument("--only", default=None, help="substring of the variant names to run")
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    ap.add_argument("--config", default=None, help="a training config JSON: measure it (fp32 and bf16) instead")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    vocab = Vocabulary(grammar_vocabulary_words())
    rows = []
    variants = VARIANTS
    if a.config:
        base = GRMNetConfig.load(a.config)
        variants = [(f"{a.config} {'bf16' if amp else 'fp32'}", base.backbone, base.norm, amp) for amp in (False, True)]
    for name, backbone, norm, amp in variants:
        if a.only and a.only not in name:
            continue
        if a.config:
            cfg = GRMNetConfig.load(a.config)
            cfg.language_model = "bilstm"
            a.images = cfg.training.batch_size // cfg.training.expressions_per_image
        else:
            cfg = GRMNetConfig(backbone=backbone, norm=norm, input_size=a.input_size)
            cfg.training.expressions_per_image = a.pairs
        data = PairBatches(SynthesizedScenes(7), vocab, cfg, 0)
        batch = collate([data[i] for i in range(a.images)], vocab, cfg.max_words)
        torch.manual_seed(0)
        model = GRMNet(cfg, len(vocab)).use_bf16(amp).train()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        times = []
        for s in range(a.steps + 1):
            t = time.perf_counter()
            losses = model(batch["images"], batch["sizes"], batch["pair_image"], batch["tokens"], batch["lengths"],
                           batch["targets"])
            loss = sum(losses.values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            if s:
                times.append(time.perf_counter() - t)
        row = {"variant": name, "s_per_step": round(float(np.median(times)), 3),
               "images_per_s": round(a.images / float(np.median(times)), 2), "threads": torch.get_num_threads(),
               "images": a.images, "pairs": len(batch["targets"]), "input_size": cfg.input_size}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
