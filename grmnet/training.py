"""`grmnet train`: single process, or DistributedDataParallel under torchrun (gloo on CPU, nccl on GPU).

Run directory:  config.json, vocab.txt, model.safetensors (latest weights), optimizer.safetensors +
trainer_state.json (resume), train_log.jsonl. Nothing is pickled.
"""
from __future__ import annotations

import functools
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.distributed as dist
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
from grmnet.modeling.language import GRAMMAR_WORDS, Vocabulary
from grmnet.runtime import keep_freed_memory, resolve_device
from grmnet.files import atomic_write
from grmnet.modeling.backbone import load_pretrained_body
from grmnet.weights import _unwrap, copy_matching, copy_parts, freeze_parts, load_model, save_model


class DiskScenes:
    """Training scenes of a SketchySceneDataset split; item i draws its image reproducibly from its rng."""

    def __init__(self, data: SketchySceneDataset):
        self.data = data
        self.keys = [k for k in data.keys if data.expressions_of(k)]
        if not self.keys:
            raise GRMNetError(f"{data.sentences_file}: no image has an expression to train on")

    def words(self) -> list[str]:
        return [w for k in self.keys for e in self.data.expressions_of(k) for w in e.split()]

    def sample(self, i: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
        """-> (drawing uint8 [H, W, 3], region masks bool [K, H, W], K categories, {expression: [0-based ids]})"""
        key = self.keys[int(rng.integers(len(self.keys)))]
        img = self.data.image(key)
        return img.drawing, img.region_masks, img.categories, self.data.expressions_of(key)


class SynthesizedScenes:
    """Fresh scenes composed inside the loader workers: item i is scene ``start_key + i`` of the synthetic
    'train' split with ``seed`` (same seeding as `grmnet synth`, so never a val/test scene). No epochs, no
    disk: on a GPU the workers compose scenes about as fast as the model consumes them."""

    def __init__(self, seed: int, start_key: int = 1, realism: str | None = None, free_share: float = 0.0):
        self.seed, self.start_key = int(seed), int(start_key)
        self.realism = realism   # grmnet.data.realism.Realism spec: None = every hand-drawn effect on
        self.free_share = float(free_share)   # TrainingConfig.free_share

    def words(self, n: int = 64) -> list[str]:
        return [w for i in range(n) for e in self.sample(i, None)[3] for w in e.split()]

    def _compose(self, i: int):
        from grmnet.data.synth import compose_sample

        key = self.start_key + i
        while True:
            scene, exprs = compose_sample("train", self.seed, key, realism=self.realism, free_share=self.free_share)
            if exprs:
                return scene, exprs
            key += 1 << 40   # a scene without expressions (rare): take one from a far, unused key range

    def sample(self, i: int, rng) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
        """-> (drawing uint8 [H, W, 3], region masks bool [K, H, W], K categories, {expression: [0-based ids]}):
        exactly what `grmnet synth` writes for the same (seed, key)."""
        scene, exprs = self._compose(i)
        return scene.drawing, np.asarray(ObjectRegions(scene.objects)), [o.category for o in scene.objects], exprs

    def sample_grey(self, i: int, rng) -> tuple[np.ndarray, "ObjectRegions", list[str], dict]:
        """:meth:`sample` as the training loader wants it: the drawing's grey plane (the synthetic drawing's
        three channels are equal, so this is what ``to_grey`` makes of the RGB drawing) and the regions
        stacked only on demand (a step uses the targets of a few expressions, not every object)."""
        scene, exprs = self._compose(i)
        return (np.ascontiguousarray(scene.drawing[:, :, 0]), ObjectRegions(scene.objects),
                [o.category for o in scene.objects], exprs)


class ObjectRegions:
    """The region masks of a scene's objects, stacked only on demand: ``regions[[i, j]]`` -> bool [2, H, W]
    (a training step uses the targets of a few expressions, not every object of the scene)."""

    def __init__(self, objects):
        self.objects = objects

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, idx):
        if isinstance(idx, (int, np.integer)):
            return self.objects[int(idx)].region
        idx = list(idx)
        if not idx:
            h, w = self.objects[0].region.shape if self.objects else (0, 0)
            return np.zeros((0, h, w), bool)
        return np.stack([self.objects[int(k)].region for k in idx])

    def __array__(self, dtype=None, copy=None):
        a = self[range(len(self))]
        return a if dtype is None else a.astype(dtype)


