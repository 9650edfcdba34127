"""RPN with the sentence fused in ("rough filtering"): only referred instances are positives."""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead, concat_box_prediction_layers

from grmnet.config import GRMNetConfig


class SentenceFusion(nn.Module):
    """concat(feature map, sentence tiled over it) -> 1x1 conv -> ReLU.

    A 1x1 conv over the concatenation equals conv(feature) + linear(sentence) broadcast over the map, so it is
    computed that way: the image half runs once per image and is shared by every expression on it.
    image_part: [B, C, H, W] -> [B, C, H, W];  fuse: ([P, C, H, W], sentence [P, L]) -> [P, C, H, W]
    """

    def __init__(self, channels: int, lang_dim: int, gated: bool = False):
        super().__init__()
        self.image_conv = nn.Conv2d(channels, channels, 1)
        self.sentence_linear = nn.Linear(lang_dim, channels, bias=False)
        # optional FiLM-style channel scaling on top of the concat term (see roi_heads.FusedFeature)
        self.sentence_gate = nn.Linear(lang_dim, channels) if gated else None

    def image_part(self, feature: torch.Tensor) -> torch.Tensor:
        return self.image_conv(feature)

    def fuse(self, image_part: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        if self.sentence_gate is not None:
            image_part = image_part * (1 + torch.tanh(self.sentence_gate(sentence)))[:, :, None, None]
        return torch.relu(image_part + self.sentence_linear(sentence)[:, :, None, None])


class FusedRPN(RegionProposalNetwork):
    """torchvision's RPN over sentence-fused FPN maps; also returns each proposal's positive probability,
    which the Global Reference Mechanism ranks references by."""

    def __init__(self, cfg: GRMNetConfig):
        anchors = AnchorGenerator(cfg.anchor_sizes, (cfg.aspect_ratios,) * len(cfg.anchor_sizes))
        head = RPNHead(cfg.fpn_channels, anchors.num_anchors_per_location()[0])
        super().__init__(anchors, head, fg_iou_thresh=0.7, bg_iou_thresh=0.3,
                         batch_size_per_image=cfg.rpn_batch_size_per_image, positive_fraction=0.5,
                         pre_nms_top_n={"training": cfg.rpn_pre_nms_top_n_train, "testing": cfg.rpn_pre_nms_top_n_test},
                         post_nms_top_n={"training": cfg.rpn_post_nms_top_n_train, "testing": cfg.rpn_post_nms_top_n_test},
                         nms_thresh=cfg.rpn_nms_thresh)
        self.fusion = nn.ModuleDict({str(i): SentenceFusion(cfg.fpn_channels, cfg.lang_dim, cfg.gated_fusion)
                                     for i in range(len(cfg.anchor_sizes))})

    def anchors(self, images: ImageList, feature_maps: list[torch.Tensor]) -> list[torch.Tensor]:
        """The anchor generator's anchors, one [A, 4] per image, remembered for the last input layout: they depend
        only on the padded input size and the feature-map sizes, and regenerating them cost several ms of every
        query on a cached sketch."""
        key = (tuple(images.tensors.shape[-2:]), tuple(tuple(f.shape[-2:]) for f in feature_maps),
               feature_maps[0].dtype, feature_maps[0].device)
        memo = self._anchor_memo               # one attribute, replaced whole: safe if two threads query at once
        if memo is None or memo[0] != key:
            one = ImageList(images.tensors[:1], images.image_sizes[:1])
            memo = self._anchor_memo = (key, self.anchor_generator(one, [f[:1] for f in feature_maps])[0])
        return [memo[1]] * len(images.image_sizes)

    _anchor_memo: tuple[tuple, torch.Tensor] | None = None

    def image_parts(self, features: "OrderedDict[str, torch.Tensor]") -> list[torch.Tensor]:
        """Language-independent half of the fusion, per level: cacheable per image."""
        return [self.fusion[str(i)].image_part(f) for i, f in enumerate(features.values())]

    def forward(self, images: ImageList, image_parts: list[torch.Tensor], sentence: torch.Tensor,
                targets: list[dict[str, torch.Tensor]] | None = None
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], dict[str, torch.Tensor]]:
        """images: P padded inputs (only sizes are used); image_parts: per level [P, C, H, W]; sentence [P, L]
        -> proposals P x [n, 4], positive probabilities P x [n], losses."""
        fused = [self.fusion[str(i)].fuse(part, sentence) for i, part in enumerate(image_parts)]
        objectness, deltas = self.head(fused)
        anchors = self.anchors(images, fused)
        num_anchors_per_level = [o[0].numel() for o in objectness]
        objectness, deltas = concat_box_prediction_layers(objectness, deltas)
        proposals = self.box_coder.decode(deltas.detach(), anchors).view(len(anchors), -1, 4)
        boxes, scores = self.filter_proposals(proposals, objectness, images.image_sizes, num_anchors_per_level)
        losses: dict[str, torch.Tensor] = {}
        if self.training:
            assert targets is not None
            labels, matched_gt_boxes = self.assign_targets_to_anchors(anchors, targets)
            regression_targets = self.box_coder.encode(matched_gt_boxes, anchors)
            loss_objectness, loss_box = self.compute_loss(objectness, deltas, labels, regression_targets)
            losses = {"loss_rpn_objectness": loss_objectness, "loss_rpn_box": loss_box}
        return boxes, scores, losses
