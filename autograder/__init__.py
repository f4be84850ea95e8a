"""The autograder: property checks of every task, judged out of the student's reach.

    python -m autograder grade SUBMISSION [--results results.json] [--device auto|cpu|cuda]

Layout, by who may read each line (students hold public/ and nothing else; README.md orders it by
pipeline stage):
    public/        the checks that ship to students (one module per task group: its probes and
                   public checks, which judge properties of the output, with concept hints), the
                   judge's numeric helpers, the stand-ins; copied by
                   ``python -m kit.release`` into release/diffusion/public_checks/; with them
                   reports.py (JUnit, Markdown, GitHub Classroom) and ``python -m public_checks``
    checks/        the hidden checks, one module per task group, and the group registry; the
                   oracles that name known mistakes (window indices, the rollout replay)
    closed_forms   the judge's float64 maths, the spec's linear schedule among them
    policy, hints  the instructor's hint level (none / concept / code) and the code-level hints
    sandbox/       where student code runs: the grader's side (host: the zygote's handle, per-group
                   sessions, limits), the child's side (child), their messages (wire), the fences
                   (confine, cgroups, watchdog); README.md there: fences, limits, guarantees
    submission     finding and copying the student's diffusion_models/
    grader, report, cli   orchestration, results.json and the table, the command line
    classroom/     grade-all: a whole class in parallel workers, grades.csv, summary.png
    gradescope/    the Gradescope deployment: the zip, setup.sh, run_autograder, what students see
                   when (the visibility policy), and ``make gradescope-test``
"""

__version__ = "0.1.0"  # the kit's version: pyproject.toml's (tests/test_provenance.py)
