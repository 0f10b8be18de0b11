# Every target bootstraps .venv from pyproject.toml itself, so a fresh machine needs only
# python3 (>= 3.11), make, and node/npm for the third-party test servers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ifeq ($(OS),Windows_NT)
# where venv puts python.exe on Windows (the recipes run in Git Bash there)
BIN := $(VENV)/Scripts
endif
STAMP := $(VENV)/.installed
NODE_DEPS := tests/node/node_modules/@modelcontextprotocol/server-everything/package.json

.PHONY: run test lint lock bench conformance package clean system-deps installer installer-test

# System packages the tests use: a real X server and the libraries of Qt's xcb platform plugin
# (tests/installer/test_platform_probe.py). Installed when missing and apt can be used; else those tests skip.
TEST_SYSTEM_PACKAGES := xvfb libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3

# The pinned set (requirements-dev.lock: the app, its tests and PyInstaller), then the app itself.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-pin after changing dependencies in pyproject.toml: the app alone (installers) and with its dev tools
# (and the otel extra, so its tests run).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-header --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra package --extra otel --universal --python-version 3.11 \
		--no-header --quiet -o requirements-dev.lock

$(NODE_DEPS): tests/node/package.json
	cd tests/node && npm install --no-audit --no-fund --loglevel=error

run: $(STAMP)
	$(BIN)/switchboard

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

system-deps:
	@installer/linux/system-deps.sh $(TEST_SYSTEM_PACKAGES)

test: $(STAMP) $(NODE_DEPS) system-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

conformance: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/gateway/test_conformance.py

# Installs the peer gateways it compares against into bench/.peers/ (not the app's venv) on first use;
# then tool search mode on a catalog of real servers (also installed under bench/.peers/).
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.tool_search

package: $(STAMP)
	$(BIN)/pyinstaller --noconfirm build.spec

# The installer for the OS this runs on: a .deb (Linux), a .dmg (macOS), an Inno Setup .exe (Windows).
UNAME := $(shell uname -s)
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)
DEB := dist/switchboard_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb
# What the installer's build and its test use on Linux besides the test packages above.
INSTALLER_SYSTEM_PACKAGES := binutils dpkg x11-utils imagemagick

ifeq ($(UNAME),Linux)
installer: package
	@installer/linux/system-deps.sh binutils
	$(BIN)/python installer/linux/build_deb.py
else ifeq ($(UNAME),Darwin)
installer: $(STAMP)
	installer/macos/build.sh
else
installer: $(STAMP)
	$(BIN)/python installer/windows/make_ico.py
	$(MAKE) package
	installer/windows/build.sh
endif

# Linux only, by hand and in the release workflow (too slow for `make test`): builds the .deb, installs it
# into a throwaway root, runs it from there (an MCP call, the Qt probe, the panel under Xvfb), removes it.
installer-test: installer system-deps
	@installer/linux/system-deps.sh $(INSTALLER_SYSTEM_PACKAGES)
	SWITCHBOARD_DEB=$(DEB) $(BIN)/python -m pytest -q -p no:cacheprovider tests/installer/test_deb.py

clean:
	rm -rf $(VENV) build dist tests/node/node_modules bench/results bench/.peers
