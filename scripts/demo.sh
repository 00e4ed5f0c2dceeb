#!/usr/bin/env bash
# The main job on the embedded default chain: issue the example badges, anchor them, verify
# them, then serve the pages. Run through `make demo` (which installs .venv first).
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's venv (Makefile), never whatever python3 or credanchor is first on PATH.
PY=.venv/bin/python
CREDANCHOR=.venv/bin/credanchor
[ -x "$CREDANCHOR" ] || { echo "no $CREDANCHOR: run \`make demo\` (it installs first)" >&2; exit 1; }
export CREDANCHOR_DATA_DIR="${CREDANCHOR_DATA_DIR:-.data/demo}"
out="${CREDANCHOR_DEMO_OUT:-out/badges}"

echo "== issuing examples/badges.csv and anchoring it on the embedded chain"
"$CREDANCHOR" issue examples/badges.csv --anchor --out "$out"
echo "== verifying the holder files in $out"
"$CREDANCHOR" verify "$out"
echo "== tampering with one copy: verification must fail"
first=$(ls "$out"/*.json | head -n 1)
mkdir -p out/tampered
"$PY" - "$first" out/tampered/tampered.json <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["credentialSubject"]["achievement"]["name"] += " (edited)"
json.dump(doc, open(sys.argv[2], "w"), indent=2)
PY
if "$CREDANCHOR" verify out/tampered/tampered.json; then echo "tampered file passed?!"; exit 1; fi
if [ "${CREDANCHOR_DEMO_SERVE:-1}" = 1 ]; then
  echo "== serving http://127.0.0.1:8000/verify (Ctrl-C to stop); drop a file from $out on it"
  exec "$CREDANCHOR" serve --port "${PORT:-8000}"
fi
