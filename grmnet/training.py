"""`grmnet train`: single process, or DistributedDataParallel under torchrun (gloo on CPU, nccl on GPU).

Run directory:  config.json, vocab.txt, model.safetensors (latest weights), optimizer.safetensors +
trainer_state.json (resume), train_log.jsonl. Nothing is pickled.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from grmnet.config import GRMNetConfig
from grmnet.data.augment import augment_strokes
from grmnet.data.categories import label_of
from grmnet.data.sketchyscene import SketchySceneDataset
from grmnet.errors import GRMNetError
from grmnet.imaging import model_input, to_grey
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import Vocabulary
from grmnet.prediction import resolve_device
from grmnet.testing import GRAMMAR_WORDS
from grmnet.weights import _atomic, _unwrap, load_model, save_model


class PairBatches(Dataset):
    """Item i = one training image with `expressions_per_image` of its expressions, drawn reproducibly from
    (seed, i): resuming at step s continues the same stream."""

    def __init__(self, data: SketchySceneDataset, vocab: Vocabulary, cfg: GRMNetConfig, seed: int):
        self.data, self.vocab, self.cfg, self.seed = data, vocab, cfg, seed
        self.keys = [k for k in data.keys if data.expressions_of(k)]

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        key = self.keys[int(rng.integers(len(self.keys)))]
        img = self.data.image(key)
        grey = to_grey(img.drawing)
        if self.cfg.augment:
            grey = augment_strokes(grey, rng)
        inputs = model_input(grey, self.cfg.input_size)
        exprs = list(self.data.expressions_of(key).items())
        picks = rng.choice(len(exprs), size=min(self.cfg.expressions_per_image, len(exprs)), replace=False)
        s = self.cfg.input_size
        regions = torch.from_numpy(img.region_masks).float()[None]  # [1, K, H, W]
        if len(img.region_masks):
            regions = F.interpolate(regions, size=inputs.size, mode="bilinear", align_corners=False)[0] > 0.5
            regions = F.pad(regions, (0, s - inputs.size[1], 0, s - inputs.size[0]))
        else:
            regions = torch.zeros((0, s, s), dtype=torch.bool)
        pairs = []
        for j in picks:
            expression, targets = exprs[int(j)]
            t = torch.as_tensor(targets, dtype=torch.long)
            masks = regions[t] if len(t) else torch.zeros((0, s, s), dtype=torch.bool)
            boxes = _boxes_of(masks)
            keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            labels = torch.tensor([label_of(img.categories[k]) for k in targets], dtype=torch.long)
            pairs.append((expression, {"boxes": boxes[keep], "labels": labels[keep],
                                       "masks": masks[keep].to(torch.uint8)}))
        return {"image": inputs.tensor, "size": inputs.size, "pairs": pairs}


def _boxes_of(masks: torch.Tensor) -> torch.Tensor:
    """bool [n, H, W] -> [n, 4] (x0, y0, x1, y1), exclusive ends."""
    if len(masks) == 0:
        return torch.zeros((0, 4))
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    out = torch.zeros((len(masks), 4))
    for i in range(len(masks)):
        ys, xs = torch.where(rows[i])[0], torch.where(cols[i])[0]
        if len(ys) and len(xs):
            out[i] = torch.tensor([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], dtype=torch.float)
    return out


def collate(items: list[dict], vocab: Vocabulary, max_words: int) -> dict:
    images = torch.stack([it["image"] for it in items])
    pair_image, expressions, targets = [], [], []
    for i, it in enumerate(items):
        for expression, target in it["pairs"]:
            pair_image.append(i)
            expressions.append(expression)
            targets.append(target)
    tokens, lengths = vocab.encode_batch(expressions, max_words)
    return {"images": images, "sizes": [it["size"] for it in items], "pair_image": torch.tensor(pair_image),
            "tokens": tokens, "lengths": lengths, "targets": targets}


class FromStep(Sampler):
    """Indices start, start + stride, ... (each rank its own stream; resume = new start)."""

    def __init__(self, start: int, stride: int = 1, offset: int = 0):
        self.start, self.stride, self.offset = start, stride, offset

    def __iter__(self):
        i = self.start
        while True:
            yield i * self.stride + self.offset
            i += 1

    def __len__(self):
        return 1 << 40


def build_vocabulary(data: SketchySceneDataset) -> Vocabulary:
    """Words of the training expressions, plus the grammar's words so that no real phrase is unknown."""
    words = [w for k in data.keys for e in data.expressions_of(k) for w in e.split()]
    return Vocabulary(words + GRAMMAR_WORDS)


