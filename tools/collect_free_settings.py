"""Collect `grmnet evaluate --json` outputs on the validation free-phrasing subsets into
docs/results/free_phrasing_settings.json (read by tools/write_results.py).

    python tools/collect_free_settings.py KIND:WEIGHTS:SETTING:FILE [...]

e.g. superlative:"stage 11":"resolve_extremes off":runs/s12/sup_off_s11.json. Each FILE is the JSON of
`grmnet evaluate --data data/synth --split val --sentences runs/free_val/type_KIND.json --weights W --json FILE`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rows = []
    for arg in sys.argv[1:]:
        head, path = arg.rsplit(":", 1)
        kind, weights, setting = head.split(":", 2)
        m = json.loads(Path(path).read_text())
        rows.append({"kind": kind, "pairs": m["pairs"], "weights": weights, "setting": setting, "AP": m["AP"],
                     "exact_selection": m["exact_selection"]})
    out = {"command": "python tools/free_phrasing_set.py --data data/synth --split val --out runs/free_val",
           "rows": rows}
    dest = ROOT / "docs" / "results" / "free_phrasing_settings.json"
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(dest)


if __name__ == "__main__":
    main()
