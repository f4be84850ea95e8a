"""autograder/nbgrader/notebook_flag.py: an unreadable notebook is kept aside and the released one put
in its place before nbgrader reads it; the verdict becomes the notebook's first cell."""

from __future__ import annotations

import json

from nbformat import reads
from student_notebooks import RELEASE_NOTEBOOK, corrupt, filled, released, write

from autograder.nbgrader.notebook_flag import FLAG_CELL_ID, FlagNotebook, pre_convert_hook


def test_the_hook_keeps_an_unreadable_notebook_and_puts_the_released_one_in_its_place(tmp_path):
    path = corrupt(write(filled(), tmp_path / "diffusion.ipynb"))
    sent = path.read_bytes()
    pre_convert_hook(assignment="diffusion", student="alice", notebooks=[str(path)])
    assert (tmp_path / "diffusion.ipynb.unreadable").read_bytes() == sent  # nothing of the student's lost
    placeholder = json.loads(path.read_text())
    assert placeholder["cells"] == json.loads(RELEASE_NOTEBOOK.read_text())["cells"]
    assert "invalid JSON" in placeholder["metadata"]["kit"]["placeholder"]["problems"][0]
    pre_convert_hook(assignment="diffusion", student="alice", notebooks=[str(path)])  # readable now: kept
    assert json.loads(path.read_text()) == placeholder


def test_a_readable_notebook_is_left_alone(tmp_path):
    path = write(filled(), tmp_path / "diffusion.ipynb")
    before = path.read_bytes()
    pre_convert_hook(assignment="diffusion", student="alice", notebooks=[str(path)])
    assert path.read_bytes() == before and not (tmp_path / "diffusion.ipynb.unreadable").exists()


def _flagged(notebook: dict):
    nb = reads(json.dumps(notebook), as_version=4)
    return FlagNotebook(release=str(RELEASE_NOTEBOOK)).preprocess(nb, {"nbgrader": {"student": "alice"}})[0]


def test_the_verdict_is_the_first_cell_and_a_fine_notebook_gets_none(tmp_path):
    unanswered = _flagged(released())
    assert unanswered.cells[0]["id"] == FLAG_CELL_ID
    assert "Notebook check: incomplete" in unanswered.cells[0].source
    assert "5 written answer(s) not answered" in unanswered.cells[0].source
    assert _flagged(filled()).cells[0].get("id") != FLAG_CELL_ID
    path = corrupt(write(filled(), tmp_path / "diffusion.ipynb"))
    pre_convert_hook(assignment="diffusion", student="alice", notebooks=[str(path)])
    placeholder = _flagged(json.loads(path.read_text()))
    assert "Notebook check: unreadable" in placeholder.cells[0].source
    assert "diffusion.ipynb.unreadable" in placeholder.cells[0].source
