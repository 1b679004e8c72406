# 心安 xinan — `make run` sets everything up and serves on http://127.0.0.1:8000
VENV := .venv
PY := $(VENV)/bin/python
XINAN := $(VENV)/bin/xinan
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup assets migrate demo test test-fast lint format bench clean

run: setup
	$(XINAN) compilemessages --ignore '.venv' -v 0
	$(XINAN) migrate --no-input
	$(XINAN) demo --if-empty
	$(XINAN) serve --host $(HOST) --port $(PORT)

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $$(scripts/find-python) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

assets: xinan/static/vendor/.installed

xinan/static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p xinan/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js xinan/static/vendor/
	cp node_modules/echarts/dist/echarts.min.js xinan/static/vendor/
	touch $@

migrate: setup
	$(XINAN) migrate --no-input

demo: setup
	$(XINAN) migrate --no-input
	$(XINAN) demo

test: setup
	$(XINAN) compilemessages --ignore '.venv' -v 0
	$(XINAN) makemigrations --check --dry-run -v 0
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	@command -v wrk >/dev/null || apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)
	$(PY) -m bench.run
	$(PY) -m bench.crisis_latency
	$(PY) -m bench.worker_bench --report
	$(PY) -m bench.booking
	$(PY) -m bench.cases_loop

clean:
	rm -rf $(VENV) node_modules xinan/static/vendor
