#!/usr/bin/env bash
# Static analysis of contracts/ with slither, offline.
#
#   bash scripts/slither.sh
#
# slither-analyzer needs web3<8 while the service pins web3 8, so it lives in its own venv
# (.venv-slither, git-ignored), created on first use with the project venv's Python and filled
# with the exact versions of requirements/slither-lock.txt (`make lock`). Hardhat compiles
# first with the pinned solc-js (no compiler download); slither then reads Hardhat's
# build-info instead of compiling again (slither.config.json: hardhat_ignore_compile).
# Exits non-zero on any medium or high finding. Findings and exclusions: docs/contract.md.
set -euo pipefail

cd "$(dirname "$0")/.."

VENV=".venv-slither"
LOCK="requirements/slither-lock.txt"
PYTHON="${PYTHON:-.venv/bin/python}"

# Reinstalled whenever the lock changes: the venv keeps a copy of the lock it was made from.
if [ ! -x "$VENV/bin/slither" ] || ! cmp -s "$LOCK" "$VENV/installed-lock.txt"; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK"
  "$VENV/bin/python" -m pip check
  cp "$LOCK" "$VENV/installed-lock.txt"
fi

# --force drops stale build-info files, which slither would otherwise analyse too.
npx hardhat compile --force --quiet

"$VENV/bin/slither" . --config-file slither.config.json --fail-medium "$@"
