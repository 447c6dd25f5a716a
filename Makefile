# Everyday commands. Everything runs from the project's own virtualenv in .venv, which every
# target builds (or refreshes) first, so a fresh clone needs only `make demo` or `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k claim -x". The suite runs in one
# process: with pytest-xdist, -n 2 was slower on a 2-core machine (SQLite 9 s -> 12 s,
# PostgreSQL 30 s -> 40 s), since the 20-thread claim test wants every core and each worker
# builds its own test database. PYTEST_ARGS="-n 4 --dist loadfile" is there for bigger machines.
PYTEST_ARGS ?=

.PHONY: venv demo test lint fmt check worker prod bench bench-headcount

venv: $(VENV)/.installed

# Reinstall only when the dependencies changed: the stamp is newer than both files otherwise.
# The lock pins the whole tree; the editable install adds no code (packages = []), only deps.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

# The embedded defaults: SQLite, in-memory channel layer, eager Celery, Daphne's runserver.
demo: export DEBUG = 1
demo: venv
	$(BIN)/python manage.py migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# Tests run with DEBUG off, as production does; the settings then insist on a SECRET_KEY.
test: venv
	env -u DEBUG SECRET_KEY="$${SECRET_KEY:-test-only-insecure-key}" \
		$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Checked with DEBUG off, so the production settings are the ones checked.
check: venv
	SECRET_KEY="$${SECRET_KEY:-check-only-insecure-key}" \
		$(BIN)/python manage.py makemigrations --check --dry-run
	SECRET_KEY="$${SECRET_KEY:-check-only-insecure-key}" $(BIN)/python manage.py check

# A separate worker cannot share the in-memory broker of the web process: it needs Redis.
worker: venv
	@test -n "$$REDIS_URL" || { echo "make worker needs REDIS_URL, e.g. redis://127.0.0.1:6379/0" >&2; exit 2; }
	$(BIN)/celery -A accountability worker --loglevel=INFO

# The production shape on one machine (README "Deployment"): the Procfile's uvicorn with
# WEB_CONCURRENCY workers, a Celery worker and beat, run by honcho on PostgreSQL and Redis.
# Settings come from the environment, the one migrate saw too: honcho's .env is not read.
prod: venv
	@test -n "$$DATABASE_URL" || { echo "make prod needs DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/accountability" >&2; exit 2; }
	@test -n "$$REDIS_URL" || { echo "make prod needs REDIS_URL, e.g. redis://127.0.0.1:6379/0" >&2; exit 2; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	@# The deployment checks are shown (the README says which settings clear them), not enforced.
	$(BIN)/python manage.py check --deploy --fail-level CRITICAL
	PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start --env /dev/null --port "$${PORT:-8000}"

# Every performance benchmark, each on its own throwaway PostgreSQL database (bin/bench):
# ingest (single, 4 clients, batches, and raw COPY of the same rows), the review page and a
# review cycle, a 20-page PDF, claim-next with BENCH_SCALE waiting items and 20 reviewers, the
# dashboards at BENCH_SCALE items and the feedback export of BENCH_SCALE records. Each prints a
# table and writes .bench/NAME.json; bench_report then prints every figure against its target
# and writes .bench/summary.json. About 15 min at the default 1,000,000.
BENCH_SCALE ?= 1000000
bench: venv
	BENCH_SCALE=$(BENCH_SCALE) bin/bench

# Reviewers needed at 10,000 items/day for 8 weeks: a fixed 0.9 threshold on the agents' own
# confidence against calibrated routing with threshold advice, for honest, overconfident and
# uninformative agents. Pure models, no database; figures also go to .bench/headcount.json.
bench-headcount: venv
	mkdir -p .bench
	SECRET_KEY=bench-only $(BIN)/python manage.py bench_headcount --json .bench/headcount.json
