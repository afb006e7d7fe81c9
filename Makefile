# Conv2d backprop assignment kit. `make help` lists the commands by role. Every target
# works on the lab LAB names (default assignment/config.toml), e.g. `make verify LAB=examples/linear_lab/config.toml`.
# Every target sets up what it needs: the virtual environment (.venv, pinned
# requirements), the sandbox runtime and the fixture sets.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
OTTER_STAMP := $(VENV)/.otter-$(shell cat requirements.txt requirements-otter.txt | cksum | cut -d' ' -f1)
# The lab: the path of its config.toml (every path the lab needs is named there).
LAB ?= assignment/config.toml
ifeq ($(wildcard $(LAB)),)
$(error LAB=$(LAB) is not a file: LAB names a lab's config.toml, e.g. LAB=examples/linear_lab/config.toml)
endif
KIT := $(PY) -m autograder --config "$(LAB)"
# Read from the config: its fixture set's manifest, its hidden seed's file (staff-only, never
# shipped), its figures' script, and the files whose change makes the fixture sets stale.
LAB_PATHS := $(shell test -x $(PY) && $(PY) -m autograder.staff.make_paths "$(LAB)" 2>/dev/null)
FIXTURES := $(or $(word 1,$(LAB_PATHS)),build/fixtures/hidden/manifest.json)
HIDDEN_SEED := $(or $(word 2,$(LAB_PATHS)),assignment/secrets/hidden_seed)
FIGURES_SOURCE := $(or $(word 3,$(LAB_PATHS)),assignment/make_figures.py)
FIXTURE_INPUTS := $(wordlist 4,1000,$(LAB_PATHS))
SUBMISSIONS ?=
OUT ?= out/grades

.DEFAULT_GOAL := help
.PHONY: help conv-lab-only setup venv sandbox otter-setup fixtures grade test test-fast figures autograder handout otter prairielearn verify mutants bench clean

help:
	@echo "Every target:  LAB=path/to/config.toml                        the lab (default assignment/config.toml)"
	@echo "Instructor:  make grade [SUBMISSIONS=folder] [OUT=out/grades]   grade a folder of submissions"
	@echo "               [JOBS=N] [FORCE=1] [ONLY=alice,bob]              jobs at once, regrade all, regrade some"
	@echo "             make autograder                                    build/autograder.zip for Gradescope"
	@echo "             make handout                                       build/handout.zip for students"
	@echo "             make otter                                         build/otter/: otter-grader zip and tests"
	@echo "             make prairielearn [PL_IMAGE=registry/name:tag]     build/prairielearn/: question, serverFilesCourse, image"
	@echo "TA:          make fixtures [NEW_SEED=1 | SEED=N]                (re)build the fixture sets from the secret hidden seed"
	@echo "                                                                ($(HIDDEN_SEED)); NEW_SEED=1: a new random one (new term)"
	@echo "             make verify                                        reference full, template zero, examples"
	@echo "             make mutants [LIMIT=N]                             mutation score of the checks (tools/MUTANTS.md, mutants.json)"
	@echo "Developer:   make test                                          the kit's whole test suite"
	@echo "             make test-fast                                     the fast tier, tests/unit: each engine module alone (< 1 min)"
	@echo "             make bench [QUICK=1] [BATCH_ONLY=1]                benchmarks -> bench/RESULTS.md"
	@echo "               [REALISTIC_ONLY=1]                               only the realistic hidden cases' cost"
	@echo "               [FAIRNESS_ONLY=1]                                only: one grade idle, beside CPU hogs, beside a hostile neighbour"
	@echo "Handout:     make figures                                       regenerate the handout's figures"

# --- set-up -----------------------------------------------------------------
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# The sandbox's machine set-up (when root: bubblewrap and libseccomp2 from apt, the
# worker's Python and the chroot built from it; see autograder/runtime.py); idempotent.
sandbox: $(STAMP)
	@$(PY) -m autograder.runtime

# otter-grader[grading] 7.0.0, and a .pth so the `otter` command can import the kit's plugin.
$(OTTER_STAMP): $(STAMP) requirements-otter.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-otter.txt
	$(PY) -m autograder.staff.otter_bridge install
	@rm -f $(VENV)/.otter-*
	@touch $@

otter-setup: $(OTTER_STAMP)

setup: venv sandbox otter-setup

# Rebuilt when the reference, the lab's builder, checks, config or hidden seed change; a few seconds
# (the realistic cases' oracle answers take most of it). With no hidden seed yet (a fresh clone) it
# draws a random one into $(HIDDEN_SEED); $(wildcard) so that a missing seed file is no error.
$(FIXTURES): $(STAMP) $(LAB) $(wildcard $(HIDDEN_SEED)) $(FIXTURE_INPUTS) autograder/fixtures.py autograder/seeds.py
	$(KIT) fixtures

# NEW_SEED=1 draws a new random hidden seed (a new term); SEED=N sets one (at least 2**64).
fixtures: $(STAMP)
	$(KIT) fixtures $(if $(filter 1 yes true,$(NEW_SEED)),--new-seed) $(if $(SEED),--seed "$(SEED)")

# --- instructor ---------------------------------------------------------------
# FORCE=1 regrades everything; ONLY=alice,bob regrades exactly those ids; JOBS=N grading processes.
grade: setup $(FIXTURES)
	$(KIT) batch $(if $(SUBMISSIONS),"$(SUBMISSIONS)",--examples) --out "$(if $(SUBMISSIONS),$(OUT),out/examples)" \
		$(if $(filter 1 yes true,$(FORCE)),--force) $(if $(JOBS),--jobs "$(JOBS)") $(if $(ONLY),--only "$(ONLY)")

autograder: setup $(FIXTURES)
	$(KIT) package gradescope --out build/autograder.zip

handout: setup $(FIXTURES)
	$(KIT) package handout --out build/handout.zip

otter: setup $(FIXTURES)
	$(KIT) package otter --out build/otter

# PL_IMAGE: the grader image info.json names (build and push it from build/prairielearn/image).
prairielearn: venv $(FIXTURES)
	$(KIT) package prairielearn --out build/prairielearn $(if $(PL_IMAGE),--image "$(PL_IMAGE)")

# --- TA -------------------------------------------------------------------------
verify: setup $(FIXTURES)
	$(KIT) verify

mutants: conv-lab-only setup $(FIXTURES)
	$(PY) tools/mutants.py $(if $(LIMIT),--limit $(LIMIT)) $(if $(JOBS),--jobs $(JOBS))

# Mutation testing (tools/mutants.py) and the benchmarks (bench/) are studies of the conv lab: its
# oracle, its kernels, its catalogue's attacks. With another LAB they stop rather than measure it.
conv-lab-only:
	@test "$(abspath $(LAB))" = "$(abspath assignment/config.toml)" || \
	{ echo "make $(MAKECMDGOALS) studies the conv lab (assignment/config.toml) only; LAB=$(LAB) is another lab" >&2; exit 2; }

# --- developer ----------------------------------------------------------------
# pytest exits 5 when it collects nothing: that must fail loudly, never pass.
test: setup $(FIXTURES)
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; fi; exit $$rc

# The fast tier: one test module per engine module (tests/unit), no sandbox, no grading run, no
# subprocess, no fixture set; so only the venv, not the sandbox's set-up or the fixtures.
test-fast: $(STAMP)
	@$(PY) -m pytest tests/unit; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; fi; exit $$rc

# Kernels (reference vs lecture loops vs torch when installed) and grading speed.
bench: conv-lab-only setup $(FIXTURES)
	$(KIT) package otter --out build/otter >/dev/null
	$(PY) bench/run.py $(if $(QUICK),--quick) $(if $(BATCH_ONLY),--batch-only) $(if $(REALISTIC_ONLY),--realistic-only) $(if $(FAIRNESS_ONLY),--fairness-only)

figures: $(STAMP)
	@test "$(FIGURES_SOURCE)" != - || { echo "$(LAB) names no [handout] figures_source" >&2; exit 1; }
	$(PY) $(FIGURES_SOURCE)

clean:
	rm -rf build out .pytest_cache .hypothesis
