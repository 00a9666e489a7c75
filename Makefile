# The course's two commands: `make lab` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCREENSHOTS ?= build/screenshots

LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
# JupyterLab refuses to start as root (a container's usual user) unless told it is meant
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab lab-settings test test-fast-notebooks unit notebooks lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev,teach]'
	@touch $(STAMP)

## make lab: create .venv if needed, install the course, open JupyterLab on notebooks/
lab: $(STAMP) lab-settings
	$(BIN)/jupyter lab $(LAB_ROOT) --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate notebooks/

## make lab-settings: JupyterLab defaults for the course's environment: no news pop-up, no update check
lab-settings:
	@mkdir -p $(dir $(LAB_SETTINGS))
	@printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
		> $(LAB_SETTINGS)

# pytest's workers for `make test`: most runs train on one thread, so two workers keep two cores busy.
# Each test file (a notebook) and each notebook of the browser test stays on one worker, in order;
# conftest.py hands them out longest first (the README's test budget), hence no reordering by xdist.
WORKERS ?= 2

## make test: unit tests, the browser test and every notebook (fast mode, through nbval)
test: $(STAMP)
	@mkdir -p $(SCREENSHOTS)
	@echo "Browser screenshots go to $(abspath $(SCREENSHOTS))"
	GANCOURSE_FAST=1 GANCOURSE_SCREENSHOTS=$(abspath $(SCREENSHOTS)) MPLBACKEND=Agg \
		$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
		-n $(WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 tests notebooks
	@echo "Browser screenshots are in $(abspath $(SCREENSHOTS))"

## make unit: the unit tests without the slow ones (the browser test), in well under a minute
unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -m "not slow" tests

## make notebooks: every notebook in fast mode
notebooks: $(STAMP)
	GANCOURSE_FAST=1 MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
		-n $(WORKERS) --dist loadfile --no-loadscope-reorder notebooks

lint: $(STAMP)
	$(BIN)/ruff check gancourse tests conftest.py

clean:
	rm -rf $(VENV) build .pytest_cache
