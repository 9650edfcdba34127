"""Average the weights of several fine-tunes of one model (a uniform "model soup", Wortsman et al. 2022).

    python tools/average_weights.py OUT RUN [RUN ...]

Every RUN must hold the same architecture and vocabulary (config.json without its training settings, vocab.txt);
OUT gets the averaged model.safetensors with the first run's config, vocabulary and inference settings, and the
members' training logs (each row tagged with its member). Integer tensors (none today) are taken from the first run.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from grmnet.errors import WeightsError
from grmnet.weights import load_model, save_model


def _architecture(cfg) -> dict:
    """The configuration without its training settings: runs trained at other learning rates or batch sizes (e.g.
    a GPU fine-tune and the shipped weights it started from) hold the same model and can be averaged."""
    d = json.loads(cfg.to_json())
    d.pop("training", None)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("runs", nargs="+")
    args = ap.parse_args()
    model, cfg, vocab, _ = load_model(args.runs[0], "cpu")
    first_state = Path(args.runs[0]) / "trainer_state.json"
    words = vocab.to_lines()
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    total = {k: v.double() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    for run in args.runs[1:]:
        other, other_cfg, other_vocab, _ = load_model(run, "cpu")
        if _architecture(other_cfg) != _architecture(cfg) or other_vocab.to_lines() != words:
            raise WeightsError(f"{run}: another architecture or vocabulary than {args.runs[0]}")
        for k, v in other.state_dict().items():
            if v.is_floating_point():
                total[k] += v.double()
    n = len(args.runs)
    state = {k: (v / n).to(dtypes[k]) if v.is_floating_point() else v for k, v in total.items()}
    model.load_state_dict(state)
    out = Path(args.out)
    save_model(model, cfg, vocab, out, metadata={"averaged": ",".join(args.runs)})
    inference = Path(args.runs[0]) / "inference.json"
    if inference.is_file():
        shutil.copyfile(inference, out / "inference.json")
    # the members ran side by side: their logs, each row tagged with its member, are this model's training
    # (tools/ship_weights.py appends them as one stage; tools/write_results.py sums the members' rates)
    rows = []
    for i, run in enumerate(args.runs):
        log = Path(run) / "train_log.jsonl"
        rows += [{**json.loads(l), "member": i} for l in log.read_text().splitlines() if l.strip()] \
            if log.is_file() else []
    (out / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if first_state.is_file():   # where the members started (ship_weights: a continued stage)
        init = json.loads(first_state.read_text()).get("init")
        (out / "trainer_state.json").write_text(json.dumps({"members": args.runs, **({"init": init} if init else {})}))
    print(f"{out}: average of {n} runs")


if __name__ == "__main__":
    main()
