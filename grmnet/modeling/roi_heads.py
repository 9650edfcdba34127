"""RoI heads with the sentence and the Global Reference Mechanism fused in ("fine filtering").

Each RoI's pooled feature is concatenated with the tiled sentence feature, its K reference vectors and its
absolute position; the box head classifies it as one of the 25 categories or background, where background
also means "an object the expression does not refer to". Masks are filled regions (the ink mask is
region ∩ ink, taken later at full resolution).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.faster_rcnn import TwoMLPHead
from torchvision.models.detection.roi_heads import RoIHeads, fastrcnn_loss, maskrcnn_inference, maskrcnn_loss
from torchvision.ops import MultiScaleRoIAlign, batched_nms, clip_boxes_to_image, remove_small_boxes, roi_align
from torchvision.ops.poolers import _convert_to_roi_format, _filter_input, _setup_scales

from grmnet.config import GRMNetConfig
from grmnet.modeling.references import absolute_position, reference_vectors, select_references

# Reference offsets are ratios to the candidate's size: bounded so that a sliver box cannot blow up activations.
REFERENCE_CLAMP = 8.0


def roi_align_gather(feature: torch.Tensor, rois: torch.Tensor, output_size: int, spatial_scale: float,
                     sampling_ratio: int) -> torch.Tensor:
    """torchvision's ``roi_align(aligned=False)`` with a fixed ``sampling_ratio`` > 0, as one weighted gather.

    feature [N, C, H, W] (any memory format), rois [R, 5] (image index, x0, y0, x1, y1) -> [R, C, s, s].
    Each output bin is the mean of sampling_ratio^2 bilinear samples, i.e. a weighted sum of 4 * sr^2 feature
    vectors: ``F.embedding_bag`` over the [N * H * W, C] view of the map computes it (and its gradient) with
    vectorised, multi-threaded kernels, where torchvision's CPU kernel loops over RoIs and bins on one thread.
    The bilinear weights and border rules are torchvision's; only the order of the additions differs."""
    n, c, h, w = feature.shape
    r, p, sr = rois.shape[0], output_size, sampling_ratio
    dtype = feature.dtype
    if r == 0:
        return feature.new_zeros((0, c, p, p))
    rois = rois.to(dtype)
    x0, y0 = rois[:, 1] * spatial_scale, rois[:, 2] * spatial_scale
    roi_w = (rois[:, 3] * spatial_scale - x0).clamp(min=1.0)
    roi_h = (rois[:, 4] * spatial_scale - y0).clamp(min=1.0)
    bin_w, bin_h = roi_w / p, roi_h / p
    cell = torch.arange(p, dtype=dtype, device=feature.device)[None, :, None]
    sub = (torch.arange(sr, dtype=dtype, device=feature.device)[None, None, :] + 0.5) / sr
    ys = y0[:, None, None] + (cell + sub) * bin_h[:, None, None]       # [R, p, sr]
    xs = x0[:, None, None] + (cell + sub) * bin_w[:, None, None]

    def corners(v: torch.Tensor, size: int):
        inside = ((v >= -1.0) & (v <= size)).to(dtype)                    # farther out: the sample is 0
        v = v.clamp(min=0)
        lo = v.floor().long()
        top = lo >= size - 1
        lo = lo.clamp(max=size - 1)
        hi = torch.where(top, lo, lo + 1)
        v = torch.where(top, lo.to(dtype), v)
        frac = v - lo.to(dtype)
        return lo, hi, (1.0 - frac) * inside, frac * inside

    ylo, yhi, wy0, wy1 = corners(ys, h)
    xlo, xhi, wx0, wx1 = corners(xs, w)
    base = (rois[:, 0].long() * (h * w))[:, None, None, None, None]

    def at(yi, xi):   # [R, p(y), p(x), sr(y), sr(x)]
        return base + yi[:, :, None, :, None] * w + xi[:, None, :, None, :]

    def wt(a, b):
        return a[:, :, None, :, None] * b[:, None, :, None, :]

    index = torch.stack([at(ylo, xlo), at(ylo, xhi), at(yhi, xlo), at(yhi, xhi)], -1).reshape(r * p * p, -1)
    weight = (torch.stack([wt(wy0, wx0), wt(wy0, wx1), wt(wy1, wx0), wt(wy1, wx1)], -1) / (sr * sr)
              ).reshape(r * p * p, -1)
    table = feature.permute(0, 2, 3, 1).reshape(n * h * w, c)   # a view for channels_last maps
    out = F.embedding_bag(index, table, per_sample_weights=weight, mode="sum")
    return out.view(r, p, p, c).permute(0, 3, 1, 2)