def lr_at(step: int, cfg: GRMNetConfig, total: int) -> float:
    if step < cfg.warmup_iters:
        return cfg.lr * (step + 1) / cfg.warmup_iters
    progress = min(1.0, (step - cfg.warmup_iters) / max(1, total - cfg.warmup_iters))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _save_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    tensors = {}
    for idx, state in opt.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"{idx}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    _atomic(path, lambda tmp: save_file(tensors, tmp))


def _load_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    flat = load_file(str(path))
    sd = opt.state_dict()
    state: dict[int, dict] = {}
    for key, value in flat.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    sd["state"] = state
    opt.load_state_dict(sd)


def _setup_distributed(device_arg: str) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, resolve_device(device_arg)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_arg)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def run_train(args) -> int:
    rank, world, device = _setup_distributed(args.device)
    out = Path(args.out)
    resume = args.resume and (out / "trainer_state.json").is_file()
    data = SketchySceneDataset(args.data, "train")
    if resume:
        model, cfg, vocab, _ = load_model(out, "cpu")
        state = json.loads((out / "trainer_state.json").read_text())
        start = int(state["step"])
    else:
        cfg = GRMNetConfig.load(args.config) if args.config else GRMNetConfig()
        if args.init:
            model, init_cfg, vocab, _ = load_model(args.init, "cpu")
            # fine-tuning may change the input size / budget, never the architecture
            for f in ("input_size", "max_iters", "lr", "batch_size", "expressions_per_image", "warmup_iters",
                      "checkpoint_every", "augment"):
                setattr(init_cfg, f, getattr(cfg, f))
            cfg = init_cfg
        else:
            vocab = build_vocabulary(data)
            torch.manual_seed(cfg.seed)
            model = GRMNet(cfg, len(vocab))
        start = 0
    if args.iters is not None:
        cfg.max_iters = args.iters
    total = cfg.max_iters
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    model.to(device).train()
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resume and (out / "optimizer.safetensors").is_file():
        _load_optimizer(opt, out / "optimizer.safetensors")
    images_per_step = max(1, cfg.batch_size // cfg.expressions_per_image)
    workers = args.workers if args.workers is not None else (1 if device.type == "cpu" else 6)
    loader = DataLoader(PairBatches(data, vocab, cfg, cfg.seed),
                        batch_size=images_per_step,
                        sampler=FromStep(start, stride=world, offset=rank),
                        num_workers=workers, persistent_workers=workers > 0,
                        prefetch_factor=4 if workers > 0 else None,
                        collate_fn=lambda items: collate(items, vocab, cfg.max_words))
    log = open(out / "train_log.jsonl", "a") if rank == 0 else None
    bar = tqdm(total=total, initial=start, disable=rank != 0, dynamic_ncols=True, desc="train")
    t_last, seen, step = time.perf_counter(), 0, start
    ema: dict[str, float] = {}
    try:
        for batch in loader:
            if step >= total:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg, total)
            targets = [{k: v.to(device) for k, v in t.items()} for t in batch["targets"]]
            losses = ddp_model(batch["images"].to(device), batch["sizes"], batch["pair_image"].to(device),
                               batch["tokens"].to(device), batch["lengths"].to(device), targets)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise GRMNetError(f"loss became {float(loss)} at step {step}; lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            step += 1
            seen += len(batch["images"]) * world
            for k, v in losses.items():
                v = v.detach().item()
                ema[k] = 0.9 * ema.get(k, v) + 0.1 * v
            if rank == 0:
                bar.update(1)
                if step % 10 == 0 or step == total:
                    dt = time.perf_counter() - t_last
                    ips = seen / dt
                    bar.set_postfix(loss=f"{sum(ema.values()):.3f}", img_s=f"{ips:.2f}")
                    log.write(json.dumps({"step": step, "lr": opt.param_groups[0]["lr"], "images_per_s": ips,
                                          "pairs_per_step": len(batch["targets"]) * world, "time": time.time(),
                                          **{k: round(v, 4) for k, v in ema.items()}}) + "\n")
                    log.flush()
                    t_last, seen = time.perf_counter(), 0
                if step % cfg.checkpoint_every == 0 or step == total:
                    _checkpoint(model, cfg, vocab, opt, out, step)
    finally:
        bar.close()
        if log:
            log.close()
        if world > 1:
            dist.destroy_process_group()
    if rank == 0:
        _checkpoint(model, cfg, vocab, opt, out, step)
        print(json.dumps({"run": str(out), "step": step, "weights": str(out / "model.safetensors")}))
    return 0


def _checkpoint(model, cfg, vocab, opt, out: Path, step: int) -> None:
    save_model(_unwrap(model), cfg, vocab, out, metadata={"step": step})
    _save_optimizer(opt, out / "optimizer.safetensors")
    _atomic(out / "trainer_state.json", lambda tmp: Path(tmp).write_text(json.dumps({"step": step})))
