#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image: Python, a virtual environment and
# the packages of requirements.txt (torch from its CPU wheel index; Gradescope has no GPU).
set -euo pipefail
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet \
    --extra-index-url https://download.pytorch.org/whl/cpu -r /autograder/source/requirements.txt
