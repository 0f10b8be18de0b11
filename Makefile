# Every target bootstraps .venv from pyproject.toml itself, so a fresh machine needs only
# python3 (>= 3.11), make, and node/npm for the third-party test servers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_DEPS := tests/node/node_modules/@modelcontextprotocol/server-everything/package.json

.PHONY: run test lint bench conformance package clean system-deps installer installer-test

# System packages the tests use: a real X server and the libraries of Qt's xcb platform plugin
# (tests/installer/test_platform_probe.py). Installed when missing and apt can be used; else those tests skip.
TEST_SYSTEM_PACKAGES := xvfb libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3

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

system-deps:
	@installer/linux/system-deps.sh $(TEST_SYSTEM_PACKAGES)

test: $(STAMP) $(NODE_DEPS) system-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

conformance: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/gateway/test_conformance.py

bench: $(STAMP)
	$(BIN)/python -m bench

package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/pyinstaller --noconfirm build.spec

clean:
	rm -rf $(VENV) build dist tests/node/node_modules bench/results
