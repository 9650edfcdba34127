"""GRM-Net: referring-expression instance segmentation of scene sketches (Ling, Mo, Gao, PG 2022)."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["GRMNetConfig", "Predictor", "__version__"]


def __getattr__(name: str):  # lazy: `import grmnet` stays cheap for the CLI and the app
    if name == "GRMNetConfig":
        from grmnet.config import GRMNetConfig
        return GRMNetConfig
    if name == "Predictor":
        from grmnet.prediction import Predictor
        return Predictor
    raise AttributeError(name)
