# Two commands on a fresh clone:  `make run` (the service on SQLite)  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest on two worker processes (pytest-xdist); `make test PYTEST_ARGS=` runs it in one
PYTEST_ARGS ?= -n 2

.PHONY: run test check chat bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lk3 serve

chat: $(STAMP)
	$(BIN)/lk3 chat

test: $(STAMP)
	$(BIN)/lk3 flow check
	$(BIN)/lk3 flow eval
	$(BIN)/ruff check bot flows storage tests
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/lk3 bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
