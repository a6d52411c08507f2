# WhyLab developer commands; the targets follow the shared CLI contract (CLI.md, "Make targets").
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN := .venv/bin

define lint_commands
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
endef

.PHONY: help setup venv run test lint clean package package-check

help:
	@echo "make setup   system packages (as root), .venv, llama-server and the model weights"
	@echo "make run     setup, then open the GUI on the embedded default model"
	@echo "make test    setup, then lint, type checks, import contracts and every test"
	@echo "make lint    ruff, ruff format --check, mypy and import contracts"
	@echo "make package the Linux installers in dist/: PyInstaller bundle, .deb and .run"
	@echo "make package-check  build them, then check the .deb (dpkg-deb -x, smoke, Xvfb screenshot)"
	@echo "make clean   remove .venv and tool caches (the model cache is kept)"

setup:
	scripts/setup.sh

# Just the Python environment: enough for lint, without building llama-server.
venv:
	scripts/setup.sh --venv-only

run: setup
	$(BIN)/whylab

lint: venv
	$(lint_commands)

test: setup
	$(lint_commands)
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

# Build tools (PyInstaller) are pinned in packaging/requirements.txt, never runtime deps.
package: setup
	$(BIN)/python -m pip install -q --progress-bar off -r packaging/requirements.txt
	packaging/linux/build.sh

package-check: package
	packaging/check_deb.sh "$$(ls -t dist/whylab_*.deb | awk 'NR == 1')" dist/packaged-screenshot.png

clean:
	rm -rf .venv .mypy_cache .pytest_cache .ruff_cache .import_linter_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	@echo "kept the llama-server build and model weights in $${WHYLAB_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/whylab}"
