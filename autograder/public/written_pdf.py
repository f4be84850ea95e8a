"""Your written answers as the PDF a Gradescope written assignment takes: one question per page, in the
outline's order, each with your answer and the figures it asks about.

    python -m public_checks.written_pdf [diffusion.ipynb] [--out diffusion_written.pdf]
    bash collect_submission.sh --pdf      # the same, after writing the zip
    python -m public_checks.written_pdf --template --out template.pdf   # instructors: the blank pages

Run it in your assignment folder after saving the notebook (File > Save) with its outputs: the figures
come from the outputs saved in it. Page N is question N of the instructor's outline, always: a question
you have not answered still gets its page, saying so, and so does a figure missing from its cell. The
questions, their order and their figures come from the notebook as the course released it (its
metadata ``kit.written`` and ``kit.graded``, written by ``make release``).

It needs only matplotlib (no TeX, no browser, nothing downloaded): the pages are drawn with
matplotlib's own fonts and its PDF backend. Your answer is shown as you wrote it (Markdown and LaTeX as
typed, not typeset). ``--template`` writes the same pages with the questions only (no answer, no
figure): the template PDF a Gradescope assignment asks its instructor for. Exit status: 0 written
(warnings name what is missing); 1 the notebook cannot be read or holds no outline; 2 a bad command
line.
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .notebook import NOTEBOOK, expected_from, inspect_notebook, read_notebook

PDF = "diffusion_written.pdf"
IMAGE_TYPES = ("image/png", "image/jpeg")  # what matplotlib (through Pillow) reads without extras


@dataclass(frozen=True)
class Figure:
    shows: str  # what it shows, in words ("the samples at w = 0.5"); also the caption
    images: tuple[bytes, ...]  # PNG or JPEG bytes, in output order; () when its cell holds none
    note: str = ""  # why there is no image, in words


@dataclass(frozen=True)
class WrittenPage:
    number: int  # the page, and the question's number in the outline
    grade_id: str
    title: str
    part: str
    points: float
    question: str  # Markdown, as the course wrote it
    answer: str | None  # the student's Markdown; None when unanswered
    unanswered_because: str  # in words, when answer is None; "" for a template's page
    figures: tuple[Figure, ...]


class OutlineError(ValueError):
    """The notebook cannot give the pages: unreadable, or without the outline ``make release`` wrote."""


# ---------------------------------------------------------------------------------------- reading
def _images(data: dict[str, Any]) -> list[bytes]:
    for kind in IMAGE_TYPES:
        value = data.get(kind)
        if value:
            text = "".join(value) if isinstance(value, list) else str(value)
            try:
                return [base64.b64decode(text)]
            except ValueError:
                return []
    return []


def _figure(shows: str, cell: dict[str, Any] | None) -> Figure:
    if cell is None:
        return Figure(shows, (), "its cell is not in the notebook")
    images: list[bytes] = []
    other = False
    for output in cell.get("outputs", []) or []:
        data = output.get("data", {}) if isinstance(output, dict) else {}
        found = _images(data) if isinstance(data, dict) else []
        images += found
        other = other or (not found and isinstance(data, dict) and "image/svg+xml" in data)
    if images:
        return Figure(shows, tuple(images))
    if other:
        return Figure(shows, (), "its cell holds an SVG image only; rerun it with the notebook's PNG figures")
    return Figure(shows, (), "its cell holds no image: run it, save the notebook, and rerun this command")


def _attachments(cell: dict[str, Any] | None) -> list[Figure]:
    """Images pasted into the answer cell itself (Jupyter's cell attachments)."""
    attachments = (cell or {}).get("attachments") or {}
    if not isinstance(attachments, dict):
        return []
    out = []
    for name, data in attachments.items():
        images = _images(data) if isinstance(data, dict) else []
        if images:
            out.append(Figure(f"in your answer: {name}", tuple(images)))
    return out


def _figure_cells(cells: list[dict[str, Any]], ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What each figure shows -> its code cell: by the cell's ``kit: {figure: ...}`` metadata, else by the
    cell id the released notebook gave it (``ids``, from ``kit.graded``), should an editor drop metadata."""
    by_id = {cell.get("id"): cell for cell in cells if cell.get("cell_type") == "code"}
    found: dict[str, dict[str, Any]] = {}
    for cell in by_id.values():
        shows = cell.get("metadata", {}).get("kit", {}).get("figure")
        if isinstance(shows, str):
            found.setdefault(shows, cell)
    for shows, cell_id in ids.items():
        if shows not in found and cell_id in by_id:
            found[shows] = by_id[cell_id]
    return found


def written_pages(path: Path, template: bool = False) -> list[WrittenPage]:
    """The pages of the PDF for the notebook at ``path``, one per written question, in outline order;
    with ``template``, the questions only."""
    notebook, error = read_notebook(path)
    if notebook is None:
        raise OutlineError(
            f"{path} is not a readable notebook ({error}): open it in Jupyter, save it, and rerun"
        )
    outline = notebook.get("metadata", {}).get("kit", {}).get("written")
    if not isinstance(outline, list) or not outline:
        raise OutlineError(
            f"{path} has no outline of its written questions (its metadata kit.written, written by the "
            "course): write your answers in the diffusion.ipynb you were given (copy them into a fresh "
            "copy of it), save, and rerun"
        )
    expected = expected_from(notebook)
    known_answers = {answer.grade_id: answer for answer in expected.answers}
    verdict = {answer.grade_id: answer for answer in inspect_notebook(path).answers}
    cells = [cell for cell in notebook["cells"] if isinstance(cell, dict)]
    answer_cells = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in cells}
    figure_cells = _figure_cells(cells, {f.shows: f.cell_id for f in expected.figures})
    pages = []
    for number, entry in enumerate(outline, start=1):
        grade_id = str(entry["grade_id"])
        answer = verdict.get(grade_id)
        if answer is None:
            text, why = None, "its answer cell is not in the notebook"
        elif not answer.answered:
            text, why = None, "its answer cell is empty or still says YOUR ANSWER HERE"
        else:
            text, why = answer.source, ""
        figures = [_figure(str(shows), figure_cells.get(str(shows))) for shows in entry.get("figures", [])]
        figures += _attachments(answer_cells.get(grade_id))
        if template:
            text, why, figures = None, "", []
        known = known_answers.get(grade_id)
        pages.append(
            WrittenPage(
                number=number,
                grade_id=grade_id,
                title=str(entry["title"]),
                part=known.part if known else "?",
                points=known.points if known else 0.0,
                question=str(entry["question"]),
                answer=text,
                unanswered_because=why,
                figures=tuple(figures),
            )
        )
    return pages


# ---------------------------------------------------------------------------------------- drawing
PAGE = (8.5, 11.0)  # US Letter, inches (Gradescope takes any size; A4 readers print it fit to page)
MARGIN = 0.6
POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class _Style:
    title: float = 13.0
    body: float = 9.5  # the question
    answer: float = 9.0  # the answer, monospaced
    caption: float = 8.0


@functools.cache
def _advances(family: str, weight: str) -> tuple[dict[int, float], float]:
    """Each character's advance width in ``family`` (matplotlib's own font files), in em, and the widest."""
    from matplotlib.font_manager import FontProperties, findfont, get_font

    font = get_font(findfont(FontProperties(family=family, weight=weight)))
    font.set_size(100, 72)  # 100 points at 72 dpi: an advance of n pixels is n / 100 em
    table = {code: font.load_char(code).linearHoriAdvance / 65536 / 100 for code in range(32, 127)}
    return table, max(table.values())


def _width(text: str, size: float, family: str, weight: str = "normal") -> float:
    """The width of ``text`` at ``size`` points, in points (advances added up; kerning only narrows it)."""
    table, widest = _advances(family, weight)
    return size * sum(table.get(ord(c), widest) for c in text)


def _wrap(text: str, width_in: float, size: float, family: str, weight: str = "normal") -> list[str]:
    """``text`` broken into lines no wider than ``width_in`` at ``size`` points in ``family``; the author's
    own line breaks and indentation kept, a word wider than a line cut."""
    limit = width_in * POINTS_PER_INCH
    lines: list[str] = []
    for raw in text.expandtabs(4).splitlines() or [""]:
        indent = raw[: len(raw) - len(raw.lstrip(" "))]
        line = indent
        for word in raw[len(indent) :].split(" "):
            candidate = f"{line} {word}" if line.strip() else line + word
            if _width(candidate, size, family, weight) <= limit:
                line = candidate
                continue
            if line.strip():
                lines.append(line)
                line = indent + word
            else:
                line = candidate
            while _width(line, size, family, weight) > limit and len(line) > len(indent) + 1:
                cut = len(line)
                while cut > len(indent) + 1 and _width(line[:cut], size, family, weight) > limit:
                    cut -= 1
                lines.append(line[:cut])
                line = indent + line[cut:]
        lines.append(line)
    return lines


def _draw_lines(fig, lines: Sequence[str], top: float, size: float, family: str, **style) -> float:
    """Draw ``lines`` from ``top`` (inches from the bottom) down; return the y below the last one."""
    step = size * 1.32 / POINTS_PER_INCH
    y = top
    for line in lines:
        y -= step
        fig.text(
            MARGIN / PAGE[0],
            y / PAGE[1],
            line,
            fontsize=size,
            family=family,
            parse_math=False,
            va="baseline",
            **style,
        )
    return y - step * 0.4


def _decode(image: bytes):
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(image)) as picture:
        return np.asarray(picture.convert("RGBA" if "A" in picture.getbands() else "RGB"))


def _draw_figures(fig, figures: Sequence[Figure], top: float, bottom: float, style: _Style) -> None:
    """The figures in a grid between ``top`` and ``bottom`` (inches), each captioned, aspect kept."""
    panels = [(f, image) for f in figures for image in (f.images or (None,))]
    if not panels or top - bottom < 0.5:
        return
    columns = 1 if len(panels) == 1 else 2
    rows = -(-len(panels) // columns)
    width = (PAGE[0] - 2 * MARGIN) / columns
    height = (top - bottom) / rows
    caption = style.caption * 1.6 / POINTS_PER_INCH
    for index, (figure, image) in enumerate(panels):
        row, column = divmod(index, columns)
        left = MARGIN + column * width
        cell_top = top - row * height
        fig.text(
            (left + 0.05) / PAGE[0],
            (cell_top - caption * 0.8) / PAGE[1],
            f"Figure: {figure.shows}",
            fontsize=style.caption,
            weight="bold",
            parse_math=False,
        )
        box = [
            (left + 0.05) / PAGE[0],
            (cell_top - height + 0.05) / PAGE[1],
            (width - 0.1) / PAGE[0],
            (height - caption - 0.1) / PAGE[1],
        ]
        axes = fig.add_axes(box)
        axes.set_axis_off()
        if image is None:
            axes.text(
                0.5,
                0.5,
                f"MISSING FIGURE\n{figure.note}",
                ha="center",
                va="center",
                fontsize=style.caption + 1,
                color="#b00020",
                wrap=True,
                parse_math=False,
            )
            axes.add_patch(_dashed_frame())
            continue
        axes.imshow(_decode(image), interpolation="none")  # the PDF holds the figure's own pixels
        axes.set_anchor("N")


def _dashed_frame():
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0), 1, 1, fill=False, linestyle="--", edgecolor="#b00020", transform=None)


def _page(page: WrittenPage, count: int, style: _Style):
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=PAGE)
    width = PAGE[0] - 2 * MARGIN
    y = PAGE[1] - MARGIN
    header = f"Question {page.number} of {count}: {page.title}"
    y = _draw_lines(fig, _wrap(header, width, style.title, "DejaVu Sans", "bold"), y, style.title,
                    "DejaVu Sans", weight="bold")  # fmt: skip
    info = f"part {page.part}, {page.points:g} point{'' if page.points == 1 else 's'}; notebook cell {page.grade_id}"
    y = _draw_lines(fig, [info], y, style.caption, "DejaVu Sans", color="#555555")
    question = page.question.replace("**", "")  # the course's Markdown bold: the page sets no bold type
    y = _draw_lines(fig, _wrap(question, width, style.body, "DejaVu Sans"), y, style.body,
                    "DejaVu Sans", color="#222222")  # fmt: skip
    fig.add_artist(_rule(y))
    y = _draw_lines(fig, ["Your answer"], y - 0.05, style.body, "DejaVu Sans", weight="bold")
    if page.answer is None and not page.unanswered_because:  # a template: the room for the answer
        y = _draw_lines(fig, ["(the answer and its figures go on this page)"], y, style.body, "DejaVu Sans",
                        color="#777777")  # fmt: skip
    elif page.answer is None:
        y = _draw_lines(
            fig,
            _wrap(f"UNANSWERED: {page.unanswered_because}.", width, style.title, "DejaVu Sans", "bold"),
            y,
            style.title,
            "DejaVu Sans",
            weight="bold",
            color="#b00020",
        )
    else:
        answer = _wrap(page.answer, width, style.answer, "DejaVu Sans Mono")
        y = _draw_lines(fig, answer, y, style.answer, "DejaVu Sans Mono")
    _draw_figures(fig, page.figures, y - 0.1, MARGIN, style)
    fig.text(
        0.5, MARGIN / 2 / PAGE[1], f"page {page.number} of {count}", ha="center", fontsize=7, color="#777777"
    )
    return fig, y


def _rule(y: float):
    from matplotlib.lines import Line2D

    return Line2D([MARGIN / PAGE[0], 1 - MARGIN / PAGE[0]], [y / PAGE[1]] * 2, color="#999999", linewidth=0.6)


def _fitted(page: WrittenPage, count: int):
    """The page, its text made smaller until the text leaves room for the figures (or fits at all)."""
    room = 4.0 if page.figures else 0.0  # inches kept for the figures
    sizes = (_Style(), _Style(12.0, 8.5, 8.0, 7.5), _Style(11.0, 7.5, 7.0, 7.0), _Style(10.0, 6.5, 6.0, 6.5))
    for style in sizes:
        fig, bottom = _page(page, count, style)
        if bottom - MARGIN >= room or style is sizes[-1]:
            return fig, bottom >= MARGIN
    raise AssertionError("unreachable")


def write_pdf(pages: Sequence[WrittenPage], out: Path) -> list[str]:
    """Write ``pages`` to ``out`` (a temporary file renamed when complete); return warnings."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    warnings = []
    out = Path(out)
    handle, partial = tempfile.mkstemp(prefix=out.name + ".", suffix=".partial", dir=out.parent or ".")
    os.close(handle)
    try:
        with matplotlib.rc_context({"pdf.fonttype": 42}):  # TrueType: the text stays text (copy, search)
            with PdfPages(partial, metadata={"Title": "Written answers", "CreationDate": None}) as pdf:
                for page in pages:
                    fig, fits = _fitted(page, len(pages))
                    if not fits:
                        warnings.append(
                            f"question {page.number}: the answer is longer than one page holds even in "
                            "small print; its end is cut off in the PDF: shorten it"
                        )
                    pdf.savefig(fig)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp's file is private (0600): give it a new file's mode
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return warnings


# ---------------------------------------------------------------------------------------- students
def _report(pages: Sequence[WrittenPage]) -> list[str]:
    lines, warnings = [], []
    for page in pages:
        state = "answered" if page.answer is not None else "UNANSWERED"
        lines.append(f"    page {page.number}: {page.title} ({page.points:g} points): {state}")
        if page.answer is None:
            warnings.append(f"question {page.number} ({page.title}) is unanswered: {page.unanswered_because}")
        for figure in page.figures:
            if not figure.images:
                warnings.append(f"question {page.number}: figure {figure.shows!r} is missing: {figure.note}")
    return lines + [f"warning: {w}" for w in warnings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m public_checks.written_pdf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebook", nargs="?", default=NOTEBOOK, type=Path, help=f"default: {NOTEBOOK}")
    parser.add_argument("--out", type=Path, default=Path(PDF), help=f"the PDF to write (default: {PDF})")
    parser.add_argument("--template", action="store_true", help="the questions only: Gradescope's template")
    args = parser.parse_args(argv)
    if args.out.suffix.lower() != ".pdf":
        parser.error(f"--out {args.out}: give a file name ending in .pdf")
    try:
        pages = written_pages(args.notebook, template=args.template)
    except OutlineError as err:
        print(f"error: no PDF written: {err}", file=sys.stderr)
        return 1
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            f"error: no PDF written: {sys.executable} has no matplotlib. Run it with the Python that runs "
            "your notebook (PYTHON=/path/to/python bash collect_submission.sh --pdf), or install the "
            "assignment's packages there: python -m pip install -r requirements.txt",
            file=sys.stderr,
        )
        return 1
    warnings = write_pdf(pages, args.out)
    for line in [] if args.template else _report(pages):
        print(line, file=sys.stderr if line.startswith("warning:") else sys.stdout)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {args.out} ({len(pages)} pages, one per written question); upload it to Gradescope")
    return 0


if __name__ == "__main__":
    sys.exit(main())
