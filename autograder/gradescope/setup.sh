#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: Python >= 3.11, a virtual
# environment in $ROOT/venv and the packages of requirements.txt (torch from its CPU wheel index;
# Gradescope has no GPU). run_autograder grades with $ROOT/venv/bin/python.
#
# AUTOGRADER_ROOT (default /autograder, as on Gradescope) is where the zip was unpacked (ROOT/source)
# and where the venv goes. PREINSTALLED_PYTHON, for a local run (make gradescope-test): a Python that
# already has requirements.txt installed; then nothing is installed (no apt, no pip) and ROOT/venv/bin/python
# runs that Python. Without it, pip installs only into ROOT/venv, never into the system's Python.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

if [ -n "${PREINSTALLED_PYTHON:-}" ]; then
    if ! new_enough "$PREINSTALLED_PYTHON"; then
        echo "setup.sh: PREINSTALLED_PYTHON=$PREINSTALLED_PYTHON is not a Python >= 3.11" >&2
        exit 1
    fi
    mkdir -p "$VENV/bin"
    printf '#!/usr/bin/env bash\nexec %q "$@"\n' "$PREINSTALLED_PYTHON" > "$VENV/bin/python"
    chmod +x "$VENV/bin/python"
    echo "setup.sh: nothing installed; $VENV/bin/python runs $PREINSTALLED_PYTHON"
    exit 0
fi

# 1. A Python >= 3.11: the image's own, or python3.11 from the distribution (Ubuntu 22.04, Gradescope's
#    default base image, has 3.10 as python3 and python3.11 in its universe repository).
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" > /dev/null && new_enough "$candidate"; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    if command -v apt-get > /dev/null; then
        apt-get update -q
        apt-get install -y -q python3.11 python3.11-venv
    elif command -v dnf > /dev/null; then
        dnf install -y -q python3.11
    fi
    PYTHON=python3.11
    if ! new_enough "$PYTHON"; then
        echo "setup.sh: no Python >= 3.11 and none could be installed; pick a base image that has one" >&2
        exit 1
    fi
fi

# 2. The venv (Debian and Ubuntu ship the venv module apart, as pythonX.Y-venv) and the packages.
if ! "$PYTHON" -m venv "$VENV" 2> /dev/null; then
    apt-get install -y -q "$("$PYTHON" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}-venv")')"
    "$PYTHON" -m venv "$VENV"
fi
# requirements.txt is the kit's requirements/runtime.txt: every package at the version of its lock.
# The venv's own pip installs it (no `pip install --upgrade pip`: that would install an unpinned pip).
"$VENV/bin/python" -m pip install --quiet \
    --extra-index-url https://download.pytorch.org/whl/cpu -r "$ROOT/source/requirements.txt"
