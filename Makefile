# The one way in: every target prints the commands it runs.
#
#   make test         install requirements.txt, run the suite on this interpreter
#   make check        mypy --strict on the package
#   make bench        run the benchmarks (BENCH_ARGS=--quick for a smoke run)
#   make wheels       sdist + pure wheel, and one mypyc-compiled wheel per interpreter
#   make test-wheels  the suite against each installed wheel, each in a fresh venv
#   make test-all     the suite on every interpreter 3.9-3.13 found under pyenv
#   make generate     rewrite soundcloud/_operations.py, models.py, namespaces.py and README's table from spec/
#
# MINORS limits wheels, test-wheels and test-all to some interpreters, e.g.
#   make wheels test-wheels MINORS=3.11

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo "$(HOME)/.pyenv")
MINORS ?= 3.9 3.10 3.11 3.12 3.13
# Current mypy no longer runs on 3.9: 3.9 gets the pure wheel only.
COMPILED_MINORS := 3.10 3.11 3.12 3.13
VENVS := .venvs
DIST := dist
# What the suite needs besides the package; the wheel venvs get nothing else
# (no mypy, no mypy_extensions), so the suite proves the wheel stands alone.
TEST_REQUIREMENTS := 'pytest>=8' 'trustme>=1.1' 'av>=12' 'mutagen>=1.45'

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

# The newest X.Y.Z interpreter pyenv has for minor version $(1), or nothing.
pyenv_python = $(shell ls -d $(PYENV_ROOT)/versions/$(1).*/bin/python 2>/dev/null \
	| grep -E '/versions/$(subst .,\.,$(1))\.[0-9]+/bin/python$$' | sort -V | tail -n 1)
$(foreach m,$(sort $(MINORS) $(COMPILED_MINORS)),$(eval PY_$(m) := $(call pyenv_python,$(m))))
FOUND := $(foreach m,$(MINORS),$(if $(PY_$(m)),$(m)))
MISSING := $(filter-out $(FOUND),$(MINORS))
FOUND_COMPILED := $(filter $(COMPILED_MINORS),$(FOUND))
# cp311 for 3.11: the tag of a compiled wheel.
cp_tag = cp$(subst .,,$(1))

.PHONY: help requirements test check bench wheels dist-pure test-wheels test-all clean generate \
	report-missing $(addprefix wheel-,$(FOUND_COMPILED)) \
	$(addprefix test-wheel-pure-,$(FOUND)) $(addprefix test-wheel-compiled-,$(FOUND_COMPILED)) \
	$(addprefix test-all-,$(FOUND))

help:
	@sed -n '1,12p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

requirements:
	$(PYTHON) -m pip install -r requirements.txt

# THE test command (README, .ci/run): the suite against the source tree.
test: requirements
	$(PYTHON) -m pytest

# The package, and a user's script of the typed API (its assert_type calls must hold).
check: requirements
	$(PYTHON) -m mypy --strict soundcloud
	$(PYTHON) -m mypy --strict tests/typed/user_script.py

# The operation table from SoundCloud's OpenAPI spec and the errata (spec/README.md); a unit
# test fails while the generated file is stale. PyYAML (requirements.txt) reads the spec.
generate: requirements
	$(PYTHON) tools/gen_operations.py

# e.g. make bench BENCH_ARGS=--quick
# The benchmark starts nginx itself; on a machine without it, install Debian's when
# running as root, else the benchmark falls back to a Python server and says so.
bench:
	if ! command -v nginx >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light || true; \
	fi
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

report-missing:
	@$(foreach m,$(MISSING),echo "skipping Python $(m): no $(PYENV_ROOT)/versions/$(m).*/bin/python";)

# --- wheels --------------------------------------------------------------------

wheels: report-missing dist-pure $(addprefix wheel-,$(FOUND_COMPILED))
	ls -l $(DIST)

# The sdist, and the pure py3-none-any wheel built from it: setuptools only.
dist-pure: requirements
	rm -rf $(DIST) build soundcloud.egg-info
	env -u SOUNDCLOUD_USE_MYPYC $(PYTHON) -m build --outdir $(DIST) .
	rm -rf build soundcloud.egg-info

# One compiled wheel per interpreter, built from the sdist (so the sdist is
# proven to carry everything a compiled build needs). pip is the frontend
# because these interpreters need not have `build`; the backend adds mypy.
$(addprefix wheel-,$(FOUND_COMPILED)): wheel-%: dist-pure
	SOUNDCLOUD_USE_MYPYC=1 $(PY_$*) -m pip wheel --no-deps --wheel-dir $(DIST) $(DIST)/soundcloud-*.tar.gz

# --- the suite against installed wheels -----------------------------------------

# $(1) venv name, $(2) interpreter, $(3) wheel glob, $(4) SOUNDCLOUD_EXPECT_COMPILED.
# The suite runs from a copy of tests/ in a temporary directory, so that
# `import soundcloud` can only find the installed package.
define test_wheel
@ls $(3) >/dev/null 2>&1 || { echo "no $(3): run 'make wheels' first" >&2; exit 1; }
rm -rf $(VENVS)/$(1)
$(2) -m venv $(VENVS)/$(1)
$(VENVS)/$(1)/bin/python -m pip install --quiet $(TEST_REQUIREMENTS)
$(VENVS)/$(1)/bin/python -m pip install --no-index --find-links $(DIST) $(3)
tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp -R tests pyproject.toml "$$tmp" && cd "$$tmp" && SOUNDCLOUD_EXPECT_COMPILED=$(4) $(CURDIR)/$(VENVS)/$(1)/bin/python -m pytest -p no:cacheprovider
endef

test-wheels: report-missing $(addprefix test-wheel-compiled-,$(FOUND_COMPILED)) $(addprefix test-wheel-pure-,$(FOUND))

$(addprefix test-wheel-pure-,$(FOUND)): test-wheel-pure-%:
	$(call test_wheel,wheel-pure-$*,$(PY_$*),$(DIST)/soundcloud-*-py3-none-any.whl,0)

$(addprefix test-wheel-compiled-,$(FOUND_COMPILED)): test-wheel-compiled-%:
	$(call test_wheel,wheel-$(call cp_tag,$*),$(PY_$*),$(DIST)/soundcloud-*-$(call cp_tag,$*)-*.whl,1)

# --- the pure suite on every interpreter ------------------------------------------

# Each interpreter gets its own venv, made once and reused; pytest runs from the
# project root, so it tests the source tree. TEST_ALL_EXCEPT leaves interpreters out
# (.ci/run: the one `make test` has just run the same suite on).
TEST_ALL_EXCEPT ?=
test-all: report-missing $(addprefix test-all-,$(filter-out $(TEST_ALL_EXCEPT),$(FOUND)))

$(addprefix test-all-,$(FOUND)): test-all-%:
	test -x $(VENVS)/py$*/bin/python || $(PY_$*) -m venv $(VENVS)/py$*
	$(VENVS)/py$*/bin/python -m pip install --quiet -r requirements.txt
	env -u SOUNDCLOUD_EXPECT_COMPILED $(VENVS)/py$*/bin/python -m pytest -p no:cacheprovider

clean:
	rm -rf $(DIST) build soundcloud.egg-info $(VENVS) .mypy_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
