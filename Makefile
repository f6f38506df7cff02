# One command per chore. Every target creates the virtualenv it needs on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench bench-smoke docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,full]'
	touch $(STAMP)

install: $(STAMP)

## demo: a streamed chat through the whole stack against the built-in provider emulator
demo: $(STAMP)
	$(VENV)/bin/ai-lib demo

## test: the whole suite (starts what the tests need)
test: $(STAMP)
	sh scripts/ensure-redis.sh
	$(PY) -m pytest -q

## lint: ruff and mypy (strict on the package)
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy src/ai_lib_python

## bench: the benchmarks, each next to a raw-httpx baseline in the same run
bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-smoke: $(STAMP)
	$(PY) benchmarks/run.py --smoke

## docs: regenerate the generated pages (providers, errors, API) and build the site into site/
docs: $(STAMP)
	$(PY) scripts/gen_docs.py
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
