#!/bin/bash
# Renders a report's HTML in headless Chromium (Debian's chromium package):
# the DOM the browser builds must hold as many <svg> elements as the HTML
# file, and a screenshot is kept for people to look at
# (.build/report-screenshot.png, a CI artifact). Usage: scripts/html-check.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
P="$here/.build/release/poisonlab"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "html-check: chromium is not installed (sudo apt-get install chromium)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$P" sweep "$here/scenarios/federated/sweep-report-synthetic.json" --seeds 0-2 \
  --output "$work/results.jsonl" --quiet
"$P" report "$work/results.jsonl" --panels defense --html "$work/report.html" > /dev/null
expected=$(grep -o '<svg' "$work/report.html" | wc -l)
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile")
"$browser" "${flags[@]}" --dump-dom "file://$work/report.html" > "$work/dom.html" 2> "$work/chromium.log"
rendered=$(grep -o '<svg' "$work/dom.html" | wc -l)
tables=$(grep -o '<table' "$work/dom.html" | wc -l)
mkdir -p "$here/.build"
"$browser" "${flags[@]}" --window-size=1400,3200 --screenshot="$here/.build/report-screenshot.png" \
  "file://$work/report.html" 2>> "$work/chromium.log"
if [ "$expected" -lt 3 ] || [ "$rendered" -ne "$expected" ] || [ "$tables" -lt 1 ]; then
  echo "html-check: the report holds $expected <svg>, Chromium's DOM $rendered, tables $tables" >&2
  exit 1
fi
echo "html-check: Chromium rendered all $rendered SVG figures and $tables tables; screenshot .build/report-screenshot.png"
