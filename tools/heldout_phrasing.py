"""Held-out free phrasing (resources/heldout_phrasing/): checks, evaluation subsets and the summary table.

    python tools/heldout_phrasing.py check --data DIR --split test --free FILE
    python tools/heldout_phrasing.py subsets --data DIR --split test --free FILE --out OUT
    python tools/heldout_phrasing.py summary OUT [OUT ...]

`check` validates a free-phrasing file against the dataset (keys, instance indices, variation types, no string
identical to a template expression of the same image). `subsets` writes, under OUT, the template expressions of
the same images (template.json), the free file without its side fields (free.json) and one file per variation
type (type_<name>.json), each readable by `grmnet evaluate --sentences`; with --vocab, pairs of which a
word-level model knows no word (it refuses them, and `grmnet evaluate` stops on them) go to unreadable.json. `summary` reads the `grmnet evaluate
--json` outputs that tools/eval_heldout_phrasing.sh leaves next to them and prints a markdown table.

Nothing here is used for training or for choosing settings.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

VARIATION_TYPES = {
    "synonym": "another word for the category (path, home, street, automobile)",
    "hyponym": "a kind of the category (boy, poodle, cottage, duckling)",
    "hypernym": "a broader word (building, vehicle, animal)",
    "informal": "informal or child-like name (kitty, doggy, pony, chicks, kids)",
    "digits": "numbers written as digits (the 2 cats, the 2nd tree)",
    "quantifier": "quantifiers other than all/both (every, each of, pair of, group of, everyone)",
    "wrapper": "imperative or polite wrapper (select ... please, could you ...?)",
    "superlative": "extremes of size or position from the geometry (biggest, tallest, highest, lowest)",
    "corner_edge": "corners and edges of the page (top left corner, at the left edge)",
    "position_words": "position in other words (far left, right-hand side, in the centre)",
    "ordinal": "ordinals other than the grammar's (first from the left, last on the right)",
    "attribute": "attributes or actions that do not change the target (smiling, running, little)",
    "relation_words": "relations in other words (next to, under, to the right of, between)",
    "conjunction": "two phrases joined (the boy and the girl)",
    "no_target": "names a category absent from the sketch (target list empty)",
}


def _load(path) -> list[dict]:
    return json.loads(Path(path).read_text())


def _template(data: Path, split: str) -> dict[int, dict[str, list[int]]]:
    return {int(e["key"]): e["sen_instIdx_map"] for e in _load(data / f"sentence_instance_{split}.json")}


def check(args) -> int:
    from grmnet.data.sketchyscene import SketchySceneDataset

    data = Path(args.data)
    free = _load(args.free)
    template = _template(data, args.split)
    problems, types, new_targets = [], Counter(), 0
    for e in free:
        key, m, t = int(e["key"]), e["sen_instIdx_map"], e.get("types", {})
        if key not in template:
            problems.append(f"key {key}: not in the template file")
            continue
        known = {tuple(sorted(v)) for v in template[key].values()}
        for s, targets in m.items():
            if s in template[key]:
                problems.append(f"key {key}: {s!r} is a template expression")
            if s not in t or not t[s]:
                problems.append(f"key {key}: {s!r} has no variation type")
            for name in t.get(s, []):
                if name not in VARIATION_TYPES:
                    problems.append(f"key {key}: {s!r}: unknown variation type {name!r}")
                types[name] += 1
            if ("no_target" in t.get(s, [])) != (not targets):
                problems.append(f"key {key}: {s!r}: no_target type and empty target list must go together")
            if targets and tuple(sorted(targets)) not in known:
                new_targets += 1
        for s in t:
            if s not in m:
                problems.append(f"key {key}: type given for {s!r}, which is not an expression")
    ds = SketchySceneDataset(data, args.split, sentences_file=args.free)
    ds.validate()   # instance indices in range (raises DatasetFormatError)
    pairs = sum(len(e["sen_instIdx_map"]) for e in free)
    print(json.dumps({"file": str(args.free), "images": len(free), "pairs": pairs,
                      "template_pairs_same_images": sum(len(template[int(e["key"])]) for e in free),
                      "no_target_pairs": sum(1 for e in free for v in e["sen_instIdx_map"].values() if not v),
                      "targets_not_among_template_targets": new_targets, "types": dict(sorted(types.items())),
                      "problems": problems}, indent=1))
    return 1 if problems else 0


def _write(path: Path, entries: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([e for e in entries if e["sen_instIdx_map"]], indent=1))


def _unreadable(expression: str, vocab: set[str] | None) -> bool:
    """True when a word-level model knows none of the words (it refuses the query; `grmnet evaluate` stops)."""
    if vocab is None:
        return False
    return not any(w in vocab for w in re.findall(r"[a-z]+", expression.lower()))


def subsets(args) -> int:
    data, out = Path(args.data), Path(args.out)
    free = _load(args.free)
    template = _template(data, args.split)
    vocab = set(Path(args.vocab).read_text().split()) if args.vocab else None
    unreadable = [{"key": int(e["key"]), "sen_instIdx_map": {s: v for s, v in e["sen_instIdx_map"].items()
                                                            if _unreadable(s, vocab)}} for e in free]
    _write(out / "unreadable.json", unreadable)
    free = [{**e, "sen_instIdx_map": {s: v for s, v in e["sen_instIdx_map"].items() if not _unreadable(s, vocab)}}
            for e in free]
    keys = [int(e["key"]) for e in free]
    _write(out / "template.json", [{"key": k, "sen_instIdx_map": template[k]} for k in keys])
    _write(out / "free.json", [{"key": int(e["key"]), "sen_instIdx_map": e["sen_instIdx_map"]} for e in free])
    names = sorted({n for e in free for ts in e.get("types", {}).values() for n in ts})
    for name in names:
        _write(out / f"type_{name}.json",
               [{"key": int(e["key"]),
                 "sen_instIdx_map": {s: v for s, v in e["sen_instIdx_map"].items() if name in e["types"].get(s, [])}}
                for e in free])
    print(json.dumps({"out": str(out), "files": ["template.json", "free.json"] + [f"type_{n}.json" for n in names]}))
    return 0


def _fmt(v) -> str:
    return "–" if v is None or v != v else f"{v:.2f}" if isinstance(v, float) else str(v)


def summary(args) -> int:
    for d in map(Path, args.dirs):
        rows = []
        for name in ["template", "free"] + sorted(p.stem[len("type_"):] for p in d.glob("type_*.json")):
            res = d / f"{'' if name in ('template', 'free') else 'type_'}{name}.metrics.json"
            if not res.is_file():
                continue
            m = json.loads(res.read_text())
            rows.append((name, m["pairs"], m.get("AP"), m.get("AP50"), m.get("exact_selection"),
                         m.get("no_target_accuracy")))
        skipped = d / "unreadable.json"
        skipped = _load(skipped) if skipped.is_file() else []
        print(f"\n### {d.name}\n")
        if skipped:
            pairs = [(s, v) for e in skipped for s, v in e["sen_instIdx_map"].items()]
            free = json.loads((d / "free.metrics.json").read_text())
            ok = sum(1 for _, v in pairs if not v)   # a refused no-target query returns nothing: correct
            exact = (free["exact_selection"] * free["pairs"] / 100 + ok) / (free["pairs"] + len(pairs)) * 100
            print(f"{len(pairs)} free pair(s) not evaluated: the model knows none of their words and refuses them "
                  f"({', '.join(repr(s) for s, _ in pairs)}); counted as failures where they have targets, exact "
                  f"selection over all free pairs {exact:.2f} %. AP below is over the evaluated pairs only.\n")
        print("| expressions | pairs | mask AP | AP50 | exact selection % | no-target accuracy % |")
        print("|---|---|---|---|---|---|")
        for name, *vals in rows:
            label = f"**{name}**" if name in ("template", "free") else f"free: {name}"
            print("| " + " | ".join([label] + [_fmt(v) for v in vals]) + " |")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fn in (("check", check), ("subsets", subsets)):
        p = sub.add_parser(name)
        p.add_argument("--data", required=True)
        p.add_argument("--split", default="test")
        p.add_argument("--free", required=True)
        if name == "subsets":
            p.add_argument("--out", required=True)
            p.add_argument("--vocab", default=None, help="vocab.txt of a word-level model: pairs with no known "
                                                          "word go to unreadable.json instead of the subsets")
        p.set_defaults(func=fn)
    p = sub.add_parser("summary")
    p.add_argument("dirs", nargs="+")
    p.set_defaults(func=summary)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
