"""Headless `sketchedit` command: the same document model and exporters as the app, no display.

    sketchedit apply IMAGE -e EXPR [--pick 1,2] [--recolor C] [--fill C] [--move=DX,DY]
                     [--delete] [--hide] [--weights W] --out OUT.{png,ora,svg,psd,zip}
    sketchedit export IN.ora --out OUT.{png,svg,psd,zip,ora}
    sketchedit split IMAGE [--weights W] --out LAYERS.{ora,psd,svg,zip}   (every object its own layer)

Prints one JSON summary on stdout; errors go to stderr as one line, exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _ensure_headless() -> None:
    # The document model uses QtGui's undo stack; without a display Qt must not look for one.
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def parse_color(text: str) -> tuple[int, int, int]:
    """'red', '#ff0000' or '255,0,0'."""
    from PIL import ImageColor

    text = text.strip()
    try:
        if "," in text:
            parts = [int(v) for v in text.split(",")]
            if len(parts) != 3 or not all(0 <= v <= 255 for v in parts):
                raise ValueError
            return parts[0], parts[1], parts[2]
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a colour: {text!r} (use a name, #rrggbb or r,g,b)") from None


def parse_pair(text: str) -> tuple[int, int]:
    try:
        dx, dy = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected DX,DY (e.g. --move=-10,5), got {text!r}") from None
    return dx, dy


def parse_pick(text: str) -> list[int]:
    try:
        picks = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected instance numbers like 1,2, got {text!r}") from None
    if not picks or min(picks) < 1:
        raise argparse.ArgumentTypeError("instance numbers start at 1")
    return picks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchedit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("apply", help="select instances by an expression, edit them, write the result")
    a.add_argument("image", help="sketch image (PNG/JPG/BMP/WebP) or .ora")
    a.add_argument("-e", "--expression", required=True)
    a.add_argument("--pick", type=parse_pick, default=None,
                   help="keep only these of the instances found, numbered from 1 in result order (e.g. 1,2)")
    a.add_argument("--recolor", type=parse_color, default=None, help="stroke colour: name, #rrggbb or r,g,b")
    a.add_argument("--fill", type=parse_color, default=None, help="fill the instances' regions with this colour")
    a.add_argument("--fill-opacity", type=float, default=0.5)
    a.add_argument("--move", type=parse_pair, default=None, metavar="DX,DY", help="move by pixels; use --move=-5,3")
    a.add_argument("--delete", action="store_true", help="remove the instances from the sketch")
    a.add_argument("--hide", action="store_true", help="hide the instances' layers")
    a.add_argument("--weights", default=None, help="run dir or .safetensors (default: the shipped model)")
    a.add_argument("--device", default="cpu")
    a.add_argument("--threshold", type=float, default=None)
    a.add_argument("--out", required=True, help="output: .png (flat), .ora, .svg, .psd, .zip or a folder")
    e = sub.add_parser("export", help="convert a saved .ora to another format")
    e.add_argument("input", help=".ora file (or an image)")
    e.add_argument("--out", required=True)
    s = sub.add_parser("split", help="split the whole sketch into layers, one per object, inks never shared")
    s.add_argument("image", help="sketch image (PNG/JPG/BMP/WebP) or .ora")
    s.add_argument("--weights", default=None, help="run dir or .safetensors (default: the shipped model)")
    s.add_argument("--device", default="cpu")
    s.add_argument("--out", required=True, help="output: .ora (layers), .psd, .svg, .zip, a folder or .png (flat)")
    return parser


def apply_edits(doc, instances, args) -> tuple[list[str], list[str]]:
    """Lift the picked instances into layers and apply the requested edits (one undo step each)."""
    if args.pick:
        missing = [p for p in args.pick if p > len(instances)]
        if missing:
            from grmnet.errors import ExpressionError

            raise ExpressionError(f"--pick {','.join(map(str, missing))}: only {len(instances)} instance(s) found")
        instances = [instances[p - 1] for p in args.pick]
    uids = doc.select_as_layers(instances) if instances else []
    labels = [doc.layer(u).label for u in uids]
    edits = []
    if uids:
        if args.recolor:
            doc.recolor(uids, args.recolor)
            edits.append("recolor")
        if args.fill:
            doc.fill(uids, args.fill, args.fill_opacity)
            edits.append("fill")
        if args.move:
            doc.move(uids, *args.move)
            edits.append("move")
        if args.hide:
            doc.set_visible(uids, False)
            edits.append("hide")
        if args.delete:
            doc.delete(uids)
            edits.append("delete")
    return labels, edits


def run_apply(args) -> dict:
    from sketchedit.export import check_export_path, export_document, open_document

    check_export_path(args.out)  # a bad output path is reported now, not after loading torch and the model
    doc = open_document(args.image)  # so is a bad image
    from grmnet.methods import load_engine

    engine = load_engine("grmnet", args.weights, device=args.device, threshold=args.threshold, own_ink=True)
    result = engine.predict(doc.composite(), [args.expression], threshold=args.threshold).results[0]
    instances = result.instances
    summary = {"command": "apply", "image": args.image, "expression": args.expression,
               "understood": {"category": result.understood.category, "count": result.understood.count},
               "unknown_words": list(result.unknown_words), "instances_found": len(instances),
               "latency_ms": round(result.latency_ms, 1)}
    if doc.notice:
        summary["notice"] = doc.notice
    if not instances:   # nothing to edit: write nothing, and say so with a non-zero exit
        summary.update(matched=False, written=None,
                       message=f"'{args.expression}' matched nothing in this sketch; nothing was written")
        return summary
    labels, edits = apply_edits(doc, instances, args)
    summary.update(matched=True, instances_selected=len(labels), labels=labels, edits=edits,
                   written=export_document(doc, args.out))
    return summary


def run_split(args) -> dict:
    from sketchedit.export import check_export_path, export_document, open_document

    check_export_path(args.out)  # a bad output path is reported now, not after loading torch and the model
    from grmnet.methods import load_engine
    from grmnet.partition import split_into_layers

    doc = open_document(args.image)
    engine = load_engine("grmnet", args.weights, device=args.device)
    start = time.perf_counter()
    instances = split_into_layers(engine, doc.composite())
    latency_ms = (time.perf_counter() - start) * 1e3
    uids = doc.split_into_layers(instances)
    summary = {"command": "split", "image": args.image, "objects_found": len(instances), "layers": len(uids),
               "labels": [doc.layer(u).label for u in uids], "latency_ms": round(latency_ms, 1),
               "written": export_document(doc, args.out)}
    if doc.notice:
        summary["notice"] = doc.notice
    return summary


def run_export(args) -> dict:
    from sketchedit.export import check_export_path, export_document, open_document

    check_export_path(args.out)
    doc = open_document(args.input)
    written = export_document(doc, args.out)
    return {"command": "export", "input": args.input, "layers": [layer.label for layer in doc.layers],
            "written": written}


def main(argv: list[str] | None = None) -> int:
    _ensure_headless()
    from grmnet.runtime import prefer_passive_waits
    prefer_passive_waits()          # an editor's command shares the machine: before torch loads
    args = build_parser().parse_args(argv)
    from grmnet.errors import GRMNetError

    try:
        summary = {"apply": run_apply, "export": run_export, "split": run_split}[args.command](args)
    except (GRMNetError, OSError) as exc:
        print(f"sketchedit: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("sketchedit: error: not enough memory for this sketch", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    if summary.get("matched") is False:
        print(f"sketchedit: {summary['message']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
