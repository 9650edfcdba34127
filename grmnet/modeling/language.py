"""Vocabulary and the BiLSTM sentence encoder."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from grmnet.data.categories import CATEGORIES, plural, singular
from grmnet.text import tokenize

PAD, UNK = "<pad>", "<unk>"
# Every word of the SketchyScene-Matching grammar, so a vocabulary built from a few scenes still knows them.
GRAMMAR_WORDS = ("the all both two three four five in on of left right middle leftmost rightmost topmost "
                 "bottommost second top bottom front back behind near among around sky").split()


def grammar_vocabulary_words() -> list[str]:
    """The grammar's words plus every category noun, singular and plural."""
    return GRAMMAR_WORDS + [singular(c) for c in CATEGORIES] + [plural(c) for c in CATEGORIES]


class Vocabulary:
    """Word <-> id map; id 0 is <pad>, id 1 is <unk>. Saved as one word per line (vocab.txt)."""

    def __init__(self, words: Iterable[str]):
        self.words: list[str] = [PAD, UNK] + sorted({w for w in words if w not in (PAD, UNK)})
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_expressions(cls, expressions: Iterable[str]) -> "Vocabulary":
        return cls(w for e in expressions for w in tokenize(e))

    @classmethod
    def from_lines(cls, lines: Sequence[str]) -> "Vocabulary":
        vocab = cls([])
        vocab.words = [w.strip() for w in lines if w.strip()]
        if vocab.words[:2] != [PAD, UNK]:
            raise ValueError("vocabulary must start with <pad> and <unk>")
        vocab.index = {w: i for i, w in enumerate(vocab.words)}
        return vocab

    def to_lines(self) -> list[str]:
        return list(self.words)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def known_words(self) -> frozenset[str]:
        return frozenset(self.words[2:])

    def encode(self, expression: str, max_words: int) -> list[int]:
        """Word ids, truncated to max_words; unknown words map to <unk>."""
        return [self.index.get(w, 1) for w in tokenize(expression)][:max_words]

    def encode_batch(self, expressions: Sequence[str], max_words: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns tokens [B, max_words] (0-padded) and lengths [B] (>= 1: an empty expression is one <unk>)."""
        tokens = torch.zeros(len(expressions), max_words, dtype=torch.long)
        lengths = torch.ones(len(expressions), dtype=torch.long)
        for i, e in enumerate(expressions):
            ids = self.encode(e, max_words) or [1]
            tokens[i, : len(ids)] = torch.tensor(ids)
            lengths[i] = len(ids)
        return tokens, lengths


class LanguageEncoder(nn.Module):
    """Embedding + (Bi)LSTM; the sentence feature is the final hidden states of both directions.

    tokens [B, T] long, lengths [B] -> sentence feature [B, lang_dim]
    """

    def __init__(self, vocab_size: int, word_dim: int, hidden: int, lang_dim: int, bidirectional: bool = True):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.lstm = nn.LSTM(word_dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.project = nn.Sequential(nn.Linear(hidden * (2 if bidirectional else 1), lang_dim), nn.ReLU(inplace=True))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(tokens)
        packed = pack_padded_sequence(embedded, lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)          # h_n [num_dirs, B, hidden]
        sentence = torch.cat(list(h_n), dim=1)   # [B, num_dirs * hidden]
        return self.project(sentence)
