"""Helpers for tests and demos: a tiny random-initialised model written the way real weights are."""
from __future__ import annotations

from pathlib import Path

import torch

from grmnet.config import tiny_config
from grmnet.data.categories import CATEGORIES, plural, singular
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import Vocabulary
from grmnet.weights import save_model

# Every word of the SketchyScene-Matching grammar, so the tiny model "knows" realistic expressions.
GRAMMAR_WORDS = ("the all both two three four five in on of left right middle leftmost rightmost topmost "
                 "bottommost second top bottom front back behind near among around sky").split()


def tiny_vocabulary() -> Vocabulary:
    return Vocabulary(GRAMMAR_WORDS + [singular(c) for c in CATEGORIES] + [plural(c) for c in CATEGORIES])


def make_tiny_weights(out_dir: str | Path, seed: int = 0) -> Path:
    """Write a random tiny GRM-Net (safetensors + config.json + vocab.txt) into out_dir; returns the weights."""
    torch.manual_seed(seed)
    cfg = tiny_config()
    vocab = tiny_vocabulary()
    return save_model(GRMNet(cfg, len(vocab)), cfg, vocab, Path(out_dir))
