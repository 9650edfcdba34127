#!/usr/bin/env python3
"""File one `tools/evaluate_candidate.sh` run into docs/results/ (then `python tools/write_results.py`).

    python tools/collect_candidate.py runs/s15e "stages 1-15"              # rows of docs/results/candidates.jsonl
    python tools/collect_candidate.py runs/s15e "stages 1-15" --shipped    # ...and the shipped weights' tables

Each synthetic split and the real samples become one row of ``candidates.jsonl``, placed after the last row of the
same data (the table groups by data). ``--rename OLD=NEW`` renames earlier rows first (e.g. "new default (stages
1-14)=stages 1-14"). With ``--shipped`` the run's test / own-ink / real / detected-categories / layers JSON replace the
shipped weights' copies (the previous detected-categories table is kept as ``detected_categories_before.json``).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results"
REAL = "../shared/data/sketchyscene_samples"
# evaluate_candidate.sh output -> (data root, split) of its candidates row
ROWS = {"test.json": ("data/synth", "test"), "style.json": ("data/synth_style", "style_test"),
        "plain.json": ("data/synth_plain", "test"), "photo.json": ("data/synth_photo", "test"),
        "real.json": (REAL, "test")}
# evaluate_candidate.sh output -> the shipped weights' table in docs/results/
SHIPPED = {"test.json": "synthetic_test.json", "test_own.json": "synthetic_test_own_ink.json",
           "real.json": "real_samples.json", "real_own.json": "real_samples_own_ink.json",
           "detected.json": "detected_categories.json", "layers.json": "layers.json"}


def add_rows(rows: list[dict], run: Path, name: str) -> list[dict]:
    for out, (root, split) in ROWS.items():
        f = run / out
        if not f.is_file():
            continue
        metrics = json.loads(f.read_text())
        row = {"candidate": name, "weights": str(Path(metrics.get("weights", "")).parent), "data": root,
               "split": split, "metrics": metrics}
        same = [i for i, r in enumerate(rows) if (r["data"], r["split"]) == (root, split)]
        rows.insert(same[-1] + 1 if same else len(rows), row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="OUT of tools/evaluate_candidate.sh")
    ap.add_argument("name", help="the candidate's name in the tables, e.g. 'stages 1-15'")
    ap.add_argument("--shipped", action="store_true", help="these are the shipped weights: replace their tables")
    ap.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="rename earlier rows first")
    ap.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    results = args.results
    path = results / "candidates.jsonl"
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.is_file() else []
    for spec in args.rename:
        old, new = spec.split("=", 1)
        for r in rows:
            if r["candidate"] == old:
                r["candidate"] = new
    rows = add_rows(rows, args.run, args.name)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if args.shipped:
        if (results / "detected_categories.json").is_file() and (args.run / "detected.json").is_file():
            shutil.copy(results / "detected_categories.json", results / "detected_categories_before.json")
        for out, table in SHIPPED.items():
            if (args.run / out).is_file():
                shutil.copy(args.run / out, results / table)
    print(f"{path}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
