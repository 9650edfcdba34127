"""What the two baselines share: their config, weights on disk and the Predictor-like engine around them.

Weights use the main model's layout (`model.safetensors` + `config.json` + `vocab.txt` in a run directory,
never pickle). `config.json` of a baseline is a `BaselineConfig`: the method name, the baseline's own fields and,
under "model", a full `GRMNetConfig` whose backbone / language / RPN / RoI fields build the baseline's parts,
so that a baseline and GRM-Net trained from the same config share the backbone family, input size and budget.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from grmnet.config import GRMNetConfig, read_config_json
from grmnet.data.categories import singular
from grmnet.engine import SketchEngine
from grmnet.errors import NoWeightsError, WeightsError
from grmnet.imaging import ModelInput, ink_mask, model_input
from grmnet.modeling.language import Vocabulary
from grmnet.results import ReferredInstance, ReferringResult, Understanding, label_instances
from grmnet.runtime import AdaptiveThreads, resolve_device
from grmnet.selection import understand
from grmnet.files import atomic_write
from grmnet.weights import CONFIG_NAME, VOCAB_NAME, WEIGHTS_NAME, load_state_strict, resolve_weights

METHODS = ("two-stage", "binary")


@dataclass
class BaselineConfig:
    method: str = "binary"               # "two-stage" | "binary"
    seg_channels: int = 64               # width of the language-conditioned binary segmentation decoder
    mask_threshold: float = 0.5          # per-pixel probability above which a pixel is "referred"
    min_overlap: float = 0.5             # two-stage: |instance ∩ binary| / |instance| needed to be returned
    stage1_detections: int = 50          # two-stage: instances kept by the language-free segmenter
    dice_weight: float = 1.0             # binary loss = BCE + dice_weight * dice
    score_threshold: float = 0.5         # default threshold of returned instances
    model: GRMNetConfig = field(default_factory=GRMNetConfig)

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        data["model"] = dataclasses.asdict(self.model)
        return json.dumps(data, indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, data: dict) -> "BaselineConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WeightsError(f"baseline config has unknown fields {unknown}")
        kwargs = dict(data)
        kwargs["model"] = GRMNetConfig.from_dict(data.get("model", {}))
        cfg = cls(**kwargs)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path, method: str | None = None) -> "BaselineConfig":
        """A baseline config, or a plain GRM-Net config (its shared fields; baseline fields at defaults)."""
        data = read_config_json(path)
        if "method" not in data:
            data = {"model": data}
            if method:
                data["method"] = method
        return cls.from_dict(data)

    def validate(self) -> None:
        if self.method not in METHODS:
            raise WeightsError(f"baseline method must be one of {METHODS}, not {self.method!r}")
        if not 0.0 < self.min_overlap <= 1.0:
            raise WeightsError("min_overlap must lie in (0, 1]")
        if not 0.0 < self.mask_threshold < 1.0:
            raise WeightsError("mask_threshold must lie in (0, 1)")
        self.model.validate()


# ---- weights ------------------------------------------------------------------------------------------

def save_baseline(model: torch.nn.Module, cfg: BaselineConfig, vocab: Vocabulary, out: str | os.PathLike,
                  metadata: dict | None = None) -> Path:
    """out/model.safetensors + config.json + vocab.txt, each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = model.module if hasattr(model, "module") else model
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "grmnet-baseline", "method": cfg.method, **{k: str(v) for k, v in (metadata or {}).items()}}
    atomic_write(out / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata=meta))
    atomic_write(out / CONFIG_NAME, lambda tmp: Path(tmp).write_text(cfg.to_json()))
    atomic_write(out / VOCAB_NAME, lambda tmp: Path(tmp).write_text("\n".join(vocab.to_lines()) + "\n"))
    return out / WEIGHTS_NAME


def read_baseline_files(path, method: str | None = None) -> tuple[BaselineConfig, Vocabulary, dict, Path]:
    """config, vocabulary and raw state dict of baseline weights (run dir or .safetensors)."""
    if path is None:
        raise NoWeightsError(f"the {method or 'baseline'} method has no shipped weights; train one with "
                             f"`grmnet train-baseline --method {method or 'METHOD'} --data DATA --out RUN` "
                             "and pass --weights RUN")
    weights = resolve_weights(path)
    folder = weights.parent if (weights.parent / CONFIG_NAME).is_file() else weights.parent.parent
    try:
        data = json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{weights}: config.json is missing or unreadable beside the weights ({exc})") from exc
    if not isinstance(data, dict) or "method" not in data:
        raise WeightsError(f"{weights}: these are GRM-Net weights, not a baseline's (use --method grmnet)")
    cfg = BaselineConfig.from_dict(data)
    if method is not None and cfg.method != method:
        raise WeightsError(f"{weights}: these are {cfg.method} baseline weights, not {method} "
                           f"(use --method {cfg.method})")
    try:
        vocab = Vocabulary.from_lines((folder / VOCAB_NAME).read_text().splitlines())
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{weights}: bad or missing vocabulary: {exc}") from exc
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{weights}: corrupt or unreadable safetensors file ({exc})") from exc
    return cfg, vocab, state, weights


