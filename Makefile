# The two commands of the quick start: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install clean bench

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (see README)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: 2.13.0 is the CPU build; letting a resolver pick one pulls CUDA (GBs).
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,bench]"
	@touch $(STAMP) $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/newsstand run --demo

# PostgreSQL runs too when NEWSSTAND_TEST_POSTGRES_URL is set (.ci/run sets it).
test: $(TEST_STAMP)
	$(BIN)/python -m pytest
	@if [ -n "$$NEWSSTAND_TEST_POSTGRES_URL" ]; then \
		echo "== the database tests again, on PostgreSQL =="; \
		NEWSSTAND_DATABASE_URL="$$NEWSSTAND_TEST_POSTGRES_URL" $(BIN)/python -m pytest -m django_db; \
	fi

clean:
	rm -rf $(VENV) var
