#!/bin/bash
# The measurements behind the README's "Federated results (W1)" and
# "Update channel results (W1)" tables: every scenario of
# scenarios/federated/w1-*.json and scenarios/channel/*.json (seed 0), one
# line of figures each. Usage: scripts/w1-results.sh [OUT_DIR]  (after
# `make build`; about 20 s per scenario on 2 cores).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
P="$here/.build/release/poisonlab"
out=${1:-w1-results}
mkdir -p "$out"
for f in "$here"/scenarios/federated/w1-*.json "$here"/scenarios/channel/*.json; do
  case "$f" in *.invalid.json) continue ;; esac
  name=$(basename "$f" .json)
  # liar-client diverges by design (exit 3): its rows up to the stop are kept.
  "$P" run "$f" --format jsonl --output "$out/$name.jsonl" --quiet --force \
    2> "$out/$name.err" || echo "$name: exit $? ($(tail -1 "$out/$name.err"))"
done
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
# A run that stopped (liar-client) leaves its rows in NAME.jsonl.partial.
files = {n.split(".jsonl")[0]: n for n in sorted(os.listdir(out), reverse=True)
         if n.endswith(".jsonl") or n.endswith(".jsonl.partial")}
for name in sorted(files):
    rows = [json.loads(l) for l in open(os.path.join(out, files[name])) if l.strip()]
    summary = next((r for r in rows if r["type"] == "summary"), None)
    last = summary or [r for r in rows if r["type"] == "round"][-1]
    def f(key):
        v = last.get(key)
        return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
    line = (f"{name}: accuracy {f('accuracy')}, flagged {f('flagged')}, "
            f"precision {f('detection_precision')}, recall {f('detection_recall')}")
    if summary and summary.get("messages_total") is not None:
        line += (f", messages {f('messages_total')}, rejected signature/stale/unknown/duplicate "
                 f"{f('rejected_signature_total')}/{f('rejected_stale_total')}/"
                 f"{f('rejected_unknown_total')}/{f('rejected_duplicate_total')}, "
                 f"honest dropped {f('honest_dropped_total')}")
        dropped = sum(r.get("secagg_dropped") or 0 for r in rows if r["type"] == "round")
        if summary.get("secagg_bytes_per_client") is not None:
            line += (f", secagg failed rounds {f('secure_aggregation_failed_rounds')}, dropped {dropped}, "
                     f"bytes per client {summary['secagg_bytes_per_client']:.0f}")
    if summary is None:
        line += f" (stopped after round {last['round']})"
    print(line)
PY
