"""Named GRM-Net variants of the paper's Table 2 (distance vs consistency, absolute position on/off,
K in {0, 5, 10, 20}, 3-d vs 5-d): each is the full model's config with a few architecture fields changed."""
from __future__ import annotations

import dataclasses

from grmnet.config import GRMNetConfig

FULL = "grm-consistency-k10-5d"
# name -> (architecture overrides, description)
VARIANTS: dict[str, tuple[dict, str]] = {
    "grm-k0": ({"num_references": 0}, "no references (K = 0): sentence + absolute position only"),
    "grm-distance-k10-5d": ({"reference_mode": "distance"}, "K = 10 nearest proposals (MAttNet-style distance)"),
    "grm-consistency-k5-5d": ({"num_references": 5}, "consistency, K = 5"),
    FULL: ({}, "consistency, K = 10, 5-d, absolute position: the paper's GRM"),
    "grm-consistency-k20-5d": ({"num_references": 20}, "consistency, K = 20"),
    "grm-consistency-k10-3d": ({"reference_dim": 3}, "consistency, K = 10, 3-d centre offsets"),
    "grm-consistency-k10-5d-noabs": ({"absolute_position": False}, "consistency, K = 10, no absolute position"),
}


def variant_config(base: GRMNetConfig, name: str) -> GRMNetConfig:
    """A copy of `base` changed into the named variant (KeyError names the known ones)."""
    if name not in VARIANTS:
        raise KeyError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    cfg = dataclasses.replace(base, **VARIANTS[name][0])
    cfg.training = dataclasses.replace(base.training, frozen_parts=list(base.training.frozen_parts))
    cfg.validate()
    return cfg
