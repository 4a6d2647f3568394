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

# Mutation testing (not part of `make test`): mutmut changes the indicator rules and the matching
# rules one small edit at a time and runs the tests that reach each edit; a surviving mutant is a
# change no test notices. Scope and tests: [tool.mutmut] in pyproject.toml and MUTANTS here.
MUTANTS := 'pipeline.indicators.*' 'pipeline.topics.*' \
	'pipeline.normalize.x_name_form__mutmut_*' 'pipeline.normalize.x_edit_distance__mutmut_*' \
	'pipeline.normalize.x_same_name__mutmut_*' 'pipeline.normalize.x_id_conflicts__mutmut_*' \
	'pipeline.normalize.x*PersonMatcher*' 'pipeline.normalize.x_split_choices__mutmut_*' \
	'pipeline.thai.x_normalize_thai__mutmut_*' 'pipeline.thai.x_compare_key__mutmut_*' \
	'pipeline.thai.x_name_key__mutmut_*' 'pipeline.thai.x_name_forms__mutmut_*' \
	'pipeline.thai.x_position_key__mutmut_*' 'pipeline.thai.x_position_table__mutmut_*' \
	'pipeline.thai.x_read_standing__mutmut_*' 'pipeline.thai.x__split_position__mutmut_*' \
	'pipeline.thai.x_read_position__mutmut_*'

mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut==3.8.1'
	$(BIN)/mutmut run $(MUTANTS) > mutation.log
	$(BIN)/python scripts/mutation_score.py mutation.log

clean:
	rm -rf demo-area $(VENV) .pytest_cache mutants mutation.log
