#!/usr/bin/env bash
# The main job on the embedded default chain: issue the example badges, anchor them, verify
# them, then serve the pages. Run through `make demo` (which installs first).
set -euo pipefail
cd "$(dirname "$0")/.."
export CREDANCHOR_DATA_DIR="${CREDANCHOR_DATA_DIR:-.data/demo}"
out="${CREDANCHOR_DEMO_OUT:-out/badges}"

echo "== issuing examples/badges.csv and anchoring it on the embedded chain"
credanchor issue examples/badges.csv --anchor --out "$out"
echo "== verifying the holder files in $out"
credanchor verify "$out"
echo "== tampering with one copy: verification must fail"
first=$(ls "$out"/*.json | head -n 1)
mkdir -p out/tampered
python3 - "$first" out/tampered/tampered.json <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["credentialSubject"]["achievement"]["name"] += " (edited)"
json.dump(doc, open(sys.argv[2], "w"), indent=2)
PY
if credanchor verify out/tampered/tampered.json; then echo "tampered file passed?!"; exit 1; fi
if [ "${CREDANCHOR_DEMO_SERVE:-1}" = 1 ]; then
  echo "== serving http://127.0.0.1:8000/verify (Ctrl-C to stop); drop a file from $out on it"
  exec credanchor serve --port "${PORT:-8000}"
fi
