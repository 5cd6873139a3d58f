"""A report printed by headless Chromium (`--print-to-pdf`), then read back page by page.

Two independent readings of each page, both from poppler:
- `pdftoppm -gray` rasters: the page margins must stay blank (ink there is content pushed off the
  printable area, e.g. a table wider than the page);
- `pdftotext -bbox` words: every word must lie inside the printable area. Chromium clips what
  overflows at the page's content box, but keeps the partly visible glyphs of a cut word in the
  text layer, so a table cut at the right edge shows as a word reaching past it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
MM = 72 / 25.4  # PDF points per millimetre
# The report's @page margins (reports/report.css): 14 mm top and bottom, 12 mm left and right.
MARGIN_X_MM = 12.0


def print_to_pdf(html: Path, pdf: Path, *, paper: str = "") -> Path:
    """Chromium's own command-line printing, as `chromium --print-to-pdf` gives it to an officer."""
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=10000",  # let the report's script lay the tables out first
        f"--print-to-pdf={pdf}",
        html.as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert pdf.is_file() and pdf.stat().st_size > 1000, done.stderr[-2000:]
    return pdf


@dataclass(frozen=True)
class Word:
    page: int
    x_min: float
    x_max: float
    text: str


@dataclass(frozen=True)
class Page:
    number: int
    width: float  # points
    height: float


def words(pdf: Path) -> tuple[list[Page], list[Word]]:
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages: list[Page] = []
    found: list[Word] = []
    for line in out.splitlines():
        page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', line)
        if page:
            pages.append(Page(len(pages) + 1, float(page.group(1)), float(page.group(2))))
            continue
        word = re.search(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">(.*)</word>', line)
        if word and pages:
            found.append(Word(pages[-1].number, float(word.group(1)), float(word.group(2)), word.group(3)))
    return pages, found


def words_outside_the_printable_area(pdf: Path, tolerance: float = 0.3) -> list[Word]:
    pages, found = words(pdf)
    width = {p.number: p.width for p in pages}
    margin = MARGIN_X_MM * MM
    return [w for w in found if w.x_max > width[w.page] - margin + tolerance or w.x_min < margin - tolerance]


def _pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert match, f"{path} is not a binary PGM"
    w, h = int(match.group(1)), int(match.group(2))
    return w, h, data[match.end() : match.end() + w * h]


def inked_margins(pdf: Path, workdir: Path, dpi: int = 50) -> list[tuple[int, str]]:
    """(page, side) for each page whose left or right margin strip holds any ink."""
    prefix = workdir / "page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(pdf), str(prefix)], check=True, timeout=180)
    strip = int((MARGIN_X_MM - 1.5) * dpi / 25.4)  # the margin, less a hair for anti-aliasing
    inked = []
    for number, raster in enumerate(sorted(workdir.glob("page-*.pgm")), start=1):
        w, h, pixels = _pgm(raster)
        for side, columns in (("left", range(0, strip)), ("right", range(w - strip, w))):
            if any(pixels[y * w + x] < 200 for y in range(h) for x in columns):
                inked.append((number, side))
    return inked