class GatherRoIAlign(MultiScaleRoIAlign):
    """torchvision's MultiScaleRoIAlign (same levels, scales, sampling) computed by :func:`roi_align_gather`;
    ``batch_index`` (one per entry of ``boxes``) says which image of ``x`` each box list belongs to, so the
    expressions of one image pool from its features without a per-expression copy of them."""

    def forward(self, x, boxes, image_shapes, batch_index: torch.Tensor | None = None) -> torch.Tensor:
        if batch_index is None and not torch.is_grad_enabled():
            # inference (one image, a few hundred RoIs, no backward): torchvision's kernel is the faster one there
            return self._inference(x, boxes, image_shapes)
        levels_x = _filter_input(x, self.featmap_names)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(levels_x, image_shapes, self.canonical_scale,
                                                         self.canonical_level)
        concat = torch.cat(boxes, dim=0)
        owner = torch.arange(len(boxes), device=concat.device) if batch_index is None else batch_index
        ids = owner.repeat_interleave(torch.tensor([len(b) for b in boxes], device=concat.device))
        rois = torch.cat([ids.to(concat.dtype)[:, None], concat], dim=1)
        size = self.output_size[0]
        if len(levels_x) == 1:
            return roi_align_gather(levels_x[0], rois, size, self.scales[0], self.sampling_ratio)
        levels = self.map_levels(boxes)
        c = levels_x[0].shape[1]
        result = levels_x[0].new_zeros((len(rois), c) + tuple(self.output_size))
        for level, (feature, scale) in enumerate(zip(levels_x, self.scales)):
            idx = torch.where(levels == level)[0]
            result[idx] = roi_align_gather(feature, rois[idx], size, scale, self.sampling_ratio).to(result.dtype)
        return result


    def _inference(self, x, boxes, image_shapes) -> torch.Tensor:
        """torchvision's MultiScaleRoIAlign, except that when every RoI maps to one level (at 384 px input, all
        of them: no box reaches the coarser levels' canonical sizes) that level is pooled straight into the
        output, without the zero-filled result and per-level copy (~1.3 ms of a 30 ms query)."""
        levels_x = _filter_input(x, self.featmap_names)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(levels_x, image_shapes, self.canonical_scale,
                                                         self.canonical_level)
        levels = self.map_levels(boxes)
        if len(levels) and bool((levels == levels[0]).all()):
            level = int(levels[0])
            return roi_align(levels_x[level], _convert_to_roi_format(boxes), self.output_size,
                             spatial_scale=self.scales[level], sampling_ratio=self.sampling_ratio)
        return super().forward(x, boxes, image_shapes)


class RoIContext(nn.Module):
    """Per-RoI context vector: [sentence, K reference vectors, absolute position] -> MLP.

    sentence [R, L], references [R, K, d], absolute [R, 5] -> [R, out_dim]
    """

    def __init__(self, cfg: GRMNetConfig, out_dim: int):
        super().__init__()
        self.use_abs = cfg.absolute_position
        in_dim = cfg.lang_dim + cfg.num_references * cfg.reference_dim + (5 if self.use_abs else 0)
        self.mlp = nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(inplace=True), nn.Linear(out_dim, out_dim))

    def forward(self, sentence: torch.Tensor, references: torch.Tensor, absolute: torch.Tensor) -> torch.Tensor:
        parts = [sentence, references.flatten(1).clamp(-REFERENCE_CLAMP, REFERENCE_CLAMP)]
        if self.use_abs:
            parts.append(absolute)
        return self.mlp(torch.cat(parts, dim=1))


