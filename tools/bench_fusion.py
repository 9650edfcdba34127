"""The RoI heads' sentence fusion (1x1 conv over R pooled maps + a per-RoI context bias, ReLU) three ways, on this
CPU: a 1x1 convolution, one batched matmul with the bias folded in (what `FusedFeature` computes), and a
channels-last matmul. One thread, as the heads run in the app.

    python tools/bench_fusion.py [--rois 100] [--size 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rois", type=int, default=100)
    ap.add_argument("--size", type=int, default=7)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    r, c, s = args.rois, args.channels, args.size
    x, ctx = torch.randn(r, c, s, s), torch.randn(r, c)
    conv = torch.nn.Conv2d(c, c, 1)
    w = conv.weight.view(c, c)

    def convolution():
        return torch.relu(conv(x) + ctx[:, :, None, None])

    def batched_matmul():
        return torch.baddbmm((conv.bias + ctx)[:, :, None], w.expand(r, c, c), x.view(r, c, s * s)).relu_()

    def channels_last_matmul():
        y = torch.addmm(conv.bias, x.permute(0, 2, 3, 1).reshape(-1, c), w.t()).view(r, s * s, c) + ctx[:, None]
        return y.relu_().permute(0, 2, 1)

    out = {}
    with torch.inference_mode():
        ref = convolution()
        for f in (convolution, batched_matmul, channels_last_matmul):
            assert torch.allclose(f().reshape(r, c, s, s), ref, atol=1e-4)
            for _ in range(5):
                f()
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                f()
                times.append((time.perf_counter() - t) * 1e3)
            out[f.__name__] = round(statistics.median(times), 3)
    print(json.dumps({"rois": r, "channels": c, "size": s, "median_ms": out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
