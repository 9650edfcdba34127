"""GRM-Net: Mask R-CNN whose RPN and RoI heads are conditioned on a referring expression, plus the
Global Reference Mechanism (Ling, Mo, Gao, PG 2022)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models.detection.image_list import ImageList

from grmnet.config import GRMNetConfig
from grmnet.modeling.backbone import build_backbone
from grmnet.modeling.language import build_language_encoder
from grmnet.modeling.roi_heads import FusedRoIHeads
from grmnet.modeling.rpn import FusedRPN


@dataclass
class ImageFeatures:
    """Language-independent features of a batch of images: what the predictor caches per sketch."""
    features: dict[str, torch.Tensor]     # FPN levels, [B, C, H, W]
    rpn_parts: list[torch.Tensor]         # image half of the RPN fusion per level, [B, C, H, W]
    input_shape: tuple[int, int]          # padded input (S, S)

    def select(self, index: torch.Tensor) -> "ImageFeatures":
        """Features of the image behind each (image, expression) pair: index [P] -> batch P."""
        return ImageFeatures({k: v[index] for k, v in self.features.items()},
                             [p[index] for p in self.rpn_parts], self.input_shape)


def _fp32_under_autocast(m: nn.Module) -> bool:
    """Depthwise convolutions and GroupNorm: slower in bf16 than in fp32 on CPU (see GRMNet.use_bf16)."""
    if isinstance(m, nn.GroupNorm):
        return True
    return isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels == m.out_channels


def _forward_fp32(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The module's own forward on fp32 input with autocast off (the next bf16 layer casts its input back)."""
    with torch.autocast(x.device.type, enabled=False):
        return type(module).forward(module, x.float())


class GRMNet(nn.Module):
    def __init__(self, cfg: GRMNetConfig, vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.language = build_language_encoder(cfg.language_model, vocab_size, cfg.word_dim, cfg.lstm_hidden,
                                               cfg.lang_dim, cfg.bidirectional, cfg.max_words)
        self.backbone = build_backbone(cfg)
        self.rpn = FusedRPN(cfg)
        self.roi_heads = FusedRoIHeads(cfg)

    def use_bf16(self, on: bool = True) -> "GRMNet":
        """Run the dense convolutions (backbone + FPN, mask head) in bf16 autocast with channels_last: 2-3x on
        AMX CPUs and on GPUs. Everything else (language, box coding, GRM geometry, losses) stays fp32, so boxes
        keep full precision. Off (the default) is fp32 everywhere, right on any CPU.

        Inside the backbone, the depthwise convolutions and the GroupNorms run in fp32 even then (channels_last,
        outside autocast): oneDNN's bf16 kernels for them are several times slower than fp32 on CPU (measured on
        the mobilenet_v3_large backbone, forward + backward: 2.7 s in bf16 -> 1.0 s, one thread), and fp32 is
        only more precise. The 1x1 and full convolutions, where AMX pays, stay bf16."""
        self.roi_heads.dense_bf16 = on
        self.dense_bf16 = on
        for m in self.backbone.modules():
            if _fp32_under_autocast(m):
                if on:
                    m.forward = functools.partial(_forward_fp32, m)
                else:
                    m.__dict__.pop("forward", None)
        return self.to(memory_format=torch.channels_last if on else torch.contiguous_format)

    dense_bf16 = False

    def encode_images(self, images: torch.Tensor) -> ImageFeatures:
        """images [B, 3, S, S] -> ImageFeatures"""
        if self.dense_bf16:
            with torch.autocast(images.device.type, dtype=torch.bfloat16):
                features = self.backbone(images.contiguous(memory_format=torch.channels_last))
            features = type(features)((k, v.float()) for k, v in features.items())
        else:
            features = self.backbone(images)
        return ImageFeatures(features, self.rpn.image_parts(features), tuple(images.shape[-2:]))

    def refer(self, encoded: ImageFeatures, image_sizes: list[tuple[int, int]], tokens: torch.Tensor,
              lengths: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None,
              feature_index: torch.Tensor | None = None, min_referred: float = 0.0):
        """One expression per entry of `encoded` (already selected per pair), or, with `feature_index` [P], per
        pair of `encoded`'s RPN parts while its FPN features stay per image (feature_index: each pair's image).

        tokens [P, T], lengths [P], image_sizes P x (h, w) of the unpadded input;
        targets P x {boxes [n, 4], labels [n], masks [n, S, S]} of the REFERRED instances only.
        Training -> dict of losses; inference -> P x {boxes, scores, labels, masks [n, 1, M, M]} in input pixels
        (M = 2 * mask_roi_size), only the detections whose probability of being referred reaches min_referred
        (see FusedRoIHeads.forward).
        """
        sentence = self.language(tokens, lengths)
        s_h, s_w = encoded.input_shape
        p = tokens.shape[0]
        dummy = encoded.rpn_parts[0].new_empty((1, 1, s_h, s_w)).expand(p, 1, s_h, s_w)  # shape carrier only
        images = ImageList(dummy, image_sizes)
        proposals, rpn_scores, rpn_losses = self.rpn(images, encoded.rpn_parts, sentence, targets)
        out = self.roi_heads(encoded.features, proposals, image_sizes, sentence, rpn_scores, (s_h, s_w), targets,
                             feature_index, min_referred)
        if self.training:
            return {**rpn_losses, **out}
        return out

    def forward(self, images: torch.Tensor, image_sizes: list[tuple[int, int]], pair_image: torch.Tensor,
                tokens: torch.Tensor, lengths: torch.Tensor, targets=None):
        """images [B, 3, S, S]; pair_image [P] index of each pair's image; see refer()."""
        encoded = self.encode_images(images)
        # the RPN fuses each expression into its own copy of the image's maps; the RoI heads pool straight from
        # the image's features (no per-pair copy of the FPN maps)
        per_pair = ImageFeatures(encoded.features, [p[pair_image] for p in encoded.rpn_parts], encoded.input_shape)
        sizes = [image_sizes[i] for i in pair_image.tolist()]
        return self.refer(per_pair, sizes, tokens, lengths, targets, feature_index=pair_image)