class FusedFeature(nn.Module):
    """concat(RoI feature [R, C, s, s], tiled context [R, D]) -> 1x1 conv -> ReLU, computed as conv + bias.

    With `gated`, the context also scales each channel (FiLM): the same concat term plus a multiplicative one,
    which lets "is this the referred one?" be decided per channel rather than by thresholds on sums.
    """

    def __init__(self, channels: int, context_dim: int, gated: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        self.context = nn.Linear(context_dim, channels, bias=False)
        self.gate = nn.Linear(context_dim, channels) if gated else None

    def forward(self, roi_features: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:
            x = self.conv(roi_features) * (1 + torch.tanh(self.gate(context)))[:, :, None, None]
            return torch.relu(x + self.context(context)[:, :, None, None])
        # the 1x1 conv as one batched matmul with the per-RoI bias (conv bias + context) folded in: the same sums,
        # and faster than a 1x1 convolution over a hundred 7x7 maps on a CPU (2.0 -> 1.2 ms, tools/bench_fusion.py)
        r, c, h, w = roi_features.shape
        bias = (self.conv.bias + self.context(context))[:, :, None]                     # [R, C, 1]
        weight = self.conv.weight.view(self.conv.out_channels, c).to(roi_features.dtype)
        x = torch.baddbmm(bias.to(roi_features.dtype), weight.expand(r, -1, -1), roi_features.reshape(r, c, h * w))
        return x.relu_().view(r, self.conv.out_channels, h, w)      # in place: x is this call's own tensor


class SlimMaskHead(nn.Sequential):
    """[R, C, S, S] -> [R, num_classes, 2S, 2S] mask logits (S = GRMNetConfig.mask_roi_size)."""

    def __init__(self, in_channels: int, channels: int, num_classes: int):
        super().__init__(
            nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(channels, channels, 2, stride=2), nn.ReLU(inplace=True),
            nn.Conv2d(channels, num_classes, 1),
        )


class FusedRoIHeads(RoIHeads):
    """torchvision RoIHeads (sampling, box coding, losses) with GRM + sentence fusion before both heads."""

    def __init__(self, cfg: GRMNetConfig):
        c = cfg.fpn_channels
        box_pool = GatherRoIAlign(["0", "1", "2", "pool"], output_size=7, sampling_ratio=2)
        mask_pool = GatherRoIAlign(["0", "1", "2", "pool"], output_size=cfg.mask_roi_size, sampling_ratio=2)
        box_head = TwoMLPHead(c * 7 * 7, cfg.box_head_dim)
        box_predictor = _BoxPredictor(cfg.box_head_dim, cfg.num_classes)
        super().__init__(box_pool, box_head, box_predictor, fg_iou_thresh=0.5, bg_iou_thresh=0.5,
                         batch_size_per_image=cfg.roi_batch_size_per_image,
                         positive_fraction=cfg.roi_positive_fraction, bbox_reg_weights=None,
                         score_thresh=cfg.box_score_thresh, nms_thresh=cfg.box_nms_thresh,
                         detections_per_img=cfg.detections_per_img,
                         mask_roi_pool=mask_pool,
                         mask_head=SlimMaskHead(c, cfg.mask_head_channels, cfg.num_classes),
                         mask_predictor=nn.Identity())
        self.cfg = cfg
        self.box_context = RoIContext(cfg, 128)
        self.mask_context = RoIContext(cfg, 128)
        self.box_fusion = FusedFeature(c, 128, gated=cfg.gated_fusion)
        self.mask_fusion = FusedFeature(c, 128, gated=cfg.gated_fusion)

    def context_inputs(self, boxes: list[torch.Tensor], rpn_boxes: list[torch.Tensor],
                       rpn_scores: list[torch.Tensor], image_size: tuple[int, int]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """GRM inputs for each pair's RoIs: references [R, K, d] and absolute position [R, 5]."""
        refs, absolute = [], []
        h, w = image_size
        for cand, props, scores in zip(boxes, rpn_boxes, rpn_scores):
            ref_boxes, valid = select_references(cand, props, scores, self.cfg.num_references,
                                                 self.cfg.reference_mode)
            refs.append(reference_vectors(cand, ref_boxes, valid, self.cfg.reference_dim))
            absolute.append(absolute_position(cand, w, h))
        return torch.cat(refs), torch.cat(absolute)

    def _repeat_sentence(self, sentence: torch.Tensor, boxes: list[torch.Tensor]) -> torch.Tensor:
        counts = torch.tensor([len(b) for b in boxes], device=sentence.device)
        return sentence.repeat_interleave(counts, dim=0)

    def forward(self, features, proposals, image_sizes, sentence, rpn_scores, padded_size, targets=None,
                feature_index: torch.Tensor | None = None, min_referred: float = 0.0):
        """features: dict of [P, C, H, W] (or of [B, C, H, W] with ``feature_index`` [P]: the image of each pair);
        proposals / rpn_scores: P x [n, 4] / [n]; sentence [P, L].

        Training returns losses; inference returns P lists of dicts(boxes, labels, scores, masks [n, 1, M, M],
        M = 2 * mask_roi_size,
        class_probs [n, classes]). min_referred (inference): only detections whose probability of being referred
        at all (1 - class_probs[:, 0]) reaches it are kept; no score a caller can give a detection (its best
        category's probability, or a sum over a few categories) is above that, so a caller that cannot use
        candidates below a score skips their masks (the mask head is most of the per-detection cost).
        """
        rpn_boxes = [p.detach() for p in proposals]
        if self.training:
            proposals, matched_idxs, labels, regression_targets = self.select_training_samples(proposals, targets)
        refs, absolute = self.context_inputs(proposals, rpn_boxes, rpn_scores, padded_size)
        sent = self._repeat_sentence(sentence, proposals)
        box_features = self.box_roi_pool(features, proposals, image_sizes, feature_index)
        box_features = self.box_fusion(box_features, self.box_context(sent, refs, absolute))
        class_logits, box_regression = self.box_predictor(self.box_head(box_features))

        if self.training:
            loss_cls, loss_box = fastrcnn_loss(class_logits, box_regression, labels, regression_targets)
            losses = {"loss_classifier": loss_cls, "loss_box_reg": loss_box}
            pos_proposals, pos_matched = [], []
            for props, lab, midx in zip(proposals, labels, matched_idxs):
                pos = torch.where(lab > 0)[0]
                pos_proposals.append(props[pos])
                pos_matched.append(midx[pos])
            mask_logits = self._mask_logits(features, pos_proposals, image_sizes, sentence, rpn_boxes,
                                            rpn_scores, padded_size, feature_index)
            if sum(len(p) for p in pos_proposals) == 0:
                losses["loss_mask"] = mask_logits.sum() * 0
            else:
                gt_masks = [t["masks"] for t in targets]
                gt_labels = [t["labels"] for t in targets]
                losses["loss_mask"] = maskrcnn_loss(mask_logits, pos_proposals, gt_masks, gt_labels, pos_matched)
            return losses

        boxes, scores, labels, probs = self.detections(class_logits, box_regression, proposals, image_sizes)
        if min_referred > 0:
            kept = [torch.where(1.0 - p[:, 0] >= min_referred)[0] for p in probs]
            boxes, scores, labels, probs = ([v[k] for v, k in zip(values, kept)]
                                            for values in (boxes, scores, labels, probs))
        mask_logits = self._mask_logits(features, boxes, image_sizes, sentence, rpn_boxes, rpn_scores, padded_size,
                                        feature_index)
        masks = maskrcnn_inference(mask_logits, labels) if len(mask_logits) else [
            torch.zeros((0, 1, 2 * self.cfg.mask_roi_size, 2 * self.cfg.mask_roi_size)) for _ in boxes]
        return [{"boxes": b, "scores": s, "labels": l, "masks": m, "class_probs": c}
                for b, s, l, m, c in zip(boxes, scores, labels, masks, probs)]

    def _mask_logits(self, features, boxes, image_sizes, sentence, rpn_boxes, rpn_scores, padded_size,
                     feature_index=None):
        refs, absolute = self.context_inputs(boxes, rpn_boxes, rpn_scores, padded_size)
        mask_features = self.mask_roi_pool(features, boxes, image_sizes, feature_index)
        mask_features = self.mask_fusion(mask_features,
                                         self.mask_context(self._repeat_sentence(sentence, boxes), refs, absolute))
        if self.dense_bf16:   # see GRMNet.use_bf16
            with torch.autocast(mask_features.device.type, dtype=torch.bfloat16):
                return self.mask_head(mask_features.contiguous(memory_format=torch.channels_last)).float()
        return self.mask_head(mask_features)

    dense_bf16 = False

    def postprocess(self, class_logits, box_regression, proposals, image_sizes):
        """Per image: boxes [n, 4], scores [n], labels [n] (see best_category_detections)."""
        return self.detections(class_logits, box_regression, proposals, image_sizes)[:3]

    def detections(self, class_logits, box_regression, proposals, image_sizes):
        return best_category_detections(class_logits, box_regression, proposals, image_sizes, self.box_coder,
                                        self.score_thresh, self.nms_thresh, self.detections_per_img)


class _BoxPredictor(nn.Module):
    """[R, D] -> class logits [R, num_classes], class-specific box deltas [R, num_classes * 4]."""

    def __init__(self, in_dim: int, num_classes: int):
        super().__init__()
        self.cls_score = nn.Linear(in_dim, num_classes)
        self.bbox_pred = nn.Linear(in_dim, num_classes * 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls_score(x), self.bbox_pred(x)


def best_category_detections(class_logits, box_regression, proposals, image_sizes, box_coder, score_thresh: float,
                             nms_thresh: float, max_detections: int):
    """Each RoI keeps its best category; NMS is class-agnostic, because one object must not come back twice
    under two category names. class_logits [R, classes], box_regression [R, classes * 4], proposals per image.
    -> per image: boxes [n, 4], scores [n], labels [n] and the kept RoIs' whole category distribution
    class_probs [n, classes] (column 0: not referred), from which a query can score a candidate by the category
    it names."""
    boxes_per_image = [len(p) for p in proposals]
    pred_boxes = box_coder.decode(box_regression, proposals)          # [R, classes, 4]
    probs = F.softmax(class_logits, -1)
    out_boxes, out_scores, out_labels, out_probs = [], [], [], []
    for b, p, size in zip(pred_boxes.split(boxes_per_image), probs.split(boxes_per_image), image_sizes):
        scores, labels = p[:, 1:].max(dim=1)
        labels = labels + 1
        b = clip_boxes_to_image(b[torch.arange(len(b)), labels], size)
        keep = torch.where(scores > score_thresh)[0]
        b, scores, labels, p = b[keep], scores[keep], labels[keep], p[keep]
        keep = remove_small_boxes(b, 1.0)
        b, scores, labels, p = b[keep], scores[keep], labels[keep], p[keep]
        keep = batched_nms(b, scores, torch.zeros_like(labels), nms_thresh)[:max_detections]
        out_boxes.append(b[keep]); out_scores.append(scores[keep]); out_labels.append(labels[keep])
        out_probs.append(p[keep])
    return out_boxes, out_scores, out_labels, out_probs
