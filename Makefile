# Horizon: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo run test fuzz lint eval train bench serve web clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install Horizon with its test tools

demo: $(STAMP) ## Run the weekly job offline on the bundled sample snapshot
	$(BIN)/horizon run --replay demo/snapshot

run: $(STAMP) ## Run the weekly job against the live sources in sources.yaml
	$(BIN)/horizon run

test: $(STAMP) ## Run the test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: $(STAMP) ## Long fuzzing: normaliser, URLs, dates, feeds (hypothesis) and the API (schemathesis)
	HORIZON_FUZZ=1 HORIZON_FUZZ_EXAMPLES=200 $(BIN)/python -m pytest tests/test_fuzz.py \
		tests/test_web_api_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check horizon pipelines spiders tests evaluation bench demo
	$(BIN)/ruff format --check horizon pipelines spiders tests evaluation bench demo
	$(BIN)/mypy

eval: $(STAMP) ## Measure tagging, de-duplication and search on ../shared/eval
	$(BIN)/python -m evaluation

train: $(STAMP) ## Rebuild the packaged tagger from evaluation/data/items.jsonl (choices by 5-fold CV)
	$(BIN)/python -m evaluation.train

bench: $(STAMP) ## Speed and memory benchmarks (search latency, ingest overhead)
	$(BIN)/python -m bench

serve: $(STAMP) ## Serve the weekly flow with Prefect on its cron schedule
	$(BIN)/horizon serve

web: $(STAMP) ## The team workspace on http://127.0.0.1:8000/
	$(BIN)/horizon web

clean: ## Remove the virtualenv and generated data in the project directory
	rm -rf $(VENV) index digests state.db runs .prefect
