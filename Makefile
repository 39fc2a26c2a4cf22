# Two commands for a newcomer: `make demo` and `make test`. Each does all of its own set-up.
#
# torch is installed first, from TORCH_SPEC / TORCH_INDEX, so that resolving the package's own
# (wide) torch range finds it already satisfied instead of pulling a multi-GB CUDA build.
# Elsewhere, e.g.:  make test TORCH_SPEC="torch==2.5.1+cpu" TORCH_INDEX=https://download.pytorch.org/whl/cpu

PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
PORT        ?= 8888
HOST        ?= 127.0.0.1

BIN   := $(VENV)/bin
PY    := $(BIN)/python
STAMP := $(VENV)/.rw-installed
TORCH_INDEX_ARG := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)
NOTEBOOKS_ENV := RW_PROGRESS=0 PYTHONHASHSEED=0 MPLBACKEND=agg
# A second CPU configuration for everything whose figures come from training: torch's
# non-vectorised kernels (present on every CPU) and one OpenMP thread (another summation order).
# The notebooks and the verdict tests must give the same results under it as on this CPU's own
# kernels, against the same committed outputs.
PORTABLE_ENV  := ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1
VERDICT_TESTS := tests/engine/test_check_bugs.py tests/engine/test_check_clean.py \
                 tests/engine/test_check_state.py tests/engine/test_check_tools.py \
                 tests/engine/test_watch.py tests/engine/test_watch_loops.py tests/test_corpus.py

.PHONY: demo test setup unit notebooks browser bench-smoke bench-tools lint clean

demo: $(STAMP)
	@echo "recipe_widgets demo: JupyterLab at http://$(HOST):$(PORT)/lab/tree/notebooks/00_tour.ipynb"
	$(BIN)/jupyter lab --no-browser --ip=$(HOST) --port=$(PORT) \
	    --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/00_tour.ipynb \
	    $(if $(filter 0,$(shell id -u)),--allow-root,)

setup: $(STAMP)

# Re-install when the project's metadata changes; a present, current .venv costs nothing.
$(STAMP): pyproject.toml
	@start=$$(date +%s); \
	test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	$(PY) -m pip install --quiet --upgrade pip && \
	$(PY) -m pip install --quiet $(TORCH_INDEX_ARG) "$(TORCH_SPEC)" && \
	$(PY) -m pip install --quiet $(TORCH_INDEX_ARG) -e ".[test,bench,lightning,transformers,tensorboard,data]" && \
	$(PY) -m pip install --quiet --no-deps -r requirements-bench-nodeps.txt && \
	touch $(STAMP); \
	status=$$?; echo "== phase set-up: $$(( $$(date +%s) - start )) s"; exit $$status

test: $(STAMP)
	@total=$$(date +%s); \
	$(MAKE) --no-print-directory lint unit notebooks bench-smoke browser || exit 1; \
	echo "== make test: all phases passed in $$(( $$(date +%s) - total )) s"

lint: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/ruff check recipe_widgets tests benchmarks scripts \
	    && $(BIN)/ruff format --check recipe_widgets tests benchmarks scripts; status=$$?; \
	echo "== phase lint: $$(( $$(date +%s) - start )) s"; exit $$status

unit: $(STAMP)
	@start=$$(date +%s); \
	RW_PROGRESS=0 $(PY) -m pytest tests --ignore=tests/browser -q -p no:cacheprovider; status=$$?; \
	echo "== phase unit tests: $$(( $$(date +%s) - start )) s"; [ $$status = 0 ] || exit $$status; \
	start=$$(date +%s); \
	$(PORTABLE_ENV) RW_PROGRESS=0 $(PY) -m pytest $(VERDICT_TESTS) -q -p no:cacheprovider; status=$$?; \
	echo "== phase verdict tests, portable kernels ($(PORTABLE_ENV)): $$(( $$(date +%s) - start )) s"; \
	exit $$status

# The course notebooks, twice: on this CPU's kernels, then on the portable ones (PORTABLE_ENV).
notebooks: $(STAMP)
	@start=$$(date +%s); \
	$(NOTEBOOKS_ENV) $(PY) -m pytest --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg notebooks/ -q -p no:cacheprovider; status=$$?; \
	echo "== phase notebooks, native kernels: $$(( $$(date +%s) - start )) s"; [ $$status = 0 ] || exit $$status; \
	start=$$(date +%s); \
	$(PORTABLE_ENV) $(NOTEBOOKS_ENV) $(PY) -m pytest --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg notebooks/ -q -p no:cacheprovider; status=$$?; \
	echo "== phase notebooks, portable kernels ($(PORTABLE_ENV)): $$(( $$(date +%s) - start )) s"; \
	exit $$status

bench-smoke: $(STAMP)
	@start=$$(date +%s); status=0; \
	for b in benchmarks/*.py; do \
	    [ -e "$$b" ] || continue; \
	    echo "-- $$b --smoke"; $(PY) $$b --smoke || status=1; \
	done; \
	echo "== phase benchmarks (smoke): $$(( $$(date +%s) - start )) s"; exit $$status

# Installs Debian's Chromium when it is missing and we may (root); RW_REQUIRE_BROWSER=1 makes a
# missing browser a failure instead of a skip.
browser: $(STAMP)
	@start=$$(date +%s); \
	if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null \
	        || echo "could not install chromium"; \
	fi; \
	$(PY) -m pytest tests/browser -m browser -q -p no:cacheprovider; status=$$?; \
	[ $$status = 5 ] && [ "$$RW_REQUIRE_BROWSER" != 1 ] && status=0; \
	echo "== phase browser tests: $$(( $$(date +%s) - start )) s"; exit $$status

# Competitors whose pins clash with ours (ydata-profiling wants older numpy / pandas) get their
# own environment; benchmarks/explorer.py runs them from it in a subprocess. Not part of `test`.
bench-tools:
	test -x .venv-ydata/bin/python || $(PYTHON) -m venv .venv-ydata
	.venv-ydata/bin/python -m pip install --quiet ydata-profiling

clean:
	rm -rf $(VENV) .venv-ydata .pytest_cache .ruff_cache test-artifacts build dist *.egg-info
