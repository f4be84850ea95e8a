"""autograder/public/written_pdf.py (public_checks/written_pdf.py): the student's PDF for a Gradescope
written assignment, run as students run it in a copy of the release and read back with poppler-utils
(pdftotext, pdfimages, pdftoppm; .ci/run installs them): one question per page in the outline's order,
each answer's text, each figure's own pixels, and a page saying so for a missing answer or figure."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from assignment_folders import ZIP_NAME, student_folder
from PIL import Image
from student_notebooks import answer_cells, corrupt, figure_cells, filled, png, write

from kit import REPO_ROOT

PDF = "diffusion_written.pdf"
OUTLINE = REPO_ROOT / "reference" / "written" / "gradescope.md"  # the instructor's outline


def _poppler(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command[0]} failed (poppler-utils: .ci/run installs it): {done.stderr}"
    return done.stdout


def _outline_titles() -> list[str]:
    written = OUTLINE.read_text(encoding="utf-8").split("## Written assignment", 1)[1].split("## Rubric")[0]
    rows = [line for line in written.splitlines() if line.startswith("| ") and line[2].isdigit()]
    return [row.split(" | ")[1].replace("\\|", "|") for row in rows]


def _answers(notebook: dict) -> dict[str, str]:
    """A different answer for each question, with Markdown and LaTeX as students type them."""
    texts = {}
    for number, cell in enumerate(answer_cells(notebook), start=1):
        grade_id = cell["metadata"]["nbgrader"]["grade_id"]
        texts[grade_id] = (
            f"Answer {number} of {grade_id}: $\\bar\\alpha_t$ falls,\n- so x_t is noise {number}."
        )
        cell["source"] = texts[grade_id]
    return texts


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "public_checks.written_pdf", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _page_text(pdf: Path, page: int) -> str:
    return " ".join(_poppler("pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-").split())


def _page_count(pdf: Path) -> int:
    info = _poppler("pdfinfo", str(pdf))
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture(scope="module")
def filled_pdf(tmp_path_factory) -> tuple[Path, dict, dict[str, str]]:
    folder = student_folder(tmp_path_factory.mktemp("pdf") / "student", solved=False)
    notebook = filled(seed=40)
    answers = _answers(notebook)
    write(notebook, folder / "diffusion.ipynb")
    done = _run(folder)
    assert done.returncode == 0, done.stderr
    assert f"wrote {PDF}" in done.stdout and not done.stderr
    return folder / PDF, notebook, answers


def test_one_page_per_question_in_the_outlines_order_with_each_answer(filled_pdf):
    pdf, notebook, answers = filled_pdf
    outline = notebook["metadata"]["kit"]["written"]
    titles = _outline_titles()
    assert _page_count(pdf) == len(outline) == len(titles) == len(answers)
    for number, (entry, title) in enumerate(zip(outline, titles, strict=True), start=1):
        text = _page_text(pdf, number)
        assert f"Question {number} of {len(titles)}: {title}" in text
        assert " ".join(answers[entry["grade_id"]].split()) in text  # the student's text, as typed
        assert "UNANSWERED" not in text and f"page {number} of {len(titles)}" in text
        others = [g for g in answers if g != entry["grade_id"]]
        assert not any(" ".join(answers[g].split()) in text for g in others)


def test_each_page_holds_the_figures_its_question_refers_to_with_their_own_pixels(filled_pdf, tmp_path):
    pdf, notebook, _ = filled_pdf
    shows = [cell["metadata"]["kit"]["figure"] for cell in figure_cells(notebook)]
    for number, entry in enumerate(notebook["metadata"]["kit"]["written"], start=1):
        prefix = tmp_path / f"page{number}"
        _poppler("pdfimages", "-png", "-f", str(number), "-l", str(number), str(pdf), str(prefix))
        extracted = sorted(tmp_path.glob(f"page{number}-*.png"))
        expected = [png(40 + shows.index(figure)) for figure in entry["figures"]]
        assert len(extracted) == len(expected), f"page {number}: {len(extracted)} images, wanted {expected}"
        for got, want in zip(extracted, expected, strict=True):
            original = np.asarray(Image.open(io.BytesIO(want)).convert("RGB"))
            stored = np.asarray(Image.open(got).convert("RGB"))  # matplotlib's PDF stores rows bottom up
            assert np.array_equal(stored[::-1], original), f"page {number}: {got.name} is not the figure"
        text = _page_text(pdf, number)
        assert all(f"Figure: {figure}" in text for figure in entry["figures"])


def test_the_pages_render(filled_pdf, tmp_path):
    pdf, notebook, _ = filled_pdf
    _poppler("pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(notebook["metadata"]["kit"]["written"])
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"))
        assert pixels.shape[0] > pixels.shape[1] and pixels.min() < 100  # portrait, with something drawn


def test_a_missing_answer_or_figure_still_gets_its_page_saying_so(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    notebook = filled()
    cells = answer_cells(notebook)
    unanswered, deleted = (
        cells[1]["metadata"]["nbgrader"]["grade_id"],
        cells[3]["metadata"]["nbgrader"]["grade_id"],
    )
    cells[1]["source"] = "YOUR ANSWER HERE"
    notebook["cells"].remove(cells[3])
    outline = notebook["metadata"]["kit"]["written"]
    wanted = next(entry for entry in outline if entry["figures"])
    figure = next(c for c in figure_cells(notebook) if c["metadata"]["kit"]["figure"] == wanted["figures"][0])
    figure["outputs"] = [o for o in figure["outputs"] if "data" not in o]
    write(notebook, folder / "diffusion.ipynb")
    done = _run(folder)
    assert done.returncode == 0, done.stderr
    pdf = folder / PDF
    assert _page_count(pdf) == len(outline)
    for number, entry in enumerate(outline, start=1):
        text = _page_text(pdf, number)
        if entry["grade_id"] == unanswered:
            assert "UNANSWERED: its answer cell is empty or still says YOUR ANSWER HERE" in text
        elif entry["grade_id"] == deleted:
            assert "UNANSWERED: its answer cell is not in the notebook" in text
        else:
            assert "UNANSWERED" not in text
        if entry is wanted:
            assert "MISSING FIGURE" in text and "holds no image" in text
    assert f"question 2 ({outline[1]['title']}) is unanswered" in done.stderr
    assert f"figure {wanted['figures'][0]!r} is missing" in done.stderr


def test_an_unreadable_notebook_gives_no_pdf_and_says_how_to_recover(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    corrupt(write(filled(), folder / "diffusion.ipynb"))
    done = _run(folder)
    assert done.returncode == 1 and not (folder / PDF).exists()
    assert "error: no PDF written: diffusion.ipynb is not a readable notebook (invalid JSON" in done.stderr
    assert not list(folder.glob(f"{PDF}*"))  # no partial file left either


def test_a_notebook_without_the_courses_outline_is_refused_by_name(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    notebook = filled()
    del notebook["metadata"]["kit"]
    write(notebook, folder / "diffusion.ipynb")
    done = _run(folder)
    assert done.returncode == 1 and "has no outline of its written questions" in done.stderr


def test_bad_arguments_are_refused(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    done = _run(folder, "--out", "answers.txt")
    assert done.returncode == 2 and "--out answers.txt: give a file name ending in .pdf" in done.stderr


@pytest.mark.slow
def test_collect_submission_with_pdf_writes_the_zip_then_the_pdf(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    write(filled(), folder / "diffusion.ipynb")
    env = {**os.environ, "PYTHON": sys.executable}  # the Python that runs the notebook, as the guide says
    done = subprocess.run(
        ["bash", "collect_submission.sh", "--pdf"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert (folder / ZIP_NAME).is_file() and _page_count(folder / PDF) == len(
        json.loads((folder / "diffusion.ipynb").read_text())["metadata"]["kit"]["written"]
    )
    wrong = subprocess.run(
        ["bash", "collect_submission.sh", "--pfd"], cwd=folder, capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "unknown option --pfd" in wrong.stderr


def test_the_template_is_the_outlines_pages_with_the_questions_only(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)  # the release as it is: no answer, no output
    done = _run(folder, "--template", "--out", "template.pdf")
    assert done.returncode == 0, done.stderr
    outline = json.loads((folder / "diffusion.ipynb").read_text())["metadata"]["kit"]["written"]
    pdf = folder / "template.pdf"
    assert _page_count(pdf) == len(outline) and not done.stderr
    for number, (entry, title) in enumerate(zip(outline, _outline_titles(), strict=True), start=1):
        text = _page_text(pdf, number)
        assert f"Question {number} of {len(outline)}: {title}" in text
        assert " ".join(entry["question"].replace("**", "").split()) in text
        assert "UNANSWERED" not in text and "MISSING FIGURE" not in text
    assert _poppler("pdfimages", "-list", str(pdf)).splitlines()[2:] == []


def test_an_image_pasted_into_the_answer_and_a_figure_cell_without_its_metadata_reach_the_page(tmp_path):
    folder = student_folder(tmp_path / "student", solved=False)
    notebook = filled(seed=90)
    outline = notebook["metadata"]["kit"]["written"]
    first = answer_cells(notebook)[0]  # question 1 refers to no figure
    first["source"] += "\n![sketch](attachment:sketch.png)"
    first["attachments"] = {"sketch.png": {"image/png": base64.b64encode(png(7)).decode("ascii")}}
    shown = outline[1]["figures"][0]
    cell = next(c for c in figure_cells(notebook) if c["metadata"]["kit"]["figure"] == shown)
    del cell["metadata"]["kit"]  # an editor that drops cell metadata: found by its id
    write(notebook, folder / "diffusion.ipynb")
    done = _run(folder)
    assert done.returncode == 0 and not done.stderr, done.stderr
    for number, wanted in ((1, png(7)), (2, None)):
        _poppler(
            "pdfimages",
            "-png",
            "-f",
            str(number),
            "-l",
            str(number),
            str(folder / PDF),
            str(tmp_path / f"p{number}"),
        )
        images = sorted(tmp_path.glob(f"p{number}-*.png"))
        assert len(images) == 1, f"page {number}: {len(images)} images"
        if wanted is not None:
            original = np.asarray(Image.open(io.BytesIO(wanted)).convert("RGB"))
            assert np.array_equal(np.asarray(Image.open(images[0]).convert("RGB"))[::-1], original)
    assert "Figure: in your answer: sketch.png" in _page_text(folder / PDF, 1)
    assert f"Figure: {shown}" in _page_text(folder / PDF, 2) and "MISSING" not in _page_text(folder / PDF, 2)
