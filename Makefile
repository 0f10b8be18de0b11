# Every target bootstraps .venv from pyproject.toml itself, so a fresh machine needs only
# python3 (>= 3.11), make, and node/npm for the third-party test servers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_DEPS := tests/node/node_modules/@modelcontextprotocol/server-everything/package.json

.PHONY: run test lint bench conformance package clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_DEPS): tests/node/package.json
	cd tests/node && npm install --no-audit --no-fund --loglevel=error

run: $(STAMP)
	$(BIN)/switchboard

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy

test: $(STAMP) $(NODE_DEPS) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

conformance: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/gateway/test_conformance.py

# Installs the peer gateways it compares against into bench/.peers/ (not the app's venv) on first use.
bench: $(STAMP)
	$(BIN)/python -m bench

package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/pyinstaller --noconfirm build.spec

clean:
	rm -rf $(VENV) build dist tests/node/node_modules bench/results bench/.peers
