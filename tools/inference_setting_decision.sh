#!/usr/bin/env bash
# One inference setting of the shipped weights, off against on, on the validation pairs the ship decisions use
# (data/synth val, first 1250 pairs), everything else as shipped. Writes OUT/{off,on}.json and OUT/decision.json.
#   tools/inference_setting_decision.sh SETTING [OUT]     e.g. tools/inference_setting_decision.sh resolve_order runs/order
# SENTENCES=FILE: the validation scenes' expressions from FILE instead (e.g. tools/drop_articles.py's output).
# VALUE=X: the "on" value (default true; e.g. VALUE=0.9 for a threshold setting, whose "off" is null).
# EVAL_ARGS="--own-ink": more `grmnet evaluate` arguments for both runs.
set -eu
cd "$(dirname "$0")/.."
SETTING=${1:?usage: tools/inference_setting_decision.sh SETTING [OUT]}
OUT=${2:-runs/setting_$SETTING}
mkdir -p "$OUT"
for value in off on; do
  rm -rf "$OUT/weights_$value"; cp -r resources/weights "$OUT/weights_$value"
  python - "$OUT/weights_$value/inference.json" "$SETTING" "$value" "${VALUE:-true}" <<'PY'
import json, sys
path, name, value, on = sys.argv[1:]
settings = json.load(open(path))
on = json.loads(on)
settings[name] = on if value == "on" else (False if isinstance(on, bool) else None)
open(path, "w").write(json.dumps(settings, indent=2) + "\n")
PY
  grmnet evaluate --data data/synth --split val --limit 1250 --weights "$OUT/weights_$value" ${EVAL_ARGS:-} \
    ${SENTENCES:+--sentences "$SENTENCES"} --predictions "$OUT/$value.predictions.json" --json "$OUT/$value.json" > "$OUT/$value.out" 2> "$OUT/$value.err"
done
python - "$OUT" "$SETTING" <<'PY'
import json, os, sys
from pathlib import Path
out, name = Path(sys.argv[1]), sys.argv[2]
runs = {v: json.loads((out / f"{v}.json").read_text()) for v in ("off", "on")}
keep = ("pairs", "AP", "AP50", "AP75", "exact_selection", "no_target_accuracy")
sentences = os.environ.get("SENTENCES")
env = " ".join(f"{k}={os.environ[k]!r}" if " " in os.environ[k] else f"{k}={os.environ[k]}"
               for k in ("SENTENCES", "VALUE", "EVAL_ARGS") if os.environ.get(k))
decision = {"command": (env + " " if env else "") + f"tools/inference_setting_decision.sh {name} {out}",
            "setting": name, "sentences": sentences, "value": json.loads(os.environ.get("VALUE", "true")),
            "eval_args": os.environ.get("EVAL_ARGS", ""),
            **{v: {**{k: r[k] for k in keep}, "per_type": r["per_type"]} for v, r in runs.items()}}
decision["on_wins"] = (runs["on"]["AP"] >= runs["off"]["AP"]
                       and runs["on"]["exact_selection"] >= runs["off"]["exact_selection"])
for v in ("off", "on"):
    print(f"{name} {v}: AP {runs[v]['AP']}, exact {runs[v]['exact_selection']} % ({runs[v]['pairs']} val pairs)")
print(f"{name}: {'on' if decision['on_wins'] else 'off'}")
(out / "decision.json").write_text(json.dumps(decision, indent=1) + "\n")
PY
