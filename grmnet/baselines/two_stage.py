"""Two-stage baseline after Zou et al. 2019 ("Language-based colorization of scene sketches", instance
matching module), trained stage by stage as in the original (no joint training).

Stage 1, `InstanceSegmenter`: a language-free Mask R-CNN (torchvision RPN + RoI heads) on the same slim
backbone + FPN family as GRM-Net, trained on ALL instances of a scene with their categories. It runs once per
sketch and its instances are cached with the sketch.
Stage 2, `ReferringSegmenter` (grmnet.baselines.binary): BiLSTM sentence + FPN features -> one binary
"referred" mask.
Selection (`select_instances`): the stage-1 instances scoring >= the threshold whose filled region lies
inside the binary mask for at least `min_overlap` (0.5) of its area, |instance ∩ binary| / |instance|.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import RoIHeads, paste_masks_in_image
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import MultiScaleRoIAlign

from grmnet.baselines.binary import ReferringSegmenter
from grmnet.baselines.common import BaselineConfig, BaselineEngine, BaselineSketch
from grmnet.config import GRMNetConfig
from grmnet.data.categories import category_of_label
from grmnet.results import ReferredInstance
from grmnet.modeling.backbone import build_backbone
from grmnet.modeling.roi_heads import SlimMaskHead, best_category_detections


def select_instances(instance_masks, binary_mask: np.ndarray, min_overlap: float = 0.5) -> list[int]:
    """Indices of the instances whose mask lies inside the binary mask for >= min_overlap of its pixels.

    instance_masks: bool [N, H, W] (or a list of [H, W]); binary_mask: bool [H, W].
    Overlap ratio = |instance ∩ binary| / |instance|; an empty instance mask is never selected.
    """
    binary = np.asarray(binary_mask, dtype=bool)
    if binary.ndim != 2:
        raise ValueError(f"binary_mask must be [H, W], got shape {binary.shape}")
    if len(instance_masks) == 0:
        return []
    masks = np.asarray(instance_masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1:] != binary.shape:
        raise ValueError(f"instance_masks {masks.shape} do not match the binary mask {binary.shape}")
    area = masks.reshape(len(masks), -1).sum(axis=1)
    inside = (masks & binary).reshape(len(masks), -1).sum(axis=1)
    ratio = inside / np.maximum(area, 1)
    return [int(i) for i in np.nonzero((area > 0) & (ratio >= min_overlap))[0]]


class _AgnosticRoIHeads(RoIHeads):
    """torchvision RoI heads whose detections keep one category per box with class-agnostic NMS (as GRM-Net's),
    so that one object cannot come back twice under two category names."""

    def postprocess_detections(self, class_logits, box_regression, proposals, image_shapes):
        return best_category_detections(class_logits, box_regression, proposals, image_shapes, self.box_coder,
                                        self.score_thresh, self.nms_thresh, self.detections_per_img)[:3]


class InstanceSegmenter(nn.Module):
    """Language-free Mask R-CNN. images [B, 3, S, S], image_sizes B x (h, w);
    training: targets B x {boxes, labels, masks} of ALL instances -> losses;
    inference -> B x {boxes, scores, labels, masks [n, 1, 28, 28]} in input pixels."""

    def __init__(self, cfg: GRMNetConfig, detections: int = 50):
        super().__init__()
        c = cfg.fpn_channels
        self.backbone = build_backbone(cfg)
        anchors = AnchorGenerator(cfg.anchor_sizes, (cfg.aspect_ratios,) * len(cfg.anchor_sizes))
        self.rpn = RegionProposalNetwork(
            anchors, RPNHead(c, anchors.num_anchors_per_location()[0]), fg_iou_thresh=0.7, bg_iou_thresh=0.3,
            batch_size_per_image=cfg.rpn_batch_size_per_image, positive_fraction=0.5,
            pre_nms_top_n={"training": cfg.rpn_pre_nms_top_n_train, "testing": cfg.rpn_pre_nms_top_n_test},
            post_nms_top_n={"training": cfg.rpn_post_nms_top_n_train, "testing": cfg.rpn_post_nms_top_n_test},
            nms_thresh=cfg.rpn_nms_thresh)
        levels = ["0", "1", "2", "pool"]
        self.roi_heads = _AgnosticRoIHeads(
            MultiScaleRoIAlign(levels, output_size=7, sampling_ratio=2), TwoMLPHead(c * 7 * 7, cfg.box_head_dim),
            FastRCNNPredictor(cfg.box_head_dim, cfg.num_classes), fg_iou_thresh=0.5, bg_iou_thresh=0.5,
            batch_size_per_image=cfg.roi_batch_size_per_image, positive_fraction=cfg.roi_positive_fraction,
            bbox_reg_weights=None, score_thresh=cfg.box_score_thresh, nms_thresh=cfg.box_nms_thresh,
            detections_per_img=detections,
            mask_roi_pool=MultiScaleRoIAlign(levels, output_size=14, sampling_ratio=2),
            mask_head=SlimMaskHead(c, cfg.mask_head_channels, cfg.num_classes), mask_predictor=nn.Identity())

    def forward(self, images: torch.Tensor, image_sizes: list[tuple[int, int]], targets=None):
        features = self.backbone(images)
        image_list = ImageList(images, [tuple(s) for s in image_sizes])
        proposals, rpn_losses = self.rpn(image_list, features, targets)
        detections, roi_losses = self.roi_heads(features, proposals, image_list.image_sizes, targets)
        if self.training:
            return {**rpn_losses, **roi_losses}
        return detections


class TwoStageModel(nn.Module):
    """segmenter.* = stage 1, matcher.* = stage 2 (the binary baseline's network, same keys)."""

    def __init__(self, cfg: BaselineConfig, vocab_size: int):
        super().__init__()
        self.segmenter = InstanceSegmenter(cfg.model, cfg.stage1_detections)
        self.matcher = ReferringSegmenter(cfg.model, vocab_size, cfg.seg_channels)


class TwoStageEngine(BaselineEngine):
    method = "two-stage"

    def _build(self, cfg: BaselineConfig, vocab_size: int) -> torch.nn.Module:
        return TwoStageModel(cfg, vocab_size)

    def _encode_features(self, sketch: BaselineSketch) -> None:
        """Both stages' language-free work: stage-1 instances (pasted at full resolution) + stage-2 features."""
        t0 = time.perf_counter()
        image = sketch.inputs.tensor[None].to(self.device)
        out = self.model.segmenter(image, [sketch.inputs.size])[0]
        t1 = time.perf_counter()
        sketch.features = self.model.matcher.encode_images(image)
        t2 = time.perf_counter()
        sketch.detections = []
        if len(out["boxes"]):
            boxes = sketch.inputs.to_original(out["boxes"])
            regions = paste_masks_in_image(out["masks"], boxes, sketch.grey.shape, padding=1)[:, 0] > 0.5
            for region, box, score, label in zip(regions.cpu().numpy(), boxes.tolist(), out["scores"].tolist(),
                                                 out["labels"].tolist()):
                ink = region & sketch.ink
                if not ink.any():
                    continue  # a region over blank paper selects nothing an artist could edit
                sketch.detections.append({"region": region, "ink": ink, "box": box, "score": float(score),
                                          "category": category_of_label(int(label))})
        self.last_stages_ms = {"stage1": round((t1 - t0) * 1e3, 2), "stage2_backbone": round((t2 - t1) * 1e3, 2)}

    def _instances(self, sketch: BaselineSketch, expression: str, threshold: float) -> list[ReferredInstance]:
        start = time.perf_counter()
        binary = self.referred_probability(sketch, expression) >= self.bcfg.mask_threshold
        t_binary = time.perf_counter()
        candidates = [d for d in sketch.detections or [] if d["score"] >= threshold]
        chosen = select_instances([d["region"] for d in candidates], binary, self.bcfg.min_overlap)
        instances = [ReferredInstance(candidates[i]["category"], candidates[i]["score"], tuple(candidates[i]["box"]),
                                      candidates[i]["ink"], candidates[i]["region"]) for i in chosen]
        self.last_stages_ms.update({"language+binary_mask": round((t_binary - start) * 1e3, 2),
                                    "selection": round((time.perf_counter() - t_binary) * 1e3, 2)})
        return instances
