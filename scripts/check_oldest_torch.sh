#!/usr/bin/env bash
# The reference and the public checks under the oldest torch the kit supports (kit/lock.py's
# OLDEST_SUPPORTED, what the student's requirements.txt admits), beside the locked one:
#
#     bash scripts/check_oldest_torch.sh            # writes out/oldest-torch/
#
# A venv in out/oldest-torch/venv gets torch 2.13.0 (on a machine whose pip finds only PyPI, add
# --index-url https://download.pytorch.org/whl/cpu) and every other runtime pin of requirements/runtime.txt.
# torchvision is left out: only the CIFAR-10 loader imports it, lazily, and the 0.28.0 that matches
# torch 2.13.0 is not on every machine this runs on. Then, with that venv's Python:
#   1. python -m autograder grade reference: every check, public and hidden, on the reference;
#   2. python -m public_checks in a student's folder (the release with the reference's package), as a
#      student runs it.
# Exits non-zero unless both give full marks.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/oldest-torch
VENV="$OUT/venv"
TORCH=$(python3 -c 'from kit.lock import OLDEST_SUPPORTED; print(OLDEST_SUPPORTED["torch"])')
mkdir -p "$OUT"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "torch==$TORCH"
grep -v -E '^(#|torch==|torchvision==)' requirements/runtime.txt > "$OUT/runtime-without-torch.txt"
"$VENV/bin/python" -m pip install --quiet -r "$OUT/runtime-without-torch.txt"
"$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'

# 1. Every check on the reference.
PYTHONPATH="$PWD" "$VENV/bin/python" -m autograder grade reference --device cpu --quiet \
    --results "$OUT/results.json" --fail-under 100

# 2. The public checks as a student runs them.
student="$OUT/student"
rm -rf "$student"
cp -r release/diffusion "$student"
rm -rf "$student/diffusion_models"
cp -r reference/diffusion_models "$student/diffusion_models"
public_points=$(PYTHONPATH="$PWD" "$VENV/bin/python" -c \
    'from autograder.public import PUBLIC_CHECKS; print(sum(c.points for c in PUBLIC_CHECKS))')
(cd "$student" && ../venv/bin/python -m public_checks --fail-under "$public_points")
echo "torch $TORCH: the reference and the public checks pass"
