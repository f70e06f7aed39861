# Everything a fresh machine needs goes through here; README's first lines call `run` and `test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test test-fast lint format services system bench docs docs-serve clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed ## create .venv and install Freshline with its dev tools

run: install ## the demo: a local backend, the simulated city, and the console on it (q quits all)
	$(BIN)/freshline

services: ## start the local PostgreSQL and Redis used by the tests, if they are installed and down
	@if command -v pg_ctlcluster >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; fi
	@if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /var/lib/redis --logfile /var/log/redis/ci.log || true; fi

SYSTEM_PACKAGES := chromium nginx openssh-client tmux

system: ## the Debian packages the tests drive (a real browser, a real reverse proxy), if missing
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi; \
		echo "installing Debian packages:$$missing"; \
		$$sudo apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy  # the packages, as pyproject's [tool.mypy] says: strict for the contract and the store

test: install services system lint ## install, lint, and run the whole test suite
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder -m "not serial" --durations=15  # three workers on two cores: most tests wait on a server process; a file per worker at a time, the long ones first (tests/conftest.py)
	$(BIN)/pytest -m serial  # whole demos, timing bounds and the shared Redis channel: alone

test-fast: install services ## the inner loop: everything not marked slow, on two cores (about 110 s of CPU)
	$(BIN)/pytest -n 2 -m "not slow and not serial" -q

bench: install services ## every benchmark beside its baseline (about 15 min); BENCH_ARGS="--scale 0.5" scales the loads
	$(BIN)/python bench/run.py $(BENCH_ARGS)

docs: install ## the docs site (README as its home page, the API reference from the OpenAPI schema) into site/
	$(BIN)/mkdocs build --strict

docs-serve: install ## the docs site on http://127.0.0.1:8000, rebuilt as pages change
	$(BIN)/mkdocs serve --strict

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site
