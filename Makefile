# nqbook: `make book` builds the HTML book, `make test` runs the unit tests and the notebooks.
# Both create .venv on first use (only Python >= 3.11 with venv + pip is needed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
BOOK_STAMP := $(VENV)/.installed-book
TEST_STAMP := $(VENV)/.installed-test

.PHONY: book test bench check-notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BOOK_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book]"
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	touch $@ $(BOOK_STAMP)

# Sphinx re-reads (and jupyter-book re-executes) a chapter only when its own source changed:
# when nqlib changes, drop both caches so that every chapter runs again
_build/.nqlib-stamp: $(wildcard nqlib/*.py)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $@

## book: execute every chapter at NQLIB_SCALE=book (cached) and build _build/html strictly
book: $(BOOK_STAMP) _build/.nqlib-stamp
	NQLIB_SCALE=$${NQLIB_SCALE:-book} $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: file://$(CURDIR)/_build/html/index.html"

## test: unit tests, then every chapter notebook under nbval at NQLIB_SCALE=quick
test: $(TEST_STAMP)
	$(BIN)/python -m pytest tests
	NQLIB_SCALE=quick $(BIN)/python -m pytest --nbval-lax book/ -p no:cacheprovider

## bench: throughput tables (ratios against a baseline measured in the same run)
bench: $(BOOK_STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf _build $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
