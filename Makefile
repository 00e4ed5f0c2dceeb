# Two entry points a newcomer needs (see README):
#   make demo   - install, then issue the example badges, anchor and verify them on the embedded chain
#   make test   - install, then run the whole test suite (what .ci/run calls)
PYTHON ?= python3
NPM ?= npm

.PHONY: setup setup-py setup-node setup-system compile test test-contracts test-py lint coverage slither demo

setup: setup-system setup-py setup-node

setup-system:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

setup-py:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e ".[dev]"

setup-node:
	@[ -x node_modules/.bin/hardhat ] && [ node_modules/.package-lock.json -nt package-lock.json ] || $(NPM) ci --no-audit --no-fund

compile: setup-node
	npx hardhat compile --quiet

test-contracts: compile
	npx hardhat test

test-py: setup-py
	$(PYTHON) -m pytest -q

lint: setup
	npx solhint 'contracts/**/*.sol'
	$(PYTHON) -m ruff check service tests scripts
	$(PYTHON) -m mypy

coverage: compile
	npx hardhat coverage

slither: compile
	bash scripts/slither.sh

test: setup lint test-contracts coverage slither test-py

demo: setup-py
	bash scripts/demo.sh
