# nqbook: `make book` builds the HTML book, `make test` runs the unit tests and the notebooks.
# Both create .venv on first use (only Python >= 3.11 with venv + pip is needed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
BOOK_STAMP := $(VENV)/.installed-book
TEST_STAMP := $(VENV)/.installed-test
QUICK    := _build/quick
CHROMIUM ?= /usr/bin/chromium
# ensembles computed by the chapters are kept here (nqlib.ensemble's NQLIB_CACHE; each file is
# checked on load): a chapter re-executed after an edit recomputes only the ensembles it changed,
# and make test's HTML check loads what its notebook run computed. Set NQLIB_CACHE to override.
BOOK_ENSEMBLES  := $${NQLIB_CACHE:-$(CURDIR)/_build/ensemble-cache}
QUICK_ENSEMBLES := $${NQLIB_CACHE:-$(CURDIR)/$(QUICK)/ensemble-cache}
SOLUTIONS ?= show
# the chapters are MyST Markdown notebooks (book/*.md with a kernelspec in their front matter);
# make test converts them to .ipynb here (jupytext) for nbval and ruff: never edit these copies
NBVAL    := _build/nbval
CHAPTERS := $(shell grep -l '^kernelspec:' book/*.md)

.PHONY: book pdf test notebooks check-html check-pdf bench paper-data clean

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
# when nqlib changes, drop the caches of both builds so that every chapter runs again (and the
# stored ensembles too, although their keys already hash the code each one runs)
_build/.nqlib-stamp: $(wildcard nqlib/*.py)
	rm -rf _build/.jupyter_cache _build/.doctrees $(QUICK)/_build/.jupyter_cache $(QUICK)/_build/.doctrees
	rm -rf _build/ensemble-cache $(QUICK)/ensemble-cache
	mkdir -p _build && touch $@

## book: execute every chapter at NQLIB_SCALE=book (cached) and build _build/html strictly
book: $(BOOK_STAMP) _build/.nqlib-stamp
	NQLIB_SCALE=$${NQLIB_SCALE:-book} NQLIB_CACHE=$(BOOK_ENSEMBLES) \
		$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: file://$(CURDIR)/_build/html/index.html"

## pdf: the PDF edition _build/pdf/nqbook.pdf, printed by headless Chromium from the single-page
##      build of the executed book (make book runs first; nothing is executed twice).
##      SOLUTIONS=omit leaves the exercise solutions out (default: printed at each chapter's end)
pdf: $(TEST_STAMP) book
	$(call print_pdf,.,$${NQLIB_SCALE:-book})
	@echo "PDF: $(CURDIR)/_build/pdf/nqbook.pdf"

# $(1): the jupyter-book --path-output whose executed cache is printed, $(2): its NQLIB_SCALE
define print_pdf
	NQLIB_SCALE=$(2) $(BIN)/jupyter-book build . --builder singlehtml --path-output $(1) -W -n --keep-going
	$(BIN)/python book/_ext/pdf_edition.py $(1)/_build/singlehtml $(1)/_build/pdf/nqbook.pdf \
		--solutions $(SOLUTIONS) --chromium $(CHROMIUM)
endef

## test: ruff, unit tests, every chapter notebook under nbval at NQLIB_SCALE=quick, then check-html
##       and check-pdf (skipped, saying so, when $(CHROMIUM) is missing)
test: $(TEST_STAMP) _build/.nqlib-stamp notebooks
	$(BIN)/ruff format --check --quiet nqlib tests benchmarks book/_ext
	$(BIN)/ruff check nqlib tests benchmarks book/_ext
	$(BIN)/ruff check --line-length 79 $(NBVAL)
	$(BIN)/python -m pytest tests
	NQLIB_SCALE=quick NQLIB_CACHE=$(QUICK_ENSEMBLES) \
		$(BIN)/python -m pytest --nbval-lax $(NBVAL) -p no:cacheprovider

## notebooks: the chapters as .ipynb in $(NBVAL)/book (generated from book/*.md, outputs empty)
notebooks: $(TEST_STAMP)
	rm -rf $(NBVAL) && mkdir -p $(NBVAL)/book
	@for md in $(CHAPTERS); do \
		$(BIN)/jupytext --quiet --to ipynb --output $(NBVAL)/$${md%.md}.ipynb $$md || exit 1; done
	@if [ -x "$(CHROMIUM)" ]; then $(MAKE) --no-print-directory check-html check-pdf; \
	else echo "SKIPPED check-html, check-pdf: no Chromium at $(CHROMIUM) (apt-get install chromium, or make test CHROMIUM=/path)"; fi

## check-html: build the book at NQLIB_SCALE=quick into $(QUICK) (its own cache, never mixed with
##             the book-scale one) and check every page in headless Chromium with all external
##             requests blocked, served and from disk; screenshots in $(QUICK)/screenshots
check-html: $(TEST_STAMP) _build/.nqlib-stamp
	NQLIB_SCALE=quick NQLIB_CACHE=$(QUICK_ENSEMBLES) \
		$(BIN)/jupyter-book build . --path-output $(QUICK) -W -n --keep-going
	$(BIN)/python tests/check_html.py $(QUICK)/_build/html --screenshots $(QUICK)/screenshots --chromium $(CHROMIUM)

## check-pdf: print the quick build (after check-html, from its executed cache) and check the PDF
check-pdf: $(TEST_STAMP)
	$(call print_pdf,$(QUICK),quick)
	$(BIN)/python tests/check_pdf.py $(QUICK)/_build/pdf/nqbook.pdf

## bench: throughput tables (ratios against a baseline measured in the same run)
bench: $(BOOK_STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## paper-data: the paper-scale archives data/*.npz (about five hours of one core in all; resumable:
##             realizations are kept in _build/paper-cache). Not part of make test or make book
PAPER_DATA := anderson-w6 anderson-w6-n32 anderson-w4 anderson-w7 anderson-q1d-w2 anderson-q1d-w4 anderson-q1d-w5 gh-fab-w8 gh-iab-w8
WORKERS ?= 1
paper-data: $(BOOK_STAMP)
	@for name in $(PAPER_DATA); do $(BIN)/python -m nqlib.paper $$name --workers $(WORKERS) || exit 1; done

clean:
	rm -rf _build $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
