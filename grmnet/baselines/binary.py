"""Binary referring segmentation baseline (the paper's DMN / CMSA / CMPC / CEFNet row).

One language-conditioned binary mask per expression: the referred instances are merged into a single
target when training and the prediction is evaluated as a single instance, exactly the paper's protocol
for these methods. The same network is stage 2 of the two-stage baseline.

Network (`ReferringSegmenter`, in the spirit of RMI-style multimodal fusion): backbone + FPN (the GRM-Net
family, from scratch), BiLSTM sentence feature; on each of the three finest FPN levels (strides 8, 16, 32)
concat(feature, 2 normalised coordinate maps, tiled sentence) -> 1x1 conv -> ReLU, computed as
conv(image) + linear(sentence) so that the image half is cached per sketch; a top-down decoder (upsample +
add + 3x3 conv) and a 1x1 conv give "referred" logits at stride 8, upsampled bilinearly to the input.
Loss: BCE + dice against the union of the targets' filled region masks.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from grmnet.baselines.common import BaselineConfig, BaselineEngine, BaselineSketch
from grmnet.config import GRMNetConfig
from grmnet.data.categories import category_of_noun
from grmnet.masks import mask_bbox
from grmnet.results import ReferredInstance
from grmnet.modeling.backbone import build_backbone
from grmnet.modeling.language import LanguageEncoder, tokenize

LEVELS = 3   # FPN levels "0", "1", "2" (strides 8, 16, 32); the pooled level is too coarse for masks


def coordinate_maps(feature: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, 2, H, W]: x and y in [-1, 1] (the spatial features of referring segmentation)."""
    b, _, h, w = feature.shape
    ys = torch.linspace(-1, 1, h, device=feature.device, dtype=feature.dtype)
    xs = torch.linspace(-1, 1, w, device=feature.device, dtype=feature.dtype)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1])      # [2, H, W]: x, y
    return grid.expand(b, -1, -1, -1)


class ReferringSegmenter(nn.Module):
    """images [B, 3, S, S] + one expression per pair -> referred logits [P, 1, S/8, S/8]."""

    def __init__(self, cfg: GRMNetConfig, vocab_size: int, channels: int = 64):
        super().__init__()
        self.language = LanguageEncoder(vocab_size, cfg.word_dim, cfg.lstm_hidden, cfg.lang_dim, cfg.bidirectional)
        self.backbone = build_backbone(cfg)
        self.image_convs = nn.ModuleList(nn.Conv2d(cfg.fpn_channels + 2, channels, 1) for _ in range(LEVELS))
        self.sentence_linears = nn.ModuleList(nn.Linear(cfg.lang_dim, channels, bias=False) for _ in range(LEVELS))
        self.refine = nn.ModuleList(nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True))
                                    for _ in range(LEVELS))
        self.head = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, 1, 1))

    def encode_images(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Language-independent half: per level [B, channels, H, W] (cacheable per sketch)."""
        feats = list(self.backbone(images).values())[:LEVELS]
        return [conv(torch.cat([f, coordinate_maps(f)], dim=1)) for conv, f in zip(self.image_convs, feats)]

    def refer(self, parts: list[torch.Tensor], tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """parts: per level [P, C, H, W] (one entry per expression, or B = 1 broadcast); tokens [P, T]."""
        sentence = self.language(tokens, lengths)
        x = None
        for level in reversed(range(LEVELS)):
            fused = torch.relu(parts[level] + self.sentence_linears[level](sentence)[:, :, None, None])
            if x is not None:
                fused = fused + F.interpolate(x, size=fused.shape[-2:], mode="bilinear", align_corners=False)
            x = self.refine[level](fused)
        return self.head(x)

    def forward(self, images: torch.Tensor, pair_image: torch.Tensor, tokens: torch.Tensor,
                lengths: torch.Tensor) -> torch.Tensor:
        parts = [p[pair_image] for p in self.encode_images(images)]
        return self.refer(parts, tokens, lengths)


def referred_targets(targets: list[dict[str, torch.Tensor]], size: int, device=None) -> torch.Tensor:
    """Union of each pair's target masks [n, S, S] -> float [P, S, S] (all zero for a no-target pair)."""
    out = torch.zeros((len(targets), size, size), device=device)
    for i, t in enumerate(targets):
        if len(t["masks"]):
            out[i] = t["masks"].to(device).bool().any(dim=0).float()
    return out


def binary_losses(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """logits [P, 1, h, w] (upsampled here to the target's [P, S, S]) -> BCE and soft dice."""
    up = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    bce = F.binary_cross_entropy_with_logits(up, target)
    prob = up.sigmoid()
    inter = (prob * target).sum(dim=(1, 2))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2)) + target.sum(dim=(1, 2)) + 1)
    return {"loss_bce": bce, "loss_dice": dice_weight * dice.mean()}


class BinaryModel(nn.Module):
    """Container whose state dict keys ("matcher.*") are those of the two-stage model's stage 2."""

    def __init__(self, cfg: BaselineConfig, vocab_size: int):
        super().__init__()
        self.matcher = ReferringSegmenter(cfg.model, vocab_size, cfg.seg_channels)


def category_of_expression(expression: str) -> str:
    """Category of the first category noun of the expression (its head noun), else "others"."""
    for word in tokenize(expression):
        category = category_of_noun(word)
        if category is not None:
            return category
    return "others"


class BinaryEngine(BaselineEngine):
    """Returns at most ONE instance per expression: the binary mask ∩ ink, scored by its mean probability."""

    method = "binary"

    def _build(self, cfg: BaselineConfig, vocab_size: int) -> torch.nn.Module:
        return BinaryModel(cfg, vocab_size)

    def _encode_features(self, sketch: BaselineSketch) -> None:
        t0 = time.perf_counter()
        sketch.features = self.model.matcher.encode_images(sketch.inputs.tensor[None].to(self.device))
        self.last_stages_ms = {"backbone": round((time.perf_counter() - t0) * 1e3, 2)}

    def _instances(self, sketch: BaselineSketch, expression: str, threshold: float) -> list[ReferredInstance]:
        start = time.perf_counter()
        prob = self.referred_probability(sketch, expression)
        instances = binary_instances(prob, sketch.ink, self.bcfg.mask_threshold, threshold,
                                     category_of_expression(expression))
        self.last_stages_ms.update({"language+binary_mask": round((time.perf_counter() - start) * 1e3, 2)})
        return instances


def binary_instances(prob: np.ndarray, ink: np.ndarray, mask_threshold: float, score_threshold: float,
                     category: str) -> list[ReferredInstance]:
    """The single merged instance of a probability map (or none when its ink is empty / score too low)."""
    region = prob >= mask_threshold
    selected_ink = region & ink
    if not selected_ink.any():
        return []
    score = float(prob[region].mean())
    if score < score_threshold:
        return []
    x, y, w, h = mask_bbox(selected_ink)
    return [ReferredInstance(category, score, (x, y, x + w, y + h), selected_ink, region)]
