#!/usr/bin/env bash
# Grade on CUDA and on the CPU and compare: the reference must score full marks on both, and the
# reference and a few catalogued bugs must get the same verdicts (check by check) on both devices.
#
#   scripts/grade_on_gpu.sh            # on a machine with a CUDA GPU (PYTHON=... to pick the interpreter)
#   DEVICE=cpu scripts/grade_on_gpu.sh # a dry run of the script itself, CPU against CPU
#
# Writes out/gpu/<name>-<device>.json and prints the wall time of each grading; exits 1 on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
DEVICE="${DEVICE:-cuda}"
OUT="${OUT_DIR:-out/gpu}"
mkdir -p "$OUT"
unset PYTHONPATH

start=$(date +%s%N)
"$PYTHON" -m autograder grade reference --device "$DEVICE" --results "$OUT/reference-$DEVICE.json"
echo "reference on $DEVICE: $(( ($(date +%s%N) - start) / 1000000 )) ms wall, start to finish"

"$PYTHON" - "$DEVICE" "$OUT" <<'PY'
import json, shutil, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, "tests")
from autograder.checks import group_of_task
from autograder.grader import Grader
from catalogue.mutants import BUGS, apply

device, out = sys.argv[1], Path(sys.argv[2])
reference = json.loads((out / f"reference-{device}.json").read_text())
possible = sum(t["max_score"] for t in reference["tests"])
problems = [] if reference["score"] == possible else [f"reference scored {reference['score']}/{possible} on {device}"]
chosen = [b for b in BUGS if b.name in {"cumsum", "add-noise-not-broadcast", "sigma-beta-tilde", "no-clamp",
                                        "loss-sum", "drop-one-coin", "cfg-convention", "one-z"}]
verdicts = {}
for name in (device, "cpu") if device != "cpu" else ("cpu", "cpu (again)"):
    started = time.perf_counter()
    with Grader(device=name.split()[0]) as grader, tempfile.TemporaryDirectory() as tmp:
        for bug in chosen:
            root = Path(tmp) / bug.name
            shutil.copytree("reference/diffusion_models", root / "diffusion_models")
            apply(bug, root / "diffusion_models")
            report = grader.grade(root, (group_of_task(bug.tasks[0]),))
            verdicts.setdefault(bug.name, {})[name] = [(o.check.key, o.passed) for o in report.outcomes]
    print(f"{len(chosen)} catalogued bugs on {name}: {time.perf_counter() - started:.1f} s")
for bug, by_device in verdicts.items():
    first, second = by_device.values()
    if first != second:
        problems.append(f"{bug}: verdicts differ between devices: {sorted(set(first) ^ set(second))}")
print("\n".join(problems) or f"the same verdicts on {device} and cpu; full marks for the reference on {device}")
sys.exit(1 if problems else 0)
PY
