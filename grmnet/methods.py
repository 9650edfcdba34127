"""Referring engines by method name: GRM-Net and the paper's two comparison methods (grmnet.engine)."""
from __future__ import annotations

from grmnet.baselines import METHODS as BASELINE_METHODS
from grmnet.baselines import load_baseline
from grmnet.engine import ReferringEngine
from grmnet.errors import GRMNetError
from grmnet.prediction import Predictor

METHODS = ("grmnet", *BASELINE_METHODS)


def load_engine(method: str = "grmnet", weights=None, device: str | None = "cpu", threshold: float | None = None,
                threads: int | None = None, own_ink: bool = False) -> ReferringEngine:
    """The engine of `method` with its weights (None: the shipped GRM-Net; baselines need trained weights).
    own_ink (GRM-Net): returned instances own their ink through the sketch's partition (see Predictor)."""
    if method == "grmnet":
        return Predictor(weights, device=device, threshold=threshold, threads=threads, own_ink=own_ink)
    if method in BASELINE_METHODS:
        return load_baseline(method, weights, device=device, threshold=threshold)
    raise GRMNetError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
