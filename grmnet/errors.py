"""User-facing errors: each carries a message a person can act on."""
from __future__ import annotations


class GRMNetError(ValueError):
    """Base class of errors reported to the user as one clear line."""


class DatasetFormatError(GRMNetError):
    """A dataset file is missing, malformed or inconsistent (e.g. a .mat without its key)."""


class WeightsError(GRMNetError):
    """Weights are missing, corrupt, or do not match their config."""


class NoWeightsError(WeightsError):
    """No trained weights are installed where they were looked for."""


class ImageError(GRMNetError):
    """An image cannot be read or is unusable (zero size, too large, not an image)."""


class ExpressionError(GRMNetError):
    """An expression is empty or has no known word."""
