"""Students' notebooks for the tests of the notebook's verdict and of every route that reads it: the
released notebook with answers written, figures in the cells that should show them, an answer cell
deleted, or its bytes cut off as a bad save leaves them."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

from kit import RELEASE_DIR

RELEASE_NOTEBOOK = RELEASE_DIR / "diffusion.ipynb"


def png(seed: int, size: int = 8) -> bytes:
    """A small valid PNG whose pixels depend on ``seed`` (distinctive bytes, found again by comparison)."""
    rows = b"".join(
        b"\x00" + bytes((seed * 37 + x * 11 + y * 29 + c * 53) % 256 for x in range(size) for c in range(3))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_text(seed: int) -> str:
    """The PNG as a notebook stores it (base64)."""
    return base64.b64encode(png(seed)).decode("ascii")


def released() -> dict[str, Any]:
    return json.loads(RELEASE_NOTEBOOK.read_text(encoding="utf-8"))


def figure_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in notebook["cells"] if "figure" in cell["metadata"].get("kit", {})]


def answer_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        cell
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown" and cell["metadata"].get("nbgrader", {}).get("grade")
    ]


def filled(answers: bool = True, figures: bool = True, seed: int = 0) -> dict[str, Any]:
    """The released notebook as a student saves it: each answer written (``"My answer to <grade_id>."``),
    each figure cell showing PNG ``seed + its number`` and every code cell run."""
    notebook = released()
    if answers:
        for cell in answer_cells(notebook):
            cell["source"] = f"My answer to {cell['metadata']['nbgrader']['grade_id']}."
    count = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        count += 1
        cell["execution_count"] = count
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"ran cell {count}\n"}]
    if figures:
        for number, cell in enumerate(figure_cells(notebook)):
            cell["outputs"].append(
                {
                    "output_type": "display_data",
                    "data": {"image/png": png_text(seed + number), "text/plain": "<Figure size 400x300>"},
                    "metadata": {},
                }
            )
    return notebook


def write(notebook: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


def corrupt(path: Path) -> Path:
    """The notebook cut off two thirds of the way: a save that was interrupted."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path
