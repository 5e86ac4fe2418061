# bluegreen: developer and CI entry points. `make test` brings a fresh Debian machine
# from nothing to a green test run (packages, docker engine, images, venv).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?= -q --durations=25  # every run names its 25 slowest tests: the suite runs near its 30-min limit

LOCKS := python/requirements.lock python/requirements-dev.lock
VENV_STAMP := $(VENV)/.bluegreen-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: help env packages docker images venv test test-python clean-venv demo demo-down bundle bundle-check

help:  ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

# ---------------------------------------------------------------- environment
env: packages docker images venv  ## everything tests need: apt packages, engine, images, venv

packages:  ## apt-install what is missing (nothing when all present)
	@bash scripts/ensure-packages.sh

docker: packages  ## start the docker engine unless it answers
	@bash scripts/ensure-docker.sh

images: docker  ## build the local test images when their inputs changed
	@bash scripts/build-images.sh

venv: $(VENV_STAMP)  ## $(VENV) with the locked deps and bluegreen (editable)

# Reruns only when a lock file or pyproject changes. A Debian python3 without
# python3-venv leaves a venv without pip: install it and start over.
$(VENV_STAMP): $(LOCKS) python/pyproject.toml
	@if ! $(PYTHON) -m venv --clear $(VENV) >/dev/null 2>&1 || ! [ -x $(VENV)/bin/pip ]; then \
		echo "venv: '$(PYTHON) -m venv' failed; installing python3-venv"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q python3-venv; \
		rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	fi
	$(VENV)/bin/pip install -q --disable-pip-version-check $(addprefix -r ,$(LOCKS))
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e python/
	@touch $@

clean-venv:  ## remove $(VENV)
	rm -rf $(VENV)

# ---------------------------------------------------------------- tests
# Each part depends on env itself (cheap when warm) so it also runs alone or under -j.
test: bundle-check test-groovy lint-groovy test-python  ## all tests (brings the environment up first)

# The benches' smoke forms run here too (tests/test_bench_smoke.py): their plot needs the bench's pins.
test-python: env $(BENCH_STAMP)  ## the pytest suite
	$(VENV)/bin/pytest tests/ $(PYTEST_ARGS)

# The bad-input corpus and the generated inputs with the "bad-inputs-fuzz" hypothesis profile (3,000 examples
# per property instead of 60; no Docker needed, a few minutes). `make test` runs the same tests, bounded.
.PHONY: fuzz
fuzz: venv  ## generated bad input, many more examples (hypothesis profile bad-inputs-fuzz)
	BLUEGREEN_FUZZ=1 $(VENV)/bin/pytest tests/unit/test_config_fuzz.py tests/unit/test_bad_input_corpus.py $(PYTEST_ARGS)

# ---------------------------------------------------------------- bundle (the CLI the Jenkins steps deliver)
bundle: venv  ## rebuild resources/bluegreen/bluegreen.pyz from python/ (reproducible)
	$(VENV)/bin/python scripts/build-bundle.py

bundle-check: venv  ## fail when resources/bluegreen/bluegreen.pyz is out of date with python/
	$(VENV)/bin/python scripts/build-bundle.py --check

# ---------------------------------------------------------------- demo
demo: env  ## nginx + demo app: deploy v1, v2, status, rollback, status; leaves it running
	@bash scripts/demo.sh

demo-down:  ## remove what `make demo` started
	@bash scripts/demo-down.sh

## groovy
# The shared library's pipeline code on Groovy 2.4 (the Jenkins core's) and CodeNarc: tests/groovy/.
.PHONY: test-groovy lint-groovy

test-groovy: packages  ## the pipeline tests (vars/, Jenkinsfile, Rollback pipeline) on groovy 2.4
	bash tests/groovy/run-tests.sh

lint-groovy: packages  ## CodeNarc via npm-groovy-lint 16.2.0 on vars/ and the Jenkinsfiles (zero errors)
	bash tests/groovy/lint.sh

# ---------------------------------------------------------------- bench
# The zero-downtime proof (README "Proof"): blue-green against the recreate baseline under load, ~8 minutes.
.PHONY: bench

# matplotlib (for the plot) only for the bench, pinned apart from the runtime and test locks.
$(BENCH_STAMP): bench/requirements.lock $(VENV_STAMP)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r bench/requirements.lock
	@touch $@

bench: env $(BENCH_STAMP)  ## prove it: failed requests, rollback time, reloads → bench/results/<date>.{json,md,png}
	$(VENV)/bin/python bench/zero_downtime_bench.py

# Past one machine (docs/growing.md "From one machine to three"): the Swarm mode on a manager and two workers of the
# tests' own (tests/swarm_nodes.py, root and docker-registry; the machine's engine only lends the images), 4 tasks
# per color, 20 cycles, ~10 minutes. `make chaos CHAOS_ARGS=--nodes` runs the node-loss rows there (N1, N2).
.PHONY: bench-nodes
bench-nodes: env $(BENCH_STAMP)  ## Swarm across 2 workers under load → bench/results/swarm-nodes-<date>.{json,md,png}
	$(VENV)/bin/python bench/zero_downtime_bench.py --nodes

# Long answers and open connections with the real backend (docs/real-backend.md "Proof: 20 cycles with the real
# backend"): SSE streams, WebSockets and short GETs through 20 deploy + rollback cycles per switch mode, the recreate
# baseline, two fault rows; ~35 minutes. Hold both locks around it on a shared machine (HELPERS.md).
.PHONY: bench-real
bench-real: env $(BENCH_STAMP)  ## SSE, WebSockets through deploys → bench/results/real-backend-<date>.*
	$(VENV)/bin/python bench/real_backend_bench.py $(BENCH_REAL_ARGS)

# The fault bench (README "Faults"): every fault row at an exact phase, both switch modes, ~20 minutes. It takes
# /tmp/bluegreen-heavy.lock itself (waiting for it) because row 11 restarts dockerd, which stops every container
# on the machine without live-restore: don't wrap it in another flock on that file.
.PHONY: chaos
chaos: env  ## faults under load, each at an exact phase (takes the heavy lock) → bench/results/faults-<date>.{json,md}
	flock /tmp/bluegreen-heavy.lock $(VENV)/bin/python bench/chaos_bench.py --dockerd $(CHAOS_ARGS)
