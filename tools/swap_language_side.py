"""Move GRM-Net weights between the hybrid language side and the plain BiLSTM one, without retraining.

  python tools/swap_language_side.py to-bilstm HYBRID_DIR OUT_DIR
      drop the open-vocabulary head (language.pieces.*) and rename language.words.* -> language.*: a model
      that trains anywhere, also where the pretrained text encoder's package is not installed (a lent GPU)
  python tools/swap_language_side.py to-hybrid BILSTM_DIR HEAD_DIR OUT_DIR
      put the open-vocabulary head of HEAD_DIR back. Valid only when BILSTM_DIR was trained with the language
      side frozen (training.frozen_parts = ["language"]): the head was distilled to reproduce that BiLSTM.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from grmnet.config import GRMNetConfig


def _copy_side_files(src: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.txt", "inference.json", "train_log.jsonl", "trainer_state.json", "distill.json"):
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)


def to_bilstm(src: Path, out: Path) -> None:
    cfg = GRMNetConfig.load(src / "config.json")
    state = load_file(str(src / "model.safetensors"))
    new = {("language." + k[len("language.words."):] if k.startswith("language.words.") else k): v
           for k, v in state.items() if not k.startswith("language.pieces.")}
    _copy_side_files(src, out)
    cfg.language_model = "bilstm"
    cfg.save(out / "config.json")
    save_file(new, str(out / "model.safetensors"))


def to_hybrid(src: Path, head: Path, out: Path) -> None:
    cfg = GRMNetConfig.load(src / "config.json")
    state = load_file(str(src / "model.safetensors"))
    heads = {k: v for k, v in load_file(str(head / "model.safetensors")).items() if k.startswith("language.pieces.")}
    if not heads:
        raise SystemExit(f"{head}: no open-vocabulary head (language.pieces.*)")
    words = {k: v for k, v in load_file(str(head / "model.safetensors")).items() if k.startswith("language.words.")}
    new = {("language.words." + k[len("language."):] if k.startswith("language.") else k): v for k, v in state.items()}
    changed = [k for k, v in words.items() if not torch.equal(new[k].float(), v.float())]
    if changed:
        raise SystemExit(f"{src}: its BiLSTM differs from the one {head}'s head was distilled for ({changed[:2]}); "
                         "train with frozen_parts = ['language'] or distill again")
    new.update(heads)
    _copy_side_files(src, out)
    if (head / "distill.json").is_file():
        shutil.copy2(head / "distill.json", out / "distill.json")
    cfg.language_model = "hybrid"
    cfg.save(out / "config.json")
    save_file(new, str(out / "model.safetensors"))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "to-bilstm":
        to_bilstm(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "to-hybrid":
        to_hybrid(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
