#!/usr/bin/env bash
# Static analysis of contracts/ with slither, offline.
#
#   bash scripts/slither.sh
#
# slither-analyzer needs web3<8 while the service pins web3 8, so it lives in its own venv
# (.venv-slither, git-ignored), created on first use. Hardhat compiles first with the pinned
# solc-js (no compiler download); slither then reads Hardhat's build-info instead of
# compiling again (slither.config.json: hardhat_ignore_compile).
# Exits non-zero on any medium or high finding. Findings and exclusions: docs/contract.md.
set -euo pipefail

cd "$(dirname "$0")/.."

SLITHER_VERSION="0.11.6"
VENV=".venv-slither"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/slither" ] || ! "$VENV/bin/slither" --version 2>/dev/null | grep -qx "$SLITHER_VERSION"; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "slither-analyzer==$SLITHER_VERSION"
fi

# --force drops stale build-info files, which slither would otherwise analyse too.
npx hardhat compile --force --quiet

"$VENV/bin/slither" . --config-file slither.config.json --fail-medium "$@"
