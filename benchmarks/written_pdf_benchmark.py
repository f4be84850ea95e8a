"""Which PDF writer for the student's written answers (public_checks/written_pdf.py): matplotlib's PDF
backend (already a dependency), fpdf2 and reportlab, on the same five pages.

    .venv/bin/python benchmarks/written_pdf_benchmark.py [--libs DIR ...]   # about 30 seconds

The pages are those of a filled notebook: the five written questions, an answer each (one of 1,500
characters), and the eleven figures the questions refer to as 8x8-digit grids of the size the notebook
draws (PNG, 72 dpi). Each writer draws the title, question, answer and figures of each page. For each it
reports:

1. the time to write the PDF in a fresh Python process, imports included (median of 3), as a student
   running the command pays it;
2. the file size;
3. whether ``pdftotext`` (poppler-utils) gives back every answer's text, and whether ``pdfimages -list``
   finds every figure at its own pixel size (the figure kept, not resampled);
4. the size on disk of what the writer adds to the student's installation (the installed files of the
   distributions it needs beyond ``ci/student/requirements.txt``: none for matplotlib).

fpdf2 and reportlab are not dependencies of the kit: install them somewhere for the run, e.g.
``pip install --target /tmp/pdf-libs fpdf2 reportlab`` and pass ``--libs /tmp/pdf-libs``; a writer that
cannot be imported is reported as such. Results go to ``out/benchmarks/written_pdf_benchmark.json``.
"""

from __future__ import annotations

import argparse
import base64
import importlib.metadata
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests")]
from student_notebooks import answer_cells, figure_cells, filled, write  # noqa: E402

from kit import REFERENCE_DIR  # noqa: E402

EXTRA = {"matplotlib": [], "fpdf2": ["fpdf2", "defusedxml"], "reportlab": ["reportlab", "charset-normalizer"]}


def make_notebook(path: Path) -> Path:
    """A filled notebook whose figure cells hold digit grids as the notebook's plot_image draws them."""
    import numpy as np
    from sklearn.datasets import load_digits

    sys.path.insert(0, str(REFERENCE_DIR))
    from diffusion_models.computer_vision.plotting import plot_image

    digits = load_digits()
    order = np.concatenate([np.flatnonzero(digits.target == k)[:8] for k in range(10)])
    notebook = filled()
    rng = np.random.default_rng(0)
    for cell in figure_cells(notebook):
        images = np.clip(digits.images[order] / 16 + 0.1 * rng.normal(size=(80, 8, 8)), 0, 1)
        figure = plot_image((images * 255).astype(np.uint8)[..., None], digits.target[order], title="w")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=72)
        for output in cell["outputs"]:
            if output["output_type"] == "display_data":
                output["data"]["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    for number, cell in enumerate(answer_cells(notebook)):
        words = "The samples with thresholding keep the strokes inside the data range. "
        cell["source"] = f"Answer {number}: " + words * (20 if number == 1 else 3)
    return write(notebook, path)


# ---------------------------------------------------------------------------------------- the writers
WRITERS = {
    "matplotlib": """
from autograder.public.written_pdf import write_pdf
write_pdf(pages, out)
""",
    "fpdf2": """
import io, matplotlib
from fpdf import FPDF
font = str(Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"))
pdf = FPDF(format="letter")
pdf.add_font("dejavu", fname=font)
for page in pages:
    pdf.add_page()
    pdf.set_font("dejavu", size=13)
    pdf.multi_cell(0, 7, f"Question {page.number}: {page.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", size=9)
    pdf.multi_cell(0, 5, page.question, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, page.answer or "UNANSWERED", new_x="LMARGIN", new_y="NEXT")
    x, y = pdf.l_margin, pdf.get_y() + 2
    for k, figure in enumerate(page.figures):
        for image in figure.images:
            pdf.image(io.BytesIO(image), x=x + (k % 2) * 95, y=y + (k // 2) * 42, h=40)
pdf.output(str(out))
""",
    "reportlab": """
import io
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
c = canvas.Canvas(str(out), pagesize=letter)
for page in pages:
    text = c.beginText(40, 750)
    text.setFont("Helvetica-Bold", 13)
    text.textLine(f"Question {page.number}: {page.title}")
    text.setFont("Helvetica", 9)
    for line in (page.question + "\\n" + (page.answer or "UNANSWERED")).splitlines():
        while line:
            text.textLine(line[:110])
            line = line[110:]
    c.drawText(text)
    y = text.getY() - 10
    for k, figure in enumerate(page.figures):
        for image in figure.images:
            c.drawImage(ImageReader(io.BytesIO(image)), 40 + (k % 2) * 270, y - 120 - (k // 2) * 120, height=115, preserveAspectRatio=True, width=260)
    c.showPage()
c.save()
""",
}
PRELUDE = """
import sys
from pathlib import Path
sys.path[:0] = {paths!r}
from autograder.public.written_pdf import written_pages
pages = written_pages(Path({notebook!r}))
out = Path({out!r})
"""


def _run(name: str, notebook: Path, out: Path, libs: list[str]) -> float | str:
    script = PRELUDE.format(paths=[str(REPO_ROOT), *libs], notebook=str(notebook), out=str(out))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script + WRITERS[name]], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1]
    return elapsed


def _installed_size(distributions: list[str], libs: list[str]) -> int:
    total = 0
    for name in distributions:
        dist = next(iter(importlib.metadata.distributions(name=name, path=[*libs, *sys.path])), None)
        for file in (dist.files or []) if dist else []:
            path = Path(dist.locate_file(file))
            total += path.stat().st_size if path.is_file() else 0
    return total


def _check(pdf: Path, notebook: Path) -> dict[str, object]:
    from autograder.public.written_pdf import written_pages

    pages = written_pages(notebook)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = "".join(text.split())  # line breaks and spacing are the writer's: compare the characters
    answers = [page.answer for page in pages if page.answer]
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True).stdout
    sizes = [tuple(map(int, line.split()[3:5])) for line in listing.splitlines()[2:] if "smask" not in line]
    from PIL import Image

    wanted = [Image.open(io.BytesIO(i)).size for p in pages for f in p.figures for i in f.images]
    return {
        "answers_extracted": sum("".join(a.split()) in flat for a in answers),
        "answers": len(answers),
        "figures_at_own_size": sum(1 for size in wanted if size in sizes),
        "figures": len(wanted),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--libs", nargs="*", default=[], help="folders that hold fpdf2 and reportlab")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        notebook = make_notebook(Path(scratch) / "diffusion.ipynb")
        for name in WRITERS:
            out = Path(scratch) / f"{name}.pdf"
            times = [_run(name, notebook, out, args.libs) for _ in range(args.repeat)]
            if any(isinstance(t, str) for t in times):
                results[name] = {"error": next(t for t in times if isinstance(t, str))}
            else:
                results[name] = {
                    "seconds": round(statistics.median(times), 2),
                    "bytes": out.stat().st_size,
                    **_check(out, notebook),
                    "added_install_bytes": _installed_size(EXTRA[name], args.libs),
                }
            print(f"{name:>10}: {results[name]}")
    target = REPO_ROOT / "out" / "benchmarks" / "written_pdf_benchmark.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
