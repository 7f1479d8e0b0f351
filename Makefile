# statwarehouse — two commands for a newcomer:
#   make demo   set up .venv, run the nightly DAG on the bundled sample, print the 2021 plan gap
#   make test   set up .venv, run the whole test suite (needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STATWH_HOME ?= $(CURDIR)/var
export STATWH_HOME

# Airflow for the demo lives under var/ (SQLite metadata, LocalExecutor): no server needed.
AIRFLOW_ENV := AIRFLOW_HOME=$(STATWH_HOME)/airflow \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	PATH=$(BIN):$$PATH

.PHONY: venv demo test bench clean

# --compile-bytecode: every process (each airflow or statwh command, each test subprocess) reads
# compiled modules. Where PYTHONDONTWRITEBYTECODE is set Python never writes them, and importing
# Great Expectations from source took 30 s against 7 s compiled.
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

demo: venv
	@mkdir -p $(STATWH_HOME)/logs
	@$(BIN)/statwh sample --to $(STATWH_HOME)/landing > /dev/null
	@echo "== sample files placed in $(STATWH_HOME)/landing"
	@$(AIRFLOW_ENV) $(BIN)/airflow db migrate > $(STATWH_HOME)/logs/airflow-db-migrate.log 2>&1 \
		|| (tail -30 $(STATWH_HOME)/logs/airflow-db-migrate.log; exit 1)
	@echo "== running the nightly DAG (airflow dags test statwh_nightly); log: $(STATWH_HOME)/logs/demo-dag-run.log"
	@$(AIRFLOW_ENV) $(BIN)/airflow dags test statwh_nightly > $(STATWH_HOME)/logs/demo-dag-run.log 2>&1 \
		|| (tail -60 $(STATWH_HOME)/logs/demo-dag-run.log; exit 1)
	@# what this run did (run again, the files are already processed: the batches below are the first run's)
	@grep -o "[0-9]* files: [0-9]* loaded, .* figures" $(STATWH_HOME)/logs/demo-dag-run.log | tail -1 | sed 's/^/== this run: /'
	@$(BIN)/statwh batches --last 10
	@echo "== 2021 plan gap (thực hiện so với kế hoạch)"
	@$(BIN)/statwh plan-gap --year 2021

# One test process per core (at most 4): most tests wait on a database, a subprocess or a DAG run,
# and each worker has its own PostgreSQL template and Airflow home. PYTEST_PARALLEL= runs serially.
PYTEST_PARALLEL ?= --numprocesses=auto --maxprocesses=4

test: venv
	@scripts/ensure-chromium.sh
	@$(BIN)/python -m pytest $(PYTEST_PARALLEL); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

bench: venv
	$(BIN)/python benchmarks/load_bench.py

clean:
	rm -rf $(VENV) var
