"""Global Reference Mechanism geometry: pure functions on boxes (x0, y0, x1, y1).

select_references picks, for each RoI candidate, K reference proposals: the top-K post-NMS RPN proposals
ranked by their positive probability ("consistency", the paper's choice) or the K nearest by centre distance
("distance", MAttNet-style). A candidate is never its own reference; missing references are zero-padded and
flagged invalid.
"""
from __future__ import annotations

import torch
from torchvision.ops import box_iou

SELF_IOU = 0.95  # a proposal this similar to the candidate is the candidate itself


def select_references(candidates: torch.Tensor, proposals: torch.Tensor, scores: torch.Tensor, k: int,
                      mode: str = "consistency") -> tuple[torch.Tensor, torch.Tensor]:
    """Choose K reference boxes per candidate.

    candidates [N, 4], proposals [P, 4], scores [P] (positive probability of each proposal)
    -> references [N, K, 4] (zeros where padded), valid [N, K] bool
    """
    n = candidates.shape[0]
    refs = candidates.new_zeros((n, k, 4))
    valid = torch.zeros((n, k), dtype=torch.bool, device=candidates.device)
    if k == 0 or n == 0 or proposals.shape[0] == 0:
        return refs, valid
    not_self = box_iou(candidates, proposals) < SELF_IOU                        # [N, P]
    if mode == "consistency":
        key = scores.unsqueeze(0).expand(n, -1).clone()                         # higher = earlier
    elif mode == "distance":
        key = -torch.cdist(box_centres(candidates), box_centres(proposals))    # nearer = earlier
    else:
        raise ValueError(f"unknown reference mode {mode!r}")
    key = key.masked_fill(~not_self, float("-inf"))
    take = min(k, proposals.shape[0])
    top_key, top_idx = key.topk(take, dim=1)                                     # [N, take]
    refs[:, :take] = proposals[top_idx]
    valid[:, :take] = torch.isfinite(top_key)
    refs[~valid] = 0
    return refs, valid


def box_centres(boxes: torch.Tensor) -> torch.Tensor:
    """[..., 4] -> [..., 2]"""
    return (boxes[..., :2] + boxes[..., 2:]) / 2


def reference_vectors(candidates: torch.Tensor, references: torch.Tensor, valid: torch.Tensor,
                      dim: int = 5) -> torch.Tensor:
    """Relative geometry of each reference w.r.t. its candidate.

    5-d: [dx_tl/w_i, dy_tl/h_i, dx_br/w_i, dy_br/h_i, w_j h_j/(w_i h_i)]
    3-d: [dcx/w_i, dcy/h_i, w_j h_j/(w_i h_i)]
    candidates [N, 4], references [N, K, 4], valid [N, K] -> [N, K, dim] (zeros where invalid)
    """
    cand = candidates.unsqueeze(1)                                              # [N, 1, 4]
    w = (cand[..., 2] - cand[..., 0]).clamp(min=1e-3)
    h = (cand[..., 3] - cand[..., 1]).clamp(min=1e-3)
    rw = references[..., 2] - references[..., 0]
    rh = references[..., 3] - references[..., 1]
    area_ratio = rw * rh / (w * h)
    if dim == 5:
        d = references - cand
        vec = torch.stack([d[..., 0] / w, d[..., 1] / h, d[..., 2] / w, d[..., 3] / h, area_ratio], dim=-1)
    elif dim == 3:
        dc = box_centres(references) - box_centres(cand)
        vec = torch.stack([dc[..., 0] / w, dc[..., 1] / h, area_ratio], dim=-1)
    else:
        raise ValueError(f"reference vectors are 3-d or 5-d, not {dim}-d")
    return vec * valid.unsqueeze(-1).to(vec.dtype)


def absolute_position(boxes: torch.Tensor, width: float, height: float) -> torch.Tensor:
    """[x_tl/W, y_tl/H, x_br/W, y_br/H, w h/(W H)]: boxes [N, 4] -> [N, 5]"""
    scale = boxes.new_tensor([width, height, width, height])
    norm = boxes / scale
    area = (norm[:, 2] - norm[:, 0]) * (norm[:, 3] - norm[:, 1])
    return torch.cat([norm, area.unsqueeze(1)], dim=1)
