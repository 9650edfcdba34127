"""One typed configuration for GRM-Net, saved as JSON next to the weights.

Defaults are the paper's (BiLSTM, 15 time steps, K = 10 consistency-based 5-d references, absolute
position on, AdamW 2e-4, batch 4) with a light backbone and slim heads that train and run on a laptop CPU.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grmnet.errors import WeightsError

ReferenceMode = Literal["consistency", "distance"]
SHAREABLE_PARTS = ("backbone", "language", "rpn")   # top-level modules that `frozen_parts` may name


@dataclass
class GRMNetConfig:
    # --- input -------------------------------------------------------------------------------------
    input_size: int = 512            # long side after resize; the image is padded to a square
    # --- backbone + FPN ----------------------------------------------------------------------------
    backbone: str = "mobilenet_v3_large"   # or resnet18 / resnet50 / resnet101 (GPU runs)
    fpn_channels: int = 64
    norm: str = "group"              # group (from scratch, small batches) or batch
    # --- language model ----------------------------------------------------------------------------
    max_words: int = 15              # LSTM time steps
    word_dim: int = 128
    lstm_hidden: int = 128           # per direction
    bidirectional: bool = True
    lang_dim: int = 128              # sentence feature fused into RPN and RoI heads
    gated_fusion: bool = False       # add FiLM-style channel gating to the paper's concat fusion
    # --- fused RPN ("rough filtering") -------------------------------------------------------------
    anchor_sizes: tuple[tuple[int, ...], ...] = ((20, 32), (48, 72), (96, 144), (200, 300))
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    rpn_pre_nms_top_n_train: int = 1000
    rpn_post_nms_top_n_train: int = 300
    rpn_pre_nms_top_n_test: int = 300
    rpn_post_nms_top_n_test: int = 100
    rpn_nms_thresh: float = 0.7
    rpn_batch_size_per_image: int = 128
    # --- Global Reference Mechanism -----------------------------------------------------------------
    num_references: int = 10         # K; 0 disables GRM
    reference_mode: ReferenceMode = "consistency"
    reference_dim: int = 5           # 5-d [dx_tl/w, dy_tl/h, dx_br/w, dy_br/h, area ratio] or 3-d centre offsets
    absolute_position: bool = True
    # --- RoI heads ("fine filtering") --------------------------------------------------------------
    num_classes: int = 26            # 25 categories + background (= "not referred")
    box_head_dim: int = 256
    mask_head_channels: int = 64
    roi_batch_size_per_image: int = 128
    roi_positive_fraction: float = 0.25
    box_score_thresh: float = 0.05
    box_nms_thresh: float = 0.5
    detections_per_img: int = 30
    # --- prediction --------------------------------------------------------------------------------
    score_threshold: float = 0.5     # default threshold for returned instances
    count_floor: float | None = None   # with a stated count ("the two cats"), fill it down to this score (None: off)
    count_nouns: bool = False          # with count_floor: a singular head noun means one target, a plural two or more
    ink_threshold: int = 128         # grey < this is ink (SketchyScene convention)
    mask_threshold: float = 0.5      # region = pasted mask probability above this
    ink_margin: int = 0              # px (at 750 px) the region grows by before taking its ink
    # --- training ----------------------------------------------------------------------------------
    lr: float = 2e-4
    weight_decay: float = 1e-4
    batch_size: int = 4              # (image, expression) pairs per step
    expressions_per_image: int = 2   # pairs sharing one backbone pass (CPU economy)
    max_iters: int = 20000
    warmup_iters: int = 200
    checkpoint_every: int = 200
    seed: int = 0
    augment: bool = True
    # parts copied from other weights (`--init-parts`) and kept frozen: "backbone", "language", "rpn". The
    # ablation study trains only the heads on features shared by every variant.
    frozen_parts: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, data: dict) -> "GRMNetConfig":
        if "method" in data:
            raise WeightsError(f"these are {data['method']} baseline weights; pass --method {data['method']}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise WeightsError(f"config has unknown fields {unknown}; it was written by another version")
        kwargs = {}
        for k, v in data.items():
            if k == "anchor_sizes":
                v = tuple(tuple(int(s) for s in level) for level in v)
            elif k == "aspect_ratios":
                v = tuple(float(a) for a in v)
            kwargs[k] = v
        cfg = cls(**kwargs)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "GRMNetConfig":
        data = read_config_json(path)
        return cls.from_dict(data)

    def validate(self) -> None:
        if self.reference_mode not in ("consistency", "distance"):
            raise WeightsError(f"reference_mode must be consistency or distance, not {self.reference_mode!r}")
        if self.reference_dim not in (3, 5):
            raise WeightsError(f"reference_dim must be 3 or 5, not {self.reference_dim}")
        if self.num_references < 0:
            raise WeightsError("num_references must be >= 0")
        bad = sorted(set(self.frozen_parts) - set(SHAREABLE_PARTS))
        if bad:
            raise WeightsError(f"frozen_parts {bad} unknown (choose from {', '.join(SHAREABLE_PARTS)})")
        if len(self.anchor_sizes) != 4:
            raise WeightsError("anchor_sizes needs one tuple per FPN level (4)")


def read_config_json(path: str | Path) -> dict:
    """A config file's JSON object, or a WeightsError saying why it cannot be used."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"config {path} is not a JSON object")
    return data


def tiny_config() -> GRMNetConfig:
    """A very small model for tests and smoke runs."""
    return GRMNetConfig(input_size=256, fpn_channels=32, word_dim=32, lstm_hidden=32, lang_dim=32,
                        box_head_dim=64, mask_head_channels=16, rpn_post_nms_top_n_train=100,
                        rpn_post_nms_top_n_test=50, roi_batch_size_per_image=64)
