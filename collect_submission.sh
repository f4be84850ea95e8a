#!/usr/bin/env bash
# Collect your submission: zip what is graded into diffusion_submission.zip.
#
# Run it in your assignment folder, the one that holds diffusion.ipynb and diffusion_models/
# (save the notebook first):
#
#     bash collect_submission.sh          # the zip, for the autograder
#     bash collect_submission.sh --pdf    # the zip, then diffusion_written.pdf for a written assignment
#
# The zip holds the notebook and the files of diffusion_models/ that contain your TODOs, under their
# own names; the autograder puts them into a fresh copy of the package you were given. If a file is
# missing or was renamed, the script lists what is missing and writes no zip. The zip is written to a
# temporary file and renamed when complete, so a half-written zip is never left behind.
#
# Before zipping, it checks the notebook (public_checks/notebook.py, what the graders check too): a
# notebook that cannot be read is refused (no zip); written answers left unanswered, or a notebook saved
# without its outputs or figures, are warnings: the zip is written, but fix them and rerun if you can.
#
# With --pdf it then writes diffusion_written.pdf, your written answers for a Gradescope written
# assignment: one question per page in the course's order, each with your answer and the figures it
# asks about (python -m public_checks.written_pdf, which needs matplotlib; run that on its own anywhere,
# Windows too).
set -euo pipefail

ZIP="diffusion_submission.zip"
PDF=0
for argument in "$@"; do
    case "$argument" in
        --pdf) PDF=1 ;;
        *)
            echo "error: unknown option $argument: run 'bash collect_submission.sh', or with --pdf to write" >&2
            echo "diffusion_written.pdf (your written answers for Gradescope) too" >&2
            exit 2
            ;;
    esac
done

# The graded files (tests/test_collect_submission.py keeps this list equal to the files with solution
# markers in the course's solutions/).
FILES=(
    diffusion.ipynb
    diffusion_models/computer_vision/image_gen.py
    diffusion_models/diffusion_model.py
    diffusion_models/noise_scheduler.py
    diffusion_models/robotics/normalizer.py
    diffusion_models/robotics/rollout.py
    diffusion_models/robotics/windows.py
)

missing=()
for name in "${FILES[@]}"; do
    if [[ ! -f "$name" || -L "$name" ]]; then
        missing+=("$name")
    fi
done
if (( ${#missing[@]} > 0 )); then
    echo "error: no zip written: ${#missing[@]} graded file(s) missing from $(pwd):" >&2
    printf '    %s\n' "${missing[@]}" >&2
    echo "Run this script in your assignment folder (the one with diffusion.ipynb and diffusion_models/)," >&2
    echo "and keep the files' names: the autograder looks for exactly these paths." >&2
    exit 1
fi

PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
    for candidate in python3 python; do
        if command -v "$candidate" > /dev/null 2>&1; then
            PYTHON="$candidate"
            break
        fi
    done
fi
if [[ -z "$PYTHON" ]]; then
    echo "error: no zip written: python3 (or python) is needed; set PYTHON=/path/to/python" >&2
    exit 1
fi

if [[ -f public_checks/notebook.py ]]; then
    if ! "$PYTHON" public_checks/notebook.py diffusion.ipynb; then
        echo "error: no zip written: diffusion.ipynb cannot be graded as it is (see above)" >&2
        exit 1
    fi
fi

partial="$(mktemp "$ZIP.partial.XXXXXX")"
trap 'rm -f "$partial"' EXIT
"$PYTHON" - "$partial" "${FILES[@]}" << 'EOF'
import json
import sys
import zipfile

partial, notebook, names = sys.argv[1], sys.argv[2], sys.argv[2:]
try:
    with open(notebook, encoding="utf-8") as handle:
        json.load(handle)
except ValueError as err:
    sys.exit(f"error: no zip written: {notebook} is not a readable notebook ({err}); save it in Jupyter and rerun")
with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
    for name in names:
        archive.write(name, name)
        print(f"    {name}")
EOF
# mktemp made the file private (0600): give the zip the mode any new file gets (0644 with umask 022).
chmod "$(printf '%o' $(( 0666 & ~0$(umask) )))" "$partial"
mv -f "$partial" "$ZIP"
trap - EXIT
echo "wrote $ZIP (${#FILES[@]} files); upload it to the autograder"
if (( PDF )); then
    "$PYTHON" -m public_checks.written_pdf diffusion.ipynb --out diffusion_written.pdf
fi
