# The two commands a new user types: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean mutation

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "devplan needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/devplan demo --out demo-area

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests scripts bench
	$(BIN)/mypy

# Mutation testing (not part of `make test`): mutmut changes the boundary rules (a unit's target, the
# fiscal year's bounds, the 1 April checkpoint) and topic matching one small edit at a time and runs
# the tests that reach each edit; a surviving mutant is a change no test notices. Scope and tests:
# MUTANTS here and [tool.mutmut] in pyproject.toml; scripts/mutation_score.py scores the run.
MUTANTS ?= 'pipeline.indicators.compute.*' 'pipeline.indicators.definitions.x*target__mutmut_*' 'pipeline.topics.*' \
	'pipeline.plan_progress.x_checkpoint__mutmut_*' 'pipeline.plan_progress.x__person_plan__mutmut_*' \
	'pipeline.plan_progress.x_person_plans__mutmut_*' 'pipeline.plan_progress.x_topic_names__mutmut_*' \
	'pipeline.thai.x_fiscal_year__mutmut_*' 'pipeline.thai.x_fiscal_year_bounds__mutmut_*' \
	'pipeline.thai.x_fiscal_phase__mutmut_*'

mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut==3.8.1'
	rm -rf mutants
	$(BIN)/mutmut run $(MUTANTS) > mutation.log
	$(BIN)/python scripts/mutation_score.py mutation.log

clean:
	rm -rf demo-area $(VENV) .pytest_cache mutants mutation.log
