# sourcediff developer tasks. Needs only python3 (venv + pip) on a clean machine.
#   make install   .venv with `pip install -e '.[test]'` (stamp file: re-runs only when pyproject.toml changes)
#   make test | demo | lint | bench | soak [N=1000] [JOBS=2] | test-all | dist
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.sourcediff-installed
N      ?= 1000
JOBS   ?= 2
PY_MINORS   := 9 10 11 12 13

.PHONY: all install demo test bench lint soak test-all dist
all: test

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -e '.[test]'
	@touch $@

demo: install
	$(VPY) examples/walkthrough.py

test: install
	$(VPY) -m pytest -q

lint: install
	$(VPY) -m ruff check sourcediff tests examples benchmarks
	$(VPY) -m pyflakes sourcediff tests examples benchmarks

# The optional peers (same as the `bench` extra) are retried one by one so one failing peer skips only itself.
bench: install
	-$(VPY) -m pip install -q -e '.[bench]'
	-$(VPY) -m pip install -q autograd
	-$(VPY) -m pip install -q 'jax[cpu]'
	-$(VPY) -m pip install -q torch==2.13.0
	$(VPY) benchmarks/run.py

soak: install
	$(VPY) -m tests.soak --n $(N) --jobs $(JOBS)

# Run the suite under every python3.9 .. python3.13 found on PATH or in ~/.pyenv/versions,
# each in its own .venv-3.X; print one summary line per interpreter; fail if any fails.
test-all:
	@status=0; found=0; summary=""; \
	for m in $(PY_MINORS); do \
	  v=3.$$m; py=""; \
	  for c in "$$(command -v python$$v 2>/dev/null)" $$(ls -d $(HOME)/.pyenv/versions/$$v.*/bin/python 2>/dev/null | sort -V -r); do \
	    if [ -n "$$c" ] && [ "$$("$$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$$v" ]; then py="$$c"; break; fi; \
	  done; \
	  if [ -z "$$py" ]; then summary="$$summary\npython$$v: not found, skipped"; continue; fi; \
	  found=1; venv=.venv-$$v; \
	  echo "=== python$$v ($$py) in $$venv"; \
	  if { [ -x $$venv/bin/python ] || "$$py" -m venv $$venv; } && \
	     { [ $$venv/.sourcediff-installed -nt pyproject.toml ] || \
	       { $$venv/bin/python -m pip install -q -e '.[test]' && touch $$venv/.sourcediff-installed; }; } && \
	     $$venv/bin/python -m pytest -q; then \
	    summary="$$summary\npython$$v: PASS ($$py)"; \
	  else summary="$$summary\npython$$v: FAIL ($$py)"; status=1; fi; \
	done; \
	printf "\n== test-all summary ==$$summary\n"; \
	if [ $$found = 0 ]; then echo "test-all: no python3.9..3.13 found"; exit 1; fi; \
	exit $$status

# A wheel and an sdist in dist/ (tests/test_dist.py installs both into clean venvs and runs a smoke test).
dist: install
	rm -rf dist
	$(VPY) -m build --outdir dist .
