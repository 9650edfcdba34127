"""The paper's comparison methods, as referring engines (grmnet.engine) like GRM-Net's Predictor.

- ``two-stage``: Zou et al. 2019 instance matching (language-free Mask R-CNN + binary referring mask +
  overlap selection), grmnet.baselines.two_stage
- ``binary``: binary referring segmentation (one merged mask per expression), grmnet.baselines.binary

Train with ``grmnet train-baseline --method {two-stage,binary}``; use with
``grmnet evaluate|predict --method {two-stage,binary} --weights RUN``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grmnet.baselines.common import METHODS, BaselineConfig, BaselineEngine, save_baseline

__all__ = ["METHODS", "BaselineConfig", "BaselineEngine", "build_baseline_model", "engine_class", "load_baseline",
           "make_tiny_baseline"]


def engine_class(method: str) -> type[BaselineEngine]:
    if method == "two-stage":
        from grmnet.baselines.two_stage import TwoStageEngine
        return TwoStageEngine
    if method == "binary":
        from grmnet.baselines.binary import BinaryEngine
        return BinaryEngine
    raise ValueError(f"unknown baseline method {method!r}; choose one of {', '.join(METHODS)}")


def load_baseline(method: str, weights=None, device: str | None = "cpu", threshold: float | None = None
                  ) -> BaselineEngine:
    """A baseline engine from its run directory or .safetensors file (weights are required)."""
    return engine_class(method)(weights, device=device, threshold=threshold)


def build_baseline_model(cfg: BaselineConfig, vocab_size: int) -> torch.nn.Module:
    if cfg.method == "two-stage":
        from grmnet.baselines.two_stage import TwoStageModel
        return TwoStageModel(cfg, vocab_size)
    from grmnet.baselines.binary import BinaryModel
    return BinaryModel(cfg, vocab_size)


def make_tiny_baseline(out_dir: str | Path, method: str, seed: int = 0) -> Path:
    """A random tiny baseline written the way trained weights are (tests, demos)."""
    from grmnet.config import tiny_config
    from grmnet.modeling.language import Vocabulary, grammar_vocabulary_words
    torch.manual_seed(seed)
    cfg = BaselineConfig(method=method, seg_channels=16, model=tiny_config())
    vocab = Vocabulary(grammar_vocabulary_words())
    return save_baseline(build_baseline_model(cfg, len(vocab)), cfg, vocab, Path(out_dir))
