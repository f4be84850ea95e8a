# The verbs users type. Every target creates .venv and installs the kit first when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Every package the kit and its tests use, at exact versions with their hashes (pip-compile's output).
LOCK := requirements/lock.txt

.PHONY: setup test test-fast lint demo release clean lock

setup: $(STAMP)

# The lock alone decides what is installed: pip checks every file against its hashes, and the kit
# itself goes in without dependencies and without a build environment (setuptools is in the lock).
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# `make lock` after a change to pyproject.toml's dependencies: pip-compile keeps every pin it can and
# adds what is new; `make lock UPGRADE=1` moves every package to its newest release. Then it writes the
# runtime pins the student, CI and Gradescope install (requirements/runtime.txt, ci/student/), so
# run `make release` and `make test` before committing them together. Hashing torch's files takes minutes.
UPGRADE ?=
lock: setup
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --extra dev --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
		--output-file $(LOCK) pyproject.toml
	$(PY) -m kit.lock

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest --durations=15

# The unit and property tests without the end-to-end runs marked slow (nbgrader, notebooks, batches).
test-fast: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -m "not slow"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

demo: setup
	$(PY) -m kit.demo

.PHONY: demo-robot
demo-robot: setup
	$(PY) -m kit.robot_demo

release: setup
	$(PY) -m kit.release

clean:
	rm -rf $(VENV) out

# The autograder: `make grade SUBMISSION=path/to/zip-or-folder` (default: the reference), and the
# Gradescope autograder zip in out/gradescope/. `make gradescope-test SUBMISSION=...` builds that zip and
# runs it as Gradescope would, in out/gradescope-test/ (the stand-in for /autograder; setup.sh installs
# nothing there: it grades with the kit's .venv), and prints where results.json is.
.PHONY: grade gradescope gradescope-test
SUBMISSION ?= reference
grade: setup
	$(PY) -m autograder grade $(SUBMISSION) --results out/results.json

gradescope: setup
	$(PY) -m autograder.gradescope --out out/gradescope

gradescope-test: setup
	$(PY) -m autograder.gradescope.local $(SUBMISSION) --root out/gradescope-test --out out/gradescope

# The written answers on Gradescope (docs/instructors.md, section 10): the template PDF of the written
# assignment, one page per question in the outline's order (reference/written/gradescope.md), written by
# the students' own command from the released notebook.
.PHONY: written-template
written-template: setup
	mkdir -p out/written
	cd release/diffusion && PYTHONDONTWRITEBYTECODE=1 $(abspath $(PY)) -m public_checks.written_pdf diffusion.ipynb \
		--template --out $(abspath out/written)/template.pdf

# A whole class: `make grade-all SUBMISSIONS=course/submitted` (nbgrader's submitted/, or a folder of
# zips) writes out/class/{results/<student>/results.json,grades.csv,summary.png}; rerun it to resume.
# On several machines: `make grade-all SHARD=K/N` on each (into out/class/shards/K), then, with the N
# folders in one place, `make grade-all-merge` (SHARDS= the folders; default out/class/shards/*).
.PHONY: grade-all grade-all-merge
SUBMISSIONS ?= submitted
WORKERS ?= 2
SHARD ?=
SHARDS ?= $(wildcard out/class/shards/*)
grade-all: setup
	$(PY) -m autograder grade-all $(SUBMISSIONS) --workers $(WORKERS) \
	  $(if $(SHARD),--shard $(SHARD) --out out/class/shards/$(firstword $(subst /, ,$(SHARD))),--out out/class)

grade-all-merge: setup
	$(PY) -m autograder grade-all merge --out out/class $(SHARDS)

# Would this machine reproduce these grades? `make explain RESULTS=out/class` (a results.json or a folder
# of them) compares each one's provenance (the grader's fingerprint, the library versions) with this machine.
.PHONY: explain
RESULTS ?= out/class
explain: setup
	$(PY) -m autograder explain $(RESULTS)

# nbgrader, from roster to grades (docs/instructors.md). nbgrader runs `alembic` from PATH, so the venv's
# bin goes first. `make nbgrader-setup ROSTER=students.csv` releases and registers the assignment
# (generate_assignment: source/diffusion holds no solution, so the release is the committed one) and
# imports the roster (nbgrader's columns: id,first_name,last_name,email); then, after the deadline,
# nbgrader-collect ZIPS=folder (one <student>.zip each) fills submitted/, and nbgrader-autograde,
# nbgrader-feedback and nbgrader-export grade, write feedback/ and grades.csv.
# `make nbgrader-autograde WORKERS=N` (N > 1, on the command line or in the environment) autogrades N
# students at once with nbgrader's own autograde (python -m autograder.nbgrader.parallel: gradebook.db has
# one writer, resumable, a failed student stops no other); without WORKERS, or WORKERS=1, it is plain
# `nbgrader autograde`, one student after another (grade-all's default of 2 workers does not apply).
.PHONY: nbgrader-setup nbgrader-collect nbgrader-autograde nbgrader-feedback nbgrader-export
NBGRADER = PATH="$(abspath $(VENV))/bin:$$PATH" $(abspath $(VENV))/bin/nbgrader
ASSIGNMENT := diffusion
ROSTER ?=
ZIPS ?= zips

nbgrader-setup: setup
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force
	$(if $(ROSTER),$(NBGRADER) db student import $(ROSTER))

nbgrader-collect: setup
	$(PY) -m kit.nbgrader_collect $(ZIPS)

NBGRADER_WORKERS = $(if $(filter command line environment,$(origin WORKERS)),$(WORKERS),1)
nbgrader-autograde: setup
	$(if $(filter-out 1,$(NBGRADER_WORKERS)),PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m \
		autograder.nbgrader.parallel --workers $(NBGRADER_WORKERS),$(NBGRADER) autograde $(ASSIGNMENT))

# --force: feedback written before the written answers were graded is written again with the TA's points.
nbgrader-feedback: setup
	$(NBGRADER) generate_feedback $(ASSIGNMENT) --force

nbgrader-export: setup
	$(NBGRADER) export