class PairBatches(Dataset):
    """Item i = one training image with `expressions_per_image` of its expressions, drawn reproducibly from
    (seed, i): resuming at step s continues the same stream. `scenes` is a DiskScenes or SynthesizedScenes
    (a SketchySceneDataset is wrapped in DiskScenes)."""

    def __init__(self, scenes, vocab: Vocabulary, cfg: GRMNetConfig, seed: int):
        self.scenes = DiskScenes(scenes) if isinstance(scenes, SketchySceneDataset) else scenes
        self.vocab, self.cfg, self.seed = vocab, cfg, seed

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        fast = getattr(self.scenes, "sample_grey", None)   # synthetic scenes: grey plane, regions on demand
        drawing, region_masks, categories, expressions = (fast or self.scenes.sample)(i, rng)
        grey = to_grey(drawing)
        if self.cfg.training.augment:
            grey = augment_strokes(grey, rng)
        inputs = model_input(grey, self.cfg.input_size)
        exprs = list(expressions.items())
        picks = rng.choice(len(exprs), size=min(self.cfg.training.expressions_per_image, len(exprs)), replace=False)
        # Only the picked expressions' targets are resized: a scene has tens of instances, a step uses a few.
        used = sorted({int(k) for j in picks for k in exprs[int(j)][1]})
        local = {k: n for n, k in enumerate(used)}
        regions = masks_at_input(region_masks[used], inputs.size, self.cfg.input_size)  # uint8 [U, s, s]
        boxes = _boxes_of(regions)                                                      # [U, 4]
        pairs = []
        for j in picks:
            expression, targets = exprs[int(j)]
            t = torch.as_tensor([local[int(k)] for k in targets], dtype=torch.long)
            keep = t[(boxes[t, 2] > boxes[t, 0]) & (boxes[t, 3] > boxes[t, 1])] if len(t) else t
            labels = torch.tensor([label_of(categories[used[n]]) for n in keep.tolist()], dtype=torch.long)
            pairs.append((expression, {"boxes": boxes[keep], "labels": labels, "masks": regions[keep]}))
        return {"image": inputs.tensor, "size": inputs.size, "pairs": pairs}


def masks_at_input(masks: np.ndarray, size: tuple[int, int], input_size: int) -> torch.Tensor:
    """bool [K, H, W] drawing masks -> uint8 {0, 1} [K, s, s] in the padded model input (`size` = (h, w) of the
    resized drawing inside it): bilinear, then > 0.5, per mask with OpenCV (much cheaper than one float
    interpolation of the whole stack)."""
    h, w = size
    out = np.zeros((len(masks), input_size, input_size), np.uint8)
    for k, m in enumerate(masks):
        out[k, :h, :w] = cv2.resize(m.view(np.uint8) * np.uint8(255), (w, h), interpolation=cv2.INTER_LINEAR) > 127
    return torch.from_numpy(out)


