"""The HTML report in a real headless Chromium, opened from file:// as an officer would.

Checks what only a browser can: no console errors, no request but the file itself, hostile
file names shown as text (no dialog fires), filters that narrow the table, paging at scale and
the print layout. A screenshot of each report is kept in test-artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.outputs.base import OutputOptions
from auditor.outputs.html import write
from bench.bench_report import CHROMIUM_ARGS, synthetic_result
from tests.conftest import REPO, place, run_cli

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)>.wav"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps.sh (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A report from a real scan; the practice sits where others can traverse, so exposures are real."""
    out = tmp_path_factory.mktemp("browser")
    base = Path(tempfile.mkdtemp(prefix="report-browser-"))
    os.chmod(base, 0o755)
    root = base / "practice"
    place(root, "C-1001_2026-11-10.wav", "session.wav", mode=0o644)
    place(root, f"intake/{HOSTILE}", "session.mp3", mode=0o644)
    place(root, "intake/C-1002_2025-01-05.m4a", "session.m4a")
    place(root, "intake/two\nlines\u202egpj.wav", "session.wav")  # a line break and a bidi override
    place(root, "secure/C-1003_2026-11-01.m4a.gpg", "session.m4a.gpg")
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.chmod(directory, 0o755)
    (out / "consent.yaml").write_text(
        "version: 1\nclients:\n  - id: C-1001\n    consents: []\n"
        "  - id: C-1003\n    consents: []\n    legal_hold: {reason: pending complaint}\n"
    )
    (out / "auditor.yaml").write_text(
        "version: 1\norganisation: Riverside Counselling\nconsent_registry: consent.yaml\n"
        "attribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    html = out / "report.html"
    res = run_cli(
        "scan", "-q", root, "--config", out / "auditor.yaml", "--as-of", "2026-11-22", "--fail-on", "none",
        "-o", html, "-o", out / "report.json", cwd=out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    yield html
    shutil.rmtree(base)


def _open(browser: Any, path: Path) -> tuple[Any, dict[str, list[Any]]]:
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    seen: dict[str, list[Any]] = {"console": [], "errors": [], "requests": [], "dialogs": []}
    page.on(
        "console",
        lambda m: seen["console"].append((m.type, m.text)) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready]", timeout=15_000)
    return page, seen


def _count(page: Any) -> str:
    return str(page.inner_text("#f-count"))


def _changed(page: Any, before: str) -> str:
    page.wait_for_function("t => document.getElementById('f-count').textContent !== t", arg=before)
    return _count(page)


def _matching(text: str) -> int:
    """'Showing 1–50 of 1,234 matching findings (...)' -> 1234; 'No matching ...' -> 0."""
    if text.startswith("No matching"):
        return 0
    return int(text.split(" of ", 1)[1].split(" ", 1)[0].replace(",", ""))


def test_opens_offline_without_errors_and_shows_hostile_names_as_text(browser: Any, report: Path) -> None:
    page, seen = _open(browser, report)
    before = _count(page)
    page.fill("#f-q", "onerror")
    assert _matching(_changed(page, before)) > 0
    locations = page.locator("#f-body code.path").all_inner_texts()
    assert locations and all(text.endswith(HOSTILE) for text in locations)
    # As text: no element was created from the name, no script ran.
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], main img').length") == 0
    before = _count(page)
    page.fill("#f-q", "lines")
    assert _matching(_changed(page, before)) > 0
    names = page.locator("#f-body code.path").all_inner_texts()
    assert names and all(n.endswith("two\\nlines\\u202egpj.wav") for n in names)  # shown, not obeyed
    breach_panel = page.inner_text("#breaches")
    assert HOSTILE in breach_panel
    ARTIFACTS.mkdir(exist_ok=True)
    page.fill("#f-q", "")
    page.screenshot(path=str(ARTIFACTS / "report-fixtures.png"), full_page=True)
    assert seen["errors"] == [] and seen["console"] == []
    assert seen["dialogs"] == []
    assert seen["requests"] == [report.as_uri()]
    page.close()


def test_filters_search_and_chart_clicks_narrow_the_findings_table(browser: Any, report: Path) -> None:
    page, seen = _open(browser, report)
    everything = _matching(_count(page))
    assert everything > 5
    before = _count(page)
    page.select_option("#f-category", "breach")
    breaches = _matching(_changed(page, before))
    assert 0 < breaches < everything
    assert set(page.locator("#f-body tr.row td:first-child").all_inner_texts()) == {"CRITICAL"}
    before = _count(page)
    page.fill("#f-q", "C-1001_2026-11-10")
    assert _matching(_changed(page, before)) == 1
    # Expanding the row shows its evidence, controls and how to suppress it.
    page.click("#f-body tr.row")
    detail = page.inner_text("#f-body tr.detail.open")
    assert "gdpr_notification_deadline" in detail and "HIPAA 164.402" in detail and "fingerprint:" in detail
    before = _count(page)
    page.click("#f-reset")
    assert _matching(_changed(page, before)) == everything
    # A severity bar in the summary chart applies that filter.
    before = _count(page)
    page.click('svg.chart [data-filter="severity"][data-value="high"]')
    highs = _matching(_changed(page, before))
    assert 0 < highs < everything
    assert page.input_value("#f-severity") == "high"
    # The inventory filters too: one recording is under a legal hold.
    page.select_option("#i-hold", "1")
    page.wait_for_function("() => document.getElementById('i-count').textContent.includes('of 1 recording.')")
    assert "pending complaint" in page.inner_text("#i-body")
    assert seen["errors"] == [] and seen["console"] == []
    page.close()


def test_large_report_keeps_one_page_of_rows_in_the_dom(browser: Any, tmp_path: Path) -> None:
    result = synthetic_result(5_000)
    path = tmp_path / "large.html"
    write(result, path, OutputOptions())
    page, seen = _open(browser, path)
    assert "of 5,000 matching findings" in _count(page)
    assert page.locator("#f-body tr.row").count() == 50
    first = page.locator("#f-body tr.row code.path").first.inner_text()
    before = _count(page)
    page.locator("#f-pager button", has_text="Next").click()
    assert _changed(page, before).startswith("Showing 51–100 of 5,000")
    assert page.locator("#f-body tr.row").count() == 50
    assert page.locator("#f-body tr.row code.path").first.inner_text() != first
    # Sorting by location puts the smallest path first.
    page.click('#f-table th[data-sort="loc"]')
    page.locator("#f-pager button", has_text="First").click()
    shown = page.locator("#f-body tr.row code.path").all_inner_texts()
    smallest = min(f["location"] for f in result["findings"])
    assert shown[0] == smallest and shown == sorted(shown)
    assert seen["errors"] == [] and seen["requests"] == [path.as_uri()]
    page.close()


def test_print_layout_expands_details_and_hides_controls(browser: Any, report: Path) -> None:
    page, _ = _open(browser, report)
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.filters')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('#f-body tr.detail')).every(r => getComputedStyle(r).display !== 'none')"
    )
    assert shown
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
    page.close()


def test_redacted_report_renders_pseudonyms(browser: Any, report: Path, tmp_path: Path) -> None:
    data = json.loads((report.parent / "report.json").read_text(encoding="utf-8"))
    from auditor.redact import Redactor

    Redactor(b"k" * 32).redact(data)
    path = tmp_path / "redacted.html"
    write(data, path, OutputOptions())
    page, seen = _open(browser, path)
    body = page.inner_text("body")
    assert "Redacted." in body and "C-1001" not in body and "onerror" not in body
    assert seen["errors"] == []
    page.close()
