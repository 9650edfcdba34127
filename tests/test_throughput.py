"""The speed-ups of the training path (issue #14) compute what the code before them computed."""
import cv2
import numpy as np
import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align

from grmnet.data import render
from grmnet.data.scene import ComponentLibrary
from grmnet.data.synth import compose_sample, make_sample
from grmnet.modeling.roi_heads import GatherRoIAlign, roi_align_gather
from grmnet.training import ObjectRegions


def _zhang_suen_reference(mask: np.ndarray, max_iter: int = 60) -> np.ndarray:
    """The former numpy Zhang-Suen thinning, verbatim."""
    img = np.pad(mask.astype(np.uint8), 1)
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            c = img[1:-1, 1:-1]
            nb = [p2, p3, p4, p5, p6, p7, p8, p9]
            b = sum(x.astype(np.int16) for x in nb)
            a = sum(((nb[i] == 0) & (nb[(i + 1) % 8] == 1)).astype(np.int16) for i in range(8))
            if step == 0:
                cond = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                cond = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            rm = (c == 1) & (b >= 2) & (b <= 6) & (a == 1) & cond
            if rm.any():
                c[rm] = 0
                changed = True
        if not changed:
            break
    return img[1:-1, 1:-1] > 0


def test_skeleton_matches_the_numpy_thinning():
    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(3, 90, 2))
        m = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 5))):
            p0 = tuple(int(v) for v in rng.integers(0, max(h, w), 2))
            p1 = tuple(int(v) for v in rng.integers(0, max(h, w), 2))
            cv2.line(m, p0, p1, 1, int(rng.integers(1, 12)))
        if rng.random() < 0.3:
            m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        assert np.array_equal(render.skeleton(m > 0), _zhang_suen_reference(m > 0))
    assert not render.skeleton(np.zeros((5, 7), bool)).any()


def test_upsample_pair_is_one_two_channel_cubic_resize():
    rng = np.random.default_rng(1)
    a, b = (rng.normal(0, 1, (5, 5)).astype(np.float32) for _ in range(2))
    out = render.upsample_pair(a, b, 37, 23)
    ref = cv2.resize(np.dstack([a, b]), (37, 23), interpolation=cv2.INTER_CUBIC)
    assert out.shape == (23, 37, 2) and out.dtype == np.float32 and np.array_equal(out, ref)
    single = render.upsample_pair(a, None, 37, 23)
    assert np.array_equal(single[..., 0], ref[..., 0]) and not single[..., 1].any()


@pytest.fixture(scope="module")
def empty_lib(tmp_path_factory) -> ComponentLibrary:
    return ComponentLibrary(tmp_path_factory.mktemp("nolib"))   # procedural drawings only


def test_compose_sample_and_object_regions(empty_lib):
    scene, inst, cls, region, exprs = make_sample("train", 0, 3, library=empty_lib)
    scene2, exprs2 = compose_sample("train", 0, 3, library=empty_lib)
    assert np.array_equal(scene.drawing, scene2.drawing) and exprs == exprs2
    regions = ObjectRegions(scene2.objects)
    assert len(regions) == len(region)
    assert np.array_equal(np.asarray(regions), region)
    assert np.array_equal(regions[[2, 0]], region[[2, 0]])
    assert regions[[]].shape == (0,) + region.shape[1:]
    for i, o in enumerate(scene.objects):   # labels of an object lie inside its bbox
        x0, y0, x1, y1 = o.bbox
        assert np.array_equal(inst == i + 1, np.pad(o.ink[y0:y1, x0:x1], ((y0, 750 - y1), (x0, 750 - x1))))


def _rois(n_images: int, count: int, size: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(count, 2, generator=g) * size * 1.05 - 0.05 * size   # some outside the map
    wh = torch.rand(count, 2, generator=g) * size * 0.5 + torch.rand(count, 2, generator=g) * 3
    ids = torch.randint(0, n_images, (count, 1), generator=g).float()
    return torch.cat([ids, xy, xy + wh], 1)


@pytest.mark.parametrize("channels_last", [False, True])
def test_roi_align_gather_matches_torchvision(channels_last):
    torch.manual_seed(0)
    feat = torch.randn(3, 8, 20, 24)
    if channels_last:
        feat = feat.contiguous(memory_format=torch.channels_last)
    rois = _rois(3, 200, 160.0, 0)
    a_in, b_in = feat.clone().requires_grad_(True), feat.clone().requires_grad_(True)
    a = roi_align(a_in, rois, (7, 7), spatial_scale=0.125, sampling_ratio=2)
    b = roi_align_gather(b_in, rois, 7, 0.125, 2)
    assert torch.allclose(a, b, atol=1e-5)
    g = torch.randn_like(a)
    (a * g).sum().backward()
    (b * g).sum().backward()
    assert torch.allclose(a_in.grad, b_in.grad, atol=1e-4)
    assert roi_align_gather(feat, rois[:0], 7, 0.125, 2).shape == (0, 8, 7, 7)


def test_gather_pooler_with_batch_index_equals_per_pair_features():
    torch.manual_seed(1)
    names = ["0", "1", "2", "pool"]
    feats = {k: torch.randn(2, 4, 64 >> i, 64 >> i) for i, k in enumerate(names)}
    pair_image = torch.tensor([0, 0, 1, 1, 1])
    boxes = [_rois(1, 30, 480.0, s)[:, 1:].clamp(0, 511) for s in range(5)]
    sizes = [(512, 512)] * 5
    ref = MultiScaleRoIAlign(names, 7, 2)({k: v[pair_image] for k, v in feats.items()}, boxes, sizes)
    out = GatherRoIAlign(names, 7, 2)(feats, boxes, sizes, pair_image)
    assert torch.allclose(ref, out, atol=1e-4)
    assert torch.allclose(MultiScaleRoIAlign(names, 14, 2)(feats, boxes[:2], sizes[:2]),
                          GatherRoIAlign(names, 14, 2)(feats, boxes[:2], sizes[:2]), atol=1e-4)
