"""Query latency as the app sees it: through the app's worker thread (ModelClient), shipped model, offscreen;
idle and with N busy background processes (the load a user's other programs put on the machine).

usage: python tools/bench_app.py [--repeats 8] [--busy 1] [--image resources/examples/scene_1.png]
Cold = a new sketch (the cache misses), warm = another expression on the same sketch. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EXPRESSIONS = ["the two cats", "the tree on the right", "all the clouds", "the car"]


def measure(client, image, repeats: int, wait) -> dict:
    cold, warm = [], []
    for i in range(repeats + 1):
        variant = image.copy()
        variant[0, i % image.shape[1]] ^= 1            # a new sketch each round
        for j, expression in enumerate(EXPRESSIONS):
            t = time.perf_counter()
            client.query(variant, expression)
            wait(lambda: not client.busy, 60)
            if i:                                       # round 0 warms up
                (cold if j == 0 else warm).append((time.perf_counter() - t) * 1e3)
    return {"cold_ms_p50": round(statistics.median(cold), 1), "warm_ms_p50": round(statistics.median(warm), 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--busy", type=int, default=1)
    ap.add_argument("--image", default="resources/examples/scene_1.png")
    a = ap.parse_args()
    from PySide6.QtCore import QCoreApplication

    from grmnet.commands import start_busy_processes, stop_processes
    from grmnet.imaging import to_grey
    from sketchedit.screenshot import wait_until
    from sketchedit.worker import ModelClient, load_engine

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])  # noqa: F841 - the event loop's owner
    client = ModelClient(load_engine)
    client.load(None, "cpu", None)
    wait_until(lambda: not client.loading, 120)
    if client.info is None:
        print("model not available", file=sys.stderr)
        return 2
    import numpy as np
    image = np.stack([to_grey(a.image)] * 3, axis=-1)
    out = {"idle": measure(client, image, a.repeats, wait_until)}
    if a.busy:
        procs = start_busy_processes(a.busy)
        try:
            time.sleep(0.5)
            out["busy"] = {"processes": a.busy, **measure(client, image, a.repeats, wait_until)}
        finally:
            stop_processes(procs)
        out["slowdown"] = {k: round(out["busy"][k] / out["idle"][k], 2) for k in ("cold_ms_p50", "warm_ms_p50")}
    client.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
