"""`grmnet train-baseline`: the baselines, trained stage by stage with GRM-Net's data pipeline and schedule.

- binary: the referring segmenter ("matcher") on (image, expression) pairs (grmnet.training.PairBatches),
  with the union of the referred instances' filled regions as the target.
- two-stage: phase "segmenter" (language-free Mask R-CNN on ALL instances of each training image), then
  phase "matcher" (the same network as the binary baseline), each with the full --iters budget, each with its
  own optimizer and schedule: separate training as in Zou et al. `--matcher RUN` takes stage 2 from a trained
  binary baseline instead of training it again (same network, same data, same budget).

Run directory: config.json, vocab.txt, model.safetensors, optimizer.safetensors (current phase),
trainer_state.json {"method", "phase", "steps": {phase: n}, "images_seen": {...}, "seconds": {...}, "done"},
train_log.jsonl. Single process (no DDP).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from grmnet.baselines import build_baseline_model
from grmnet.baselines.binary import binary_losses, referred_targets
from grmnet.baselines.common import BaselineConfig, read_baseline_files, save_baseline
from grmnet.data.augment import augment_strokes
from grmnet.data.categories import CATEGORIES, label_of
from grmnet.data.sketchyscene import SketchySceneDataset
from grmnet.errors import GRMNetError, WeightsError
from grmnet.imaging import model_input, to_grey
from grmnet.runtime import resolve_device
from grmnet.training import (FromStep, PairBatches, _boxes_of, _load_optimizer, _save_optimizer, build_vocabulary,
                             collate, lr_at, masks_at_input)
from grmnet.files import atomic_write
from grmnet.weights import copy_parts, freeze_parts, load_model, load_state_strict

STATE_NAME = "trainer_state.json"


class InstanceBatches(Dataset):
    """Item i = one training image with ALL its instances (boxes, labels 1..25, filled region masks at input
    resolution), drawn reproducibly from (seed, i). Instances outside the 25 categories are left out."""

    def __init__(self, data: SketchySceneDataset, cfg, seed: int):
        self.data, self.cfg, self.seed = data, cfg, seed
        self.keys = list(data.keys)

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        img = self.data.image(self.keys[int(rng.integers(len(self.keys)))])
        grey = to_grey(img.drawing)
        if self.cfg.training.augment:
            grey = augment_strokes(grey, rng)
        inputs = model_input(grey, self.cfg.input_size)
        known = [k for k, c in enumerate(img.categories) if c in CATEGORIES]
        regions = masks_at_input(img.region_masks[known], inputs.size, self.cfg.input_size)
        boxes = _boxes_of(regions)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        labels = torch.tensor([label_of(img.categories[k]) for k in known], dtype=torch.long)
        target = {"boxes": boxes[keep], "labels": labels[keep], "masks": regions[keep]}
        return {"image": inputs.tensor, "size": inputs.size, "target": target}


def collate_instances(items: list[dict]) -> dict:
    return {"images": torch.stack([it["image"] for it in items]), "sizes": [it["size"] for it in items],
            "targets": [it["target"] for it in items]}


def _phase_losses(model, phase: str, batch: dict, device: torch.device, cfg: BaselineConfig) -> dict:
    targets = [{k: v.to(device) for k, v in t.items()} for t in batch["targets"]]
    images = batch["images"].to(device)
    if phase == "segmenter":
        return model.segmenter(images, batch["sizes"], targets)
    logits = model.matcher(images, batch["pair_image"].to(device), batch["tokens"].to(device),
                           batch["lengths"].to(device))
    return binary_losses(logits, referred_targets(targets, images.shape[-1], device), cfg.dice_weight)


def _write_state(out: Path, state: dict) -> None:
    atomic_write(out / STATE_NAME, lambda tmp: Path(tmp).write_text(json.dumps(state, indent=1)))


def _checkpoint(model, cfg, vocab, opt, out: Path, state: dict) -> None:
    save_baseline(model, cfg, vocab, out, metadata={"phase": state["phase"], "steps": json.dumps(state["steps"])})
    _save_optimizer(opt, out / "optimizer.safetensors")
    _write_state(out, state)


def _import_matcher(model, cfg: BaselineConfig, vocab, source) -> tuple[str, dict]:
    """Stage 2 of a two-stage run from a trained binary baseline (identical network and vocabulary)."""
    src_cfg, src_vocab, state, weights = read_baseline_files(source, "binary")
    if src_vocab.words != vocab.words:
        raise WeightsError(f"{weights}: the binary baseline's vocabulary differs from this run's")
    matcher_state = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("matcher.")}
    load_state_strict(model.matcher, matcher_state, weights)
    trained = json.loads((weights.parent / STATE_NAME).read_text()) if (weights.parent / STATE_NAME).is_file() else {}
    return str(weights), trained


def run_train_baseline(args) -> int:
    device = resolve_device(args.device)
    out = Path(args.out)
    data = SketchySceneDataset(args.data, "train")
    resume = args.resume and (out / STATE_NAME).is_file()
    if resume:
        cfg, vocab, weights_state, _ = read_baseline_files(out, args.method)
        model = build_baseline_model(cfg, len(vocab))
        load_state_strict(model, weights_state, out)
        state = json.loads((out / STATE_NAME).read_text())
    else:
        cfg = BaselineConfig.load(args.config, args.method) if args.config else BaselineConfig()
        cfg.method = args.method
        cfg.validate()
        parts_source = None
        if getattr(args, "init_parts", None):
            parts_source, _, init_vocab, init_weights = load_model(args.init_parts, "cpu")
        if args.matcher:
            vocab = read_baseline_files(args.matcher, "binary")[1]
        elif parts_source is not None:
            vocab = init_vocab
        else:
            vocab = build_vocabulary(data)
        torch.manual_seed(cfg.model.training.seed)
        model = build_baseline_model(cfg, len(vocab))
        if parts_source is not None:
            copy_parts(model, parts_source.state_dict(), cfg.model.training.frozen_parts, init_weights)
        phases = ["segmenter", "matcher"] if cfg.method == "two-stage" else ["matcher"]
        state = {"method": cfg.method, "phase": phases[0], "steps": {p: 0 for p in phases},
                 "images_seen": {p: 0 for p in phases}, "pairs_seen": {p: 0 for p in phases},
                 "seconds": {p: 0.0 for p in phases}, "done": False}
        if args.matcher:
            if cfg.method != "two-stage":
                raise GRMNetError("--matcher only applies to --method two-stage")
            source, trained = _import_matcher(model, cfg, vocab, args.matcher)
            state["matcher_from"] = source
            for key in ("steps", "images_seen", "pairs_seen", "seconds"):
                state[key]["matcher"] = (trained.get(key) or {}).get("matcher", 0)
    if args.iters is not None:
        cfg.model.training.max_iters = args.iters
    state["iters"] = cfg.model.training.max_iters
    state["done"] = False
    out.mkdir(parents=True, exist_ok=True)
    freeze_parts(model, cfg.model.training.frozen_parts)
    model.to(device)
    for phase in state["steps"]:
        if phase == "matcher" and state.get("matcher_from"):
            continue
        if state["steps"][phase] >= cfg.model.training.max_iters:
            continue
        _train_phase(model, cfg, vocab, data, phase, state, out, device, args, resume and state["phase"] == phase)
    state["done"] = True
    _checkpoint_final(model, cfg, vocab, out, state)
    print(json.dumps({"run": str(out), "method": cfg.method, "steps": state["steps"],
                      "weights": str(out / "model.safetensors")}))
    return 0


def _checkpoint_final(model, cfg, vocab, out: Path, state: dict) -> None:
    save_baseline(model, cfg, vocab, out, metadata={"phase": "done", "steps": json.dumps(state["steps"])})
    _write_state(out, state)


def _train_phase(model, cfg: BaselineConfig, vocab, data, phase: str, state: dict, out: Path,
                 device: torch.device, args, resume_optimizer: bool) -> None:
    mcfg = cfg.model
    total, start = mcfg.training.max_iters, int(state["steps"][phase])
    state["phase"] = phase
    module = getattr(model, phase)
    model.train()
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=mcfg.training.lr, weight_decay=mcfg.training.weight_decay)
    if resume_optimizer and start > 0 and (out / "optimizer.safetensors").is_file():
        _load_optimizer(opt, out / "optimizer.safetensors")
    images_per_step = max(1, mcfg.training.batch_size // mcfg.training.expressions_per_image)
    if phase == "segmenter":
        # the same images per step as GRM-Net and the binary network: a language-free step sees whole images
        dataset, collate_fn = InstanceBatches(data, mcfg, mcfg.training.seed), collate_instances
    else:
        dataset = PairBatches(data, vocab, mcfg, mcfg.training.seed)
        collate_fn = lambda items: collate(items, vocab, mcfg.max_words)  # noqa: E731
    workers = args.workers if args.workers is not None else (1 if device.type == "cpu" else 6)
    loader = DataLoader(dataset, batch_size=images_per_step, sampler=FromStep(start), num_workers=workers,
                        persistent_workers=workers > 0, prefetch_factor=4 if workers > 0 else None,
                        collate_fn=collate_fn)
    log = open(out / "train_log.jsonl", "a")
    bar = tqdm(total=total, initial=start, dynamic_ncols=True, desc=f"train {cfg.method}:{phase}")
    step, ema, t_phase = start, {}, time.perf_counter()
    try:
        for batch in loader:
            if step >= total:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step, mcfg, total)
            losses = _phase_losses(model, phase, batch, device, cfg)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise GRMNetError(f"{phase}: loss became {float(loss)} at step {step}; lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            opt.step()
            step += 1
            now = time.perf_counter()
            state["steps"][phase] = step
            state["images_seen"][phase] += len(batch["images"])
            if phase == "matcher":
                state["pairs_seen"][phase] += len(batch["targets"])
            state["seconds"][phase] = round(state["seconds"][phase] + now - t_phase, 2)
            t_phase = now
            for k, v in losses.items():
                v = v.detach().item()
                ema[k] = 0.9 * ema.get(k, v) + 0.1 * v
            bar.update(1)
            if step % 10 == 0 or step == total:
                bar.set_postfix(loss=f"{sum(ema.values()):.3f}")
                log.write(json.dumps({"phase": phase, "step": step, "lr": opt.param_groups[0]["lr"],
                                      "time": time.time(), **{k: round(v, 4) for k, v in ema.items()}}) + "\n")
                log.flush()
            if step % mcfg.training.checkpoint_every == 0 or step == total:
                _checkpoint(model, cfg, vocab, opt, out, state)
    finally:
        bar.close()
        log.close()
    _checkpoint(model, cfg, vocab, opt, out, state)
    model.eval()
