"""CPU latency of the pretrained text encoder (grmnet.modeling.text_encoder) for one short sentence.

    python tools/bench_text_encoder.py [--threads 2 1] [--repeats 200] [--text "the kitty on the left"]

Prints one JSON line per thread count: p50 / p90 / mean wall-clock ms of tokenise + forward (no grad), after
warm-up, and the p50 of the process CPU time (with 1 thread: the cost on an idle core, robust to a busy machine;
with n threads it adds the threads up).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from grmnet.modeling.text_encoder import TextEncoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--text", default="please select the two cats on the left of the big tree")
    args = ap.parse_args()
    t0 = time.perf_counter()
    enc = TextEncoder.from_package().eval()
    load_ms = (time.perf_counter() - t0) * 1000
    n_tokens = len(enc.wordpieces(args.text))
    for threads in args.threads:
        torch.set_num_threads(threads)
        times, cpu = [], []
        with torch.inference_mode():
            for _ in range(10):
                enc([args.text])
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                enc([args.text])
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
        times.sort()
        print(json.dumps({"threads": threads, "text": args.text, "wordpieces": n_tokens, "repeats": args.repeats,
                          "p50_ms": round(statistics.median(times), 2),
                          "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2),
                          "mean_ms": round(statistics.fmean(times), 2),
                          "cpu_time_p50_ms": round(statistics.median(cpu), 2), "load_ms": round(load_ms, 1),
                          "torch": torch.__version__}))


if __name__ == "__main__":
    main()
