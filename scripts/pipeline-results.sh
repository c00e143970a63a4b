#!/bin/bash
# The measurements behind the README's pipeline results (issue 13's
# acceptance): the Fashion-MNIST BadNets pipeline (seed 0, per cycle) and
# the breast-cancer label-flip pipeline (seeds 0-4, mean ± std), with every
# defense. Usage: scripts/pipeline-results.sh [OUT_DIR]  (release build first).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
P="$here/.build/release/poisonlab"
out=${1:-pipeline-results}
mkdir -p "$out"
fm="$here/scenarios/pipeline/fashion-mnist-badnets.json"
bc="$here/scenarios/pipeline/breast-cancer-label-flip.json"
declare -A fm_defenses=(
  [none]='null'
  [provenance]='{"name": "provenance", "validation_size": 1000}'
  [provenance-source]='{"name": "provenance", "validation_size": 1000, "reject": "source"}'
  [provenance-500]='{"name": "provenance"}'
  [roni]='{"name": "roni", "validation_size": 1000, "batch_size": 100}'
  [trusted-only]='{"name": "trusted-only"}'
)
for name in none provenance provenance-source provenance-500 roni trusted-only; do
  "$P" run "$fm" --set "defense=${fm_defenses[$name]}" --format jsonl --output "$out/fm-$name.jsonl" --quiet --force
done
declare -A bc_configs=(
  [none]='defense=null'
  [gate-rollback]='safeguards={"validation": {"size": 30, "max_drop": 0.03}, "monitor": {"signals": ["validation_accuracy", "class_accuracy", "new_data_loss"], "window": 3}, "response": {"name": "rollback"}}'
  [provenance]='defense={"name": "provenance", "validation_size": 30}'
  [roni]='defense={"name": "roni", "validation_size": 30, "batch_size": 5}'
  [trusted-only]='defense={"name": "trusted-only"}'
)
for name in none gate-rollback provenance roni trusted-only; do
  rm -f "$out/bc-$name.jsonl"
  "$P" sweep "$bc" --set "${bc_configs[$name]}" --seeds 0-4 --output "$out/bc-$name.jsonl" --quiet --no-expect
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
def rows(path):
    return [json.loads(l) for l in open(path) if l.strip()]
print("Fashion-MNIST BadNets pipeline, seed 0")
for name in ["none", "provenance", "provenance-source", "provenance-500", "roni", "trusted-only"]:
    r = rows(f"{out}/fm-{name}.jsonl")
    rounds = [x for x in r if x["type"] == "round"]
    s = r[-1]
    asr = " ".join(f"{x['attack_success']:.2f}" for x in rounds)
    print(f"  {name:17s} accuracy {s['accuracy']:.4f}  final attack success {s['attack_success']:.4f}"
          f"  attack success per cycle: {asr}")
    print(f"  {'':13s} flagged sources {s['flagged_sources']} precision {s['source_detection_precision']} recall {s['source_detection_recall']};"
          f" deliveries precision {s['delivery_detection_precision']} recall {s['delivery_detection_recall']}"
          f"  sample precision {s['detection_precision']} recall {s['detection_recall']}")
print("Breast-cancer label-flip pipeline, seeds 0-4 (mean ± std)")
def ms(v):
    v = [x for x in v if x is not None]
    if not v: return "–"
    return f"{statistics.mean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0:.4f}"
for name in ["none", "gate-rollback", "provenance", "roni", "trusted-only"]:
    r = [x for x in rows(f"{out}/bc-{name}.jsonl") if x["type"] == "summary"]
    print(f"  {name:13s} accuracy {ms([x['accuracy'] for x in r])}  source precision {ms([x['source_detection_precision'] for x in r])}"
          f"  recall {ms([x['source_detection_recall'] for x in r])}  delivery precision {ms([x['delivery_detection_precision'] for x in r])}"
          f"  recall {ms([x['delivery_detection_recall'] for x in r])}  rollbacks {[x['rollbacks'] for x in r]}"
          f"  gate rejected {[x['gate_rejected_rounds'] for x in r]}")
PY