# ---- engine -------------------------------------------------------------------------------------------

@dataclass
class BaselineSketch:
    """Everything about one sketch that does not depend on the expression (cached per sketch)."""
    grey: np.ndarray                  # [H, W] uint8
    ink: np.ndarray                   # [H, W] bool
    inputs: ModelInput
    features: list[torch.Tensor]      # image half of the binary segmenter's fusion, per FPN level
    detections: list[dict] | None = None   # two-stage: stage-1 instances (language-free)


class BaselineEngine(SketchEngine):
    """A comparison method as a referring engine (grmnet.engine). Subclasses set `method`, build their model in
    `_build` and implement `_encode_features` and `_instances`. A baseline applies no count rule: it returns
    every instance it finds scored at least the threshold."""

    method = ""

    def __init__(self, weights=None, device: str | None = "cpu", threshold: float | None = None,
                 cache_size: int = 4, threads: int | None = None):
        super().__init__(cache_size)
        self.device = resolve_device(device)
        self.threads = AdaptiveThreads(threads) if self.device.type == "cpu" else None
        self.bcfg, self.vocab, state, self.weights_path = read_baseline_files(weights, self.method)
        self.cfg = self.bcfg.model
        self.model = self._build(self.bcfg, len(self.vocab))
        load_state_strict(self.model, state, self.weights_path)
        self.model.to(self.device).eval()
        self.threshold = self.bcfg.score_threshold if threshold is None else float(threshold)

    def _build(self, cfg: BaselineConfig, vocab_size: int) -> torch.nn.Module:
        raise NotImplementedError

    def understand(self, expression: str) -> Understanding:
        seen = understand(expression, count_nouns=False)
        return Understanding(seen.category, None, seen.categories)   # no count rule: the count is not used

    @torch.inference_mode()
    def _encode_grey(self, grey: np.ndarray) -> BaselineSketch:
        sketch = BaselineSketch(grey, ink_mask(grey), model_input(grey, self.cfg.input_size), [])
        self._encode_features(sketch)
        return sketch

    def _encode_features(self, sketch: BaselineSketch) -> None:
        raise NotImplementedError

    @torch.inference_mode()
    def refer(self, sketch: BaselineSketch, expression: str, threshold: float | None = None, *,
              with_candidates: bool = False) -> ReferringResult:
        """Every instance of the method scored >= threshold (with_candidates: also those below it)."""
        unknown = self.check_expression(expression)
        thr = self.threshold if threshold is None else float(threshold)
        start = time.perf_counter()
        with self.thread_stage("heads"):
            found = sorted(self._instances(sketch, expression, 0.0 if with_candidates else thr),
                           key=lambda i: -i.score)
        chosen = [i for i, inst in enumerate(found) if inst.score >= thr]
        returned = label_instances([found[i] for i in chosen], singular)
        candidates = list(found) if with_candidates else []
        for i, inst in zip(chosen, returned):
            if with_candidates:
                candidates[i] = inst
        latency = round((time.perf_counter() - start) * 1e3, 2)
        return ReferringResult(expression, returned, candidates, self.understand(expression), tuple(unknown), latency)

    def _instances(self, sketch: BaselineSketch, expression: str, threshold: float) -> list[ReferredInstance]:
        """The method's (unlabelled) instances scored >= threshold, timing its stages into last_stages_ms."""
        raise NotImplementedError

    # ---- the language-conditioned binary mask, shared by both methods --------------------------------
    @torch.inference_mode()
    def referred_probability(self, sketch: BaselineSketch, expression: str) -> np.ndarray:
        """Per-pixel probability [H, W] (float32, original resolution) that the expression refers to it."""
        tokens, lengths = self.vocab.encode_batch([expression], self.cfg.max_words)
        logits = self.model.matcher.refer(sketch.features, tokens.to(self.device), lengths.to(self.device))
        return probability_map(logits[0, 0], sketch.inputs)


def probability_map(logits: torch.Tensor, inputs: ModelInput) -> np.ndarray:
    """logits [h, w] over the padded square input -> sigmoid probabilities at the original resolution."""
    s = inputs.tensor.shape[-1]
    up = F.interpolate(logits[None, None].float(), size=(s, s), mode="bilinear", align_corners=False)
    nh, nw = inputs.size
    crop = up[..., :nh, :nw]
    full = F.interpolate(crop, size=inputs.original_size, mode="bilinear", align_corners=False)
    return full[0, 0].sigmoid().cpu().numpy()
