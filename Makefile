# Two entry points a newcomer needs (see README):
#   make demo   - install, then issue the example badges, anchor and verify them on the embedded chain
#   make test   - install, then run the whole test suite (what .ci/run calls)
#
# Python runs only inside the project's virtual environment .venv, made with $(PYTHON) (any
# Python >= 3.11; Debian's own /usr/bin/python3 refuses `pip install` outside a venv, PEP 668)
# and filled with the exact versions of requirements/lock.txt. `make lock` regenerates that.
PYTHON ?= python3
NPM ?= npm
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
SLITHER_LOCK := requirements/slither-lock.txt
# The lock tool, installed into a throwaway venv by `make lock` (never into .venv).
UV_VERSION := 0.13.9
# `make lock UPGRADE=1` moves every package to its newest allowed version; `UPGRADE=flask`
# (or "flask web3") only those. Without it, versions already in the lock are kept.
UPGRADE ?=
UPGRADE_FLAGS := $(if $(filter 1,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p)))
LOCK_FLAGS := --universal --python-version 3.11 --no-header

.PHONY: setup setup-py setup-node setup-system python-venv compile test test-contracts test-py lint coverage slither demo lock

setup: setup-system setup-py setup-node

setup-system: python-venv
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# `python3 -m venv` needs ensurepip, which Debian ships apart from python3 (python3-venv).
python-venv:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "$(PYTHON) has no ensurepip: installing python3-venv"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }

setup-py: $(VENV)/.installed

# Redone when the lock or pyproject.toml changes. pip and setuptools come first, from the lock,
# so the editable install builds with the pinned setuptools (no build isolation, which would
# fetch whatever setuptools is newest). A package pyproject.toml names but the lock lacks would
# come unpinned: tests/install/test_install.py fails then (run `make lock`).
$(VENV)/.installed: pyproject.toml $(LOCK) | python-venv
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c $(LOCK) pip setuptools
	$(PY) -m pip install -q --disable-pip-version-check -c $(LOCK) --no-build-isolation -e ".[dev]"
	$(PY) -m pip check
	@touch $@

setup-node:
	@[ -x node_modules/.bin/hardhat ] && [ node_modules/.package-lock.json -nt package-lock.json ] || $(NPM) ci --no-audit --no-fund

compile: setup-node
	npx hardhat compile --quiet

test-contracts: compile
	npx hardhat test

test-py: setup-py
	$(PY) -m pytest -q

lint: setup
	npx solhint 'contracts/**/*.sol'
	$(PY) -m ruff check service tests scripts bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

coverage: compile
	npx hardhat coverage

slither: compile setup-py
	PYTHON=$(PY) bash scripts/slither.sh

test: setup lint test-contracts coverage slither test-py

demo: setup-py
	bash scripts/demo.sh

# Re-resolve requirements/lock.txt (runtime + dev + build) and requirements/slither-lock.txt
# with uv, itself installed into a throwaway venv. Needs the package index; commit the result.
lock: python-venv
	@set -e; tool=$$(mktemp -d); trap 'rm -rf "$$tool"' EXIT; \
	$(PYTHON) -m venv "$$tool"; \
	"$$tool/bin/python" -m pip install -q --disable-pip-version-check uv==$(UV_VERSION); \
	compile() { out=$$1; shift; \
	  "$$tool/bin/uv" pip compile -q $(LOCK_FLAGS) $(UPGRADE_FLAGS) -o "$$out" "$$@"; \
	  { echo "# Exact versions of every package below; do not edit by hand."; \
	    echo "# Regenerate with \`make lock\` (README: Upgrading dependencies), which runs, in a"; \
	    echo "# throwaway venv, uv==$(UV_VERSION):"; \
	    echo "#   uv pip compile $(LOCK_FLAGS) -o $$out $$*"; \
	    cat "$$out"; } > "$$out.tmp"; \
	  mv "$$out.tmp" "$$out"; }; \
	compile $(LOCK) pyproject.toml --extra dev requirements/build.in; \
	compile $(SLITHER_LOCK) requirements/slither.in