def _boxes_of(masks: torch.Tensor) -> torch.Tensor:
    """[n, H, W] (bool or 0/1) -> [n, 4] float (x0, y0, x1, y1), exclusive ends; empty masks give zeros."""
    m = masks.numpy().astype(bool, copy=False)
    rows, cols = m.any(axis=2), m.any(axis=1)
    out = np.zeros((len(m), 4), np.float32)
    for i in range(len(m)):
        ys, xs = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
        if len(ys) and len(xs):
            out[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return torch.from_numpy(out)


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


def resolve_amp(amp: str, device: torch.device, has_bf16=None) -> str:
    """``--amp`` -> "bf16" or "off". ``auto``: bf16 on a GPU or on a CPU that computes bf16 natively; elsewhere
    autocast emulates bf16 and a training step is several times slower than in fp32 (seen: 14 s against 3.9 s
    on a 2-core AMD EPYC without AVX512-BF16), so ``bf16`` there runs, with a warning."""
    from grmnet.runtime import cpu_has_bf16
    native = device.type == "cuda" or (cpu_has_bf16() if has_bf16 is None else has_bf16)
    if amp == "auto":
        return "bf16" if native else "off"
    if amp == "bf16" and not native:
        warnings.warn("--amp bf16 on a CPU without native bf16 (AMX / AVX512-BF16): autocast emulates it and "
                      "training runs several times slower than with --amp off (or auto)", RuntimeWarning, stacklevel=2)
    return amp


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


class StopRequest:
    """SIGTERM (a scheduler, `kill`) or SIGINT (Ctrl+C; also a training that a non-interactive shell started in
    the background, where SIGINT would otherwise be ignored) asks training to stop: the current step finishes, a
    checkpoint is written and `--resume` goes on from exactly there. A second signal stops at once
    (KeyboardInterrupt, losing the steps since the last checkpoint)."""

    def __init__(self):
        self.requested = False
        self._previous: dict = {}

    def install(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():   # signal handlers live on the main thread
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def _single_threaded(_worker_id: int) -> None:
    """Loader workers run side by side: one OpenCV thread each (torch already sets one); freed memory is kept
    (grmnet.runtime.keep_freed_memory: each scene allocates the same large planes again)."""
    cv2.setNumThreads(1)
    keep_freed_memory()


def build_vocabulary(scenes) -> Vocabulary:
    """Words of the training expressions, plus the grammar's words so that no real phrase is unknown."""
    if isinstance(scenes, SketchySceneDataset):
        scenes = DiskScenes(scenes)
    return Vocabulary(scenes.words() + GRAMMAR_WORDS)


def lr_at(step: int, cfg: GRMNetConfig, total: int, progress: float | None = None) -> float:
    """Linear warm-up over `cfg.training.warmup_iters` steps, then cosine down to 5 % of `cfg.training.lr`. The cosine follows
    `progress` in [0, 1] when given (a wall-clock budget), else the step count out of `total`."""
    if step < cfg.training.warmup_iters:
        return cfg.training.lr * (step + 1) / cfg.training.warmup_iters
    if progress is None:
        progress = (step - cfg.training.warmup_iters) / max(1, total - cfg.training.warmup_iters)
    progress = min(1.0, max(0.0, progress))
    return cfg.training.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _save_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    tensors = {}
    for idx, state in opt.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"{idx}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    atomic_write(path, lambda tmp: save_file(tensors, tmp))


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
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    device = resolve_device(device_arg)
    backend = "gloo"
    if device.type == "cuda":
        # several ranks may share one GPU: torchvision's detection heads loop over images in Python, so one
        # process cannot keep a big GPU busy. NCCL refuses two ranks on one device; gloo reduces through the host.
        gpus = torch.cuda.device_count()
        device = torch.device("cuda", local % gpus)
        torch.cuda.set_device(device)
        backend = "nccl" if local_world <= gpus else "gloo"
    dist.init_process_group(backend)
    return rank, world, device


def run_train(args) -> int:
    rank, world, device = _setup_distributed(args.device)
    if device.type == "cpu":
        keep_freed_memory()
    out = Path(args.out)
    resume = args.resume and (out / "trainer_state.json").is_file()
    online = getattr(args, "online_seed", None)
    if online is not None:
        scenes = SynthesizedScenes(online, getattr(args, "online_start_key", 1), getattr(args, "realism", None))
    elif args.data:
        scenes = DiskScenes(SketchySceneDataset(args.data, "train"))
    else:
        raise GRMNetError("give --data DIR (a SketchyScene-layout root) or --online-seed N (synthesize on the fly)")
    budget = getattr(args, "time_budget", None)
    if resume:
        model, cfg, vocab, _ = load_model(out, "cpu")
        state = json.loads((out / "trainer_state.json").read_text())
        start = int(state["step"])
        spent = float(state.get("seconds", 0.0))
        init_from = state.get("init")
    else:
        cfg = GRMNetConfig.load(args.config) if args.config else GRMNetConfig()
        if args.init:
            model, init_cfg, vocab, _ = load_model(args.init, "cpu")
            # fine-tuning may change the input size / budget, never the architecture
            init_cfg.input_size = cfg.input_size
            for f in ("max_iters", "lr", "batch_size", "expressions_per_image", "warmup_iters", "checkpoint_every",
                      "augment", "frozen_parts", "free_share"):
                setattr(init_cfg.training, f, getattr(cfg.training, f))
            # proposal / RoI sampling sizes only shape training (inference uses its own *_test sizes)
            for f in ("rpn_pre_nms_top_n_train", "rpn_post_nms_top_n_train", "rpn_batch_size_per_image",
                      "roi_batch_size_per_image", "roi_positive_fraction"):
                setattr(init_cfg, f, getattr(cfg, f))
            if cfg.mask_roi_size != init_cfg.mask_roi_size:   # no parameter depends on it: same tensors, new grid
                init_cfg.mask_roi_size = cfg.mask_roi_size
                state = model.state_dict()
                model = GRMNet(init_cfg, len(vocab))
                model.load_state_dict(state)
            cfg = init_cfg
        elif getattr(args, "init_matching", None):
            # another architecture (e.g. a new backbone): every tensor whose name and shape match is copied
            source, _, vocab, weights = load_model(args.init_matching, "cpu")
            torch.manual_seed(cfg.training.seed)
            model = GRMNet(cfg, len(vocab))
            copied, fresh = copy_matching(model, source.state_dict())
            if rank == 0:
                print(json.dumps({"init_matching": str(weights), "copied": copied, "fresh": fresh}))
        elif getattr(args, "init_parts", None):
            source, _, vocab, weights = load_model(args.init_parts, "cpu")
            torch.manual_seed(cfg.training.seed)
            model = GRMNet(cfg, len(vocab))
            copy_parts(model, source.state_dict(), cfg.training.frozen_parts, weights)
        else:
            vocab = build_vocabulary(scenes)
            torch.manual_seed(cfg.training.seed)
            model = GRMNet(cfg, len(vocab))
        if getattr(args, "backbone_weights", None):
            load_pretrained_body(model.backbone, args.backbone_weights)
        start, spent = 0, 0.0
        init_from = str(args.init or getattr(args, "init_matching", None) or "") or None
    if args.iters is not None:
        cfg.training.max_iters = args.iters
    if isinstance(scenes, SynthesizedScenes):
        scenes.free_share = cfg.training.free_share
    elif cfg.training.free_share > 0:
        raise GRMNetError("training setting free_share needs scenes composed on the fly (--online-seed N): "
                          "scenes read from --data keep the expressions written with them")
    total = cfg.training.max_iters
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        # a fine-tuned run keeps its source's inference settings until `grmnet tune` chooses its own
        source = args.init or getattr(args, "init_matching", None)
        if source and not resume and Path(source).is_dir() and (Path(source) / "inference.json").is_file() \
                and not (out / "inference.json").exists():
            (out / "inference.json").write_text((Path(source) / "inference.json").read_text())
    if device.type == "cuda":   # fixed input size: let cuDNN pick its kernels once; TF32 is plenty here
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    freeze_parts(model, cfg.training.frozen_parts)
    model.use_bf16(resolve_amp(getattr(args, "amp", "off"), device) == "bf16")   # dense convolutions only
    model.to(device).train()
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.training.lr,
                            weight_decay=cfg.training.weight_decay)
    if resume and (out / "optimizer.safetensors").is_file():
        _load_optimizer(opt, out / "optimizer.safetensors")
    images_per_step = max(1, cfg.training.batch_size // cfg.training.expressions_per_image)
    workers = args.workers if args.workers is not None else (1 if device.type == "cpu" else 6)
    loader = DataLoader(PairBatches(scenes, vocab, cfg, cfg.training.seed),
                        batch_size=images_per_step,
                        sampler=FromStep(start, stride=world, offset=rank),
                        num_workers=workers, persistent_workers=workers > 0,
                        prefetch_factor=4 if workers > 0 else None, worker_init_fn=_single_threaded,
                        # composing scenes uses OpenCV's thread pool, which a forked worker can inherit locked
                        multiprocessing_context="spawn" if online is not None and workers > 0 else None,
                        collate_fn=functools.partial(collate, vocab=vocab, max_words=cfg.max_words))
    log = open(out / "train_log.jsonl", "a") if rank == 0 else None
    bar = tqdm(total=total, initial=start, disable=rank != 0, dynamic_ncols=True, desc="train")
    t_last, seen, step = time.perf_counter(), 0, start
    t_start = time.perf_counter()

    stop_request = StopRequest().install()

    def progress() -> tuple[float | None, bool]:
        """(share of a wall-clock budget used (None: the schedule follows the step count), whether a stop was
        asked for). Ranks agree on the largest of each, so that they all stop at the same step."""
        used = (spent + time.perf_counter() - t_start) / budget if budget else None
        stop = stop_request.requested
        if world > 1:
            t = torch.tensor([used or 0.0, float(stop)], device=device if dist.get_backend() == "nccl" else "cpu")
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            used, stop = (float(t[0]) if budget else None), bool(t[1])
        return used, stop
    ema: dict[str, float] = {}
    try:
        batches = iter(loader)
        for batch in batches:
            used, stop = progress()
            if step >= total or stop or (used is not None and used >= 1.0):
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg, total, used)
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
                if step % cfg.training.checkpoint_every == 0 or step == total:
                    _checkpoint(model, cfg, vocab, opt, out, step, spent + time.perf_counter() - t_start, init_from)
            if stop_request.requested and world == 1:   # before asking the loader for more (several ranks: above)
                break
    finally:
        stop_request.restore()
        # stop the loader workers now, not at interpreter exit (where spawned workers die with an abort message)
        batches = batch = loader = None
        bar.close()
        if log:
            log.close()
        if world > 1:
            dist.destroy_process_group()
    if rank == 0:
        _checkpoint(model, cfg, vocab, opt, out, step, spent + time.perf_counter() - t_start, init_from)
        if stop_request.requested:
            print(f"stopped at step {step} (signal): checkpoint written; continue with --resume", file=sys.stderr)
        print(json.dumps({"run": str(out), "step": step, "weights": str(out / "model.safetensors")}))
    return 0


def _checkpoint(model, cfg, vocab, opt, out: Path, step: int, seconds: float, init_from: str | None) -> None:
    save_model(_unwrap(model), cfg, vocab, out, metadata={"step": step})
    _save_optimizer(opt, out / "optimizer.safetensors")
    state = {"step": step, "seconds": round(seconds, 1), **({"init": init_from} if init_from else {})}
    atomic_write(out / "trainer_state.json", lambda tmp: Path(tmp).write_text(json.dumps(state)))
