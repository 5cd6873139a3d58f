"""The HTML report in a real headless Chromium, opened from file:// as an officer would.

Checks what only a browser can: no console errors, no request but the file itself, hostile
file names shown as text (no dialog fires), filters that narrow both views of the findings,
paging at scale, axe-core's accessibility rules, and the printed pages (Chromium's own
--print-to-pdf, read back with poppler). Screenshots and PDFs are kept in test-artifacts/
(gitignored).
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
from auditor.suppress import apply_suppressions, load_suppressions
from bench.bench_report import CHROMIUM_ARGS, synthetic_result
from scripts.demo import build_practice, write_ignore, write_policy
from tests.conftest import REPO, place, run_cli
from tests.conftest_s3 import S3World, moto_url, s3world
from tests.pdfpages import inked_margins, print_to_pdf, words_outside_the_printable_area

pytestmark = pytest.mark.browser
__all__ = ["moto_url", "s3world"]  # fixtures used by this module

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)>.wav"
AXE = REPO / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"


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
    place(root, "intake/take[1]*?.wav", "session.wav")  # glob characters, literal in a suppression
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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo practice of `make demo` (scripts/demo.py), scanned, in a folder others can traverse."""
    out = tmp_path_factory.mktemp("demo")
    base = Path(tempfile.mkdtemp(prefix="report-demo-"))
    os.chmod(base, 0o755)
    practice = base / "practice"
    build_practice(practice)
    config = write_policy(out, practice)
    ignore = write_ignore(out, practice)
    html, js = out / "report.html", out / "report.json"
    res = run_cli(
        "scan", "-q", practice, "--config", config, "--ignore", ignore, "--fail-on", "none", "-o", html, "-o", js,
        cwd=out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    yield {"html": html, "result": json.loads(js.read_text(encoding="utf-8")), "json": js, "dir": out}
    shutil.rmtree(base)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.html"
    write(synthetic_result(5_000), path, OutputOptions())
    return path


@pytest.fixture(scope="module")
def large_print(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Large enough for four-digit counts and every table's widest content; small enough to print in seconds."""
    path = tmp_path_factory.mktemp("large-print") / "large.html"
    write(synthetic_result(600), path, OutputOptions())
    return path


def _open(browser: Any, path: Path, width: int = 1400) -> tuple[Any, dict[str, list[Any]]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
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


def _view(page: Any, name: str) -> None:
    """Switch the findings between "recordings" (one card per recording) and "findings" (one row each)."""
    page.click(f'.view-switch [data-view="{name}"]')
    page.wait_for_function(
        "v => document.querySelector(`[data-view=${v}]`).getAttribute('aria-pressed') === 'true'", arg=name
    )


def _axe(page: Any) -> list[tuple[str, str, list[Any]]]:
    """axe-core's violations of every impact, as (impact, rule, nodes)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # DevTools evaluation: the report's CSP stays on
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["impact"], v["id"], [n["target"] for n in v["nodes"]]) for v in found["violations"]]


def _count(page: Any) -> str:
    return str(page.inner_text("#f-count"))


def _changed(page: Any, before: str) -> str:
    page.wait_for_function("t => document.getElementById('f-count').textContent !== t", arg=before)
    return _count(page)


def _matching(text: str) -> int:
    """'Showing 1–50 of 1,234 matching findings (...)' -> 1234; 'No matching ...' -> 0.

    In the recording view: 'Showing 1–9 of 9 recordings with 19 matching findings (...)' -> 19."""
    if text.startswith("No matching"):
        return 0
    if " with " in text:
        return int(text.split(" with ", 1)[1].split(" ", 1)[0].replace(",", ""))
    return int(text.split(" of ", 1)[1].split(" ", 1)[0].replace(",", ""))


def test_opens_offline_without_errors_and_shows_hostile_names_as_text(browser: Any, report: Path) -> None:
    page, seen = _open(browser, report)
    for view, paths in (("recordings", "#r-list .rec-where code.path"), ("findings", "#f-body code.path")):
        _view(page, view)
        before = _count(page)
        page.fill("#f-q", "onerror")
        assert _matching(_changed(page, before)) > 0
        locations = page.locator(paths).all_inner_texts()
        assert locations and all(text.endswith(HOSTILE) for text in locations)
        # As text: no element was created from the name, no script ran.
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"], main img').length") == 0
        before = _count(page)
        page.fill("#f-q", "lines")
        assert _matching(_changed(page, before)) > 0
        names = page.locator(paths).all_inner_texts()
        assert names and all(n.endswith("two\\nlines\\u202egpj.wav") for n in names)  # shown, not obeyed
        before = _count(page)
        page.fill("#f-q", "")
        _changed(page, before)
    breach_panel = page.inner_text("#breaches")
    assert HOSTILE in breach_panel
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-fixtures.png"), full_page=True)
    assert seen["errors"] == [] and seen["console"] == []
    assert seen["dialogs"] == []
    assert seen["requests"] == [report.as_uri()]
    page.close()


def test_filters_search_and_chart_clicks_narrow_the_findings_table(browser: Any, report: Path) -> None:
    page, seen = _open(browser, report)
    _view(page, "findings")
    everything = _matching(_count(page))
    assert everything > 5
    before = _count(page)
    page.select_option("#f-category", "breach")
    breaches = _matching(_changed(page, before))
    assert 0 < breaches < everything
    assert {t.split("\n")[0] for t in page.locator("#f-body tr.row td:first-child").all_inner_texts()} == {
        "CRITICAL"
    }
    before = _count(page)
    page.fill("#f-q", "C-1001_2026-11-10")
    assert _matching(_changed(page, before)) == 1
    # The row's Details button shows its evidence, controls and how to suppress it.
    button = page.locator("#f-body tr.row button.disclose").first
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    detail = page.inner_text("#f-body tr.detail:not([hidden])")
    assert "gdpr_notification_deadline" in detail and "HIPAA 164.402" in detail and "fingerprint:" in detail
    before = _count(page)
    page.click("#f-reset")
    assert _matching(_changed(page, before)) == everything
    # A severity bar in the summary chart applies that filter, in whichever view is shown.
    _view(page, "recordings")
    before = _count(page)
    page.click('svg.chart [data-filter="severity"][data-value="high"]')
    highs = _matching(_changed(page, before))
    assert 0 < highs < everything
    assert page.input_value("#f-severity") == "high"
    assert set(page.locator("#r-list .rec-finding .sev").all_inner_texts()) == {"HIGH"}
    # The inventory filters too: one recording is under a legal hold.
    page.select_option("#i-hold", "1")
    page.wait_for_function("() => document.getElementById('i-count').textContent.includes('of 1 recording.')")
    assert "pending complaint" in page.inner_text("#i-body")
    assert seen["errors"] == [] and seen["console"] == []
    page.close()


def test_recording_view_is_the_default_for_a_local_audit_with_one_card_per_recording(
    browser: Any, demo: dict[str, Any]
) -> None:
    """Each recording once: where, client and session, kind and size, every finding with its
    severity, and one "what to do" without repeats."""
    result = demo["result"]
    page, seen = _open(browser, demo["html"])
    assert page.get_attribute("#v-recordings", "aria-pressed") == "true"
    assert page.is_hidden("#f-view") and page.is_visible("#r-view")
    open_findings = [
        f for f in result["findings"] if not f.get("suppressed") and f.get("status") != "resolved"
    ]
    by_location: dict[str, list[dict[str, Any]]] = {}
    for f in open_findings:
        by_location.setdefault(f["location"], []).append(f)
    cards = page.locator("#r-list > li.rec")
    assert cards.count() == len(by_location)
    recordings = {r["location"]: r for r in result["recordings"]}
    for n in range(cards.count()):
        card = cards.nth(n)
        where = card.locator(".rec-where").inner_text()
        assert where in by_location
        mine = by_location[where]
        assert card.locator(".rec-finding").count() == len(mine)
        shown = sorted(card.locator(".rec-finding .sev").all_inner_texts())
        assert shown == sorted(f["severity"].upper() for f in mine)
        facts = card.locator(".rec-facts").inner_text()
        rec = recordings[where]
        assert (rec["client"] or "not attributed") in facts
        if rec["session_date"]:
            assert rec["session_date"] in facts
        assert rec["media"] in facts and ("KiB" in facts or " B" in facts)
        todo = card.locator(".rec-todo li").all_inner_texts()
        assert todo == list(dict.fromkeys(f["remediation"] for f in sorted(mine, key=_by_severity)))
    # Worst first: the breaches lead.
    assert cards.first.locator(".rec-head .sev").inner_text() == "CRITICAL"
    assert seen["errors"] == [] and seen["console"] == []
    page.close()


def _by_severity(finding: dict[str, Any]) -> int:
    return ["critical", "high", "medium", "low", "info"].index(finding["severity"])


def test_large_report_keeps_one_page_of_rows_in_the_dom(browser: Any, large: Path) -> None:
    page, seen = _open(browser, large)
    assert page.locator("#r-list > li.rec").count() == 50  # local audit: by recording first
    assert "with 5,000 matching findings" in _count(page)
    _view(page, "findings")
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
    result = synthetic_result(5_000)
    smallest = min(f["location"] for f in result["findings"])
    assert shown[0] == smallest and shown == sorted(shown)
    assert seen["errors"] == [] and seen["requests"] == [large.as_uri()]
    page.close()


def _variant(request: pytest.FixtureRequest, which: str, tmp_path: Path) -> Path:
    """Each kind of report an officer can get: the demo practice; 5,000 synthetic findings; hostile
    names with an incomplete audit and a legal hold; a second audit against a baseline (trend,
    statuses, resolved findings); a redacted one; an incomplete one; seven-digit counts."""
    if which == "large":
        return Path(request.getfixturevalue("large"))
    if which == "fixtures":
        return Path(request.getfixturevalue("report"))
    if which == "again":
        return Path(request.getfixturevalue("demo_again")["html"])
    demo = request.getfixturevalue("demo")
    if which == "demo":
        return Path(demo["html"])
    data = json.loads(demo["json"].read_text(encoding="utf-8"))
    path = tmp_path / f"{which}.html"
    if which == "redacted":
        from auditor.redact import Redactor

        Redactor(b"k" * 32).redact(data)
        write(data, path, OutputOptions(redact=True))
    elif which == "incomplete":  # a folder that could not be read: the banner says so first
        data["coverage"]["skipped"].append(
            {"location": "/srv/locked", "reason": "permission-denied", "detail": "EACCES"}
        )
        data["coverage"]["complete"] = False
        write(data, path, OutputOptions())
    else:  # seven-digit counts
        data["summary"].update(recordings=1_244_318, findings=2_244_318, suppressed=120_000)
        write(data, path, OutputOptions())
    return path


@pytest.mark.parametrize(
    "which", ["demo", "large", "fixtures", "again", "redacted", "incomplete", "big-counts"]
)
def test_axe_core_finds_no_violation_of_any_impact(
    browser: Any, request: pytest.FixtureRequest, which: str, tmp_path: Path
) -> None:
    """axe-core in the report itself, in both views and with details open (WCAG 2.x A/AA and best practice)."""
    page, seen = _open(browser, _variant(request, which, tmp_path))
    page.locator("#r-list button.disclose").first.click()
    assert _axe(page) == []
    _view(page, "findings")
    page.locator("#f-body button.disclose").first.click()
    assert _axe(page) == []
    assert seen["errors"] == []
    page.close()


def test_print_layout_expands_details_and_hides_controls(browser: Any, report: Path) -> None:
    page, _ = _open(browser, report, width=794)  # an A4 page at 96 dpi
    _view(page, "findings")
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.filters')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('#f-body tr.detail')).every(r => getComputedStyle(r).display !== 'none')"
    )
    assert shown
    # Nothing is wider than the page: no cell's content spills out of it, no table out of its box.
    spilled = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.data')).flatMap(t =>
             [t, ...t.querySelectorAll('td, th')].filter(c => c.scrollWidth > c.clientWidth + 1)
               .map(c => c.tagName + ' ' + c.textContent.slice(0, 60)))"""
    )
    assert spilled == []
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
    page.close()


@pytest.mark.parametrize("which", ["demo", "large", "fixtures"])
def test_printed_pages_cut_no_table_at_the_edge(
    demo: dict[str, Any], large_print: Path, report: Path, which: str, tmp_path: Path
) -> None:
    """Chromium's own --print-to-pdf, read back: no word past the printable area, blank margins."""
    html = {"demo": demo["html"], "large": large_print, "fixtures": report}[which]
    pdf = print_to_pdf(html, tmp_path / f"{which}.pdf")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(pdf, ARTIFACTS / f"report-{which}.pdf")
    outside = words_outside_the_printable_area(pdf)
    assert outside == [], outside[:10]
    assert inked_margins(pdf, tmp_path) == []


def test_printed_demo_report_answers_the_auditors_questions(demo: dict[str, Any], tmp_path: Path) -> None:
    """Reading only the print: what was checked, what was not and why, what is wrong per recording,
    who is affected, who signed."""
    import subprocess

    pdf = print_to_pdf(demo["html"], tmp_path / "demo.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # Paths wrap across lines in print, and pdftotext joins a word broken after "-" without it.
    flat = "".join(text.split()).replace("-", "")
    result = demo["result"]
    # What was checked, and what was not and why.
    assert "Scope and limitations" in text and "What was examined" in text
    assert result["targets"][0].replace("-", "") in flat
    assert "What was not examined, and why" in text and "What no scan can know" in text
    # What is wrong, per recording: every recording with an open finding, each with what to do.
    flagged = {f["location"] for f in result["findings"] if not f.get("suppressed")}
    for location in flagged:
        assert location.replace("-", "") in flat
    assert text.count("WHAT TO DO") == len(flagged)
    # Who is affected.
    words = " ".join(text.split())
    assert "People affected: 1 client and 1 unknown individual" in words
    # Who owns each fix: every card says whose it is and by when.
    open_findings = [f for f in result["findings"] if not f.get("suppressed")]
    assert all(f.get("owner") for f in open_findings)
    for owner in {f["owner"] for f in open_findings}:
        assert owner in words
    assert text.count("OWNER") >= len(flagged)
    # The waiting-room music is listed as what it is.
    assert "not a session recording (suppressed by" in words
    # Posture that does not lie: each control has its name and one of the four states.
    assert "Encryption and decryption" in text
    assert "all 12" not in text
    # Who signed.
    for line in ("Sign-off", "Prepared by", "Reviewed by", "Signature"):
        assert line in text
    assert result["as_of"] in text


def test_accept_snippet_is_valid_as_pasted(browser: Any, report: Path, tmp_path: Path) -> None:
    """The "To accept it" lines, pasted into a new .auditor-ignore.yaml, load and suppress that finding."""
    page, _ = _open(browser, report)
    _view(page, "findings")
    page.locator("#f-body tr.row button.disclose").first.click()
    snippet = page.inner_text("#f-body tr.detail:not([hidden]) pre.snippet")
    page.close()
    ignore = tmp_path / ".auditor-ignore.yaml"
    ignore.write_text(snippet, encoding="utf-8")
    loaded = load_suppressions(ignore)
    assert len(loaded.entries) == 1
    data = json.loads((report.parent / "report.json").read_text(encoding="utf-8"))
    apply_suppressions(data, loaded)
    suppressed = [f for f in data["findings"] if f.get("suppressed")]
    assert [f["fingerprint"] for f in suppressed] == [loaded.entries[0].fingerprint]
    # And as the CLI reads it.
    res = run_cli(
        "report",
        report.parent / "report.json",
        "--ignore",
        ignore,
        "-o",
        tmp_path / "r.json",
        "--fail-on",
        "none",
    )
    assert res.exit_code == 0, res.output


def test_not_a_session_recording_snippet_is_valid_as_pasted_for_every_name(
    browser: Any, report: Path, tmp_path: Path
) -> None:
    """For each recording, even one named with markup, a line break or a bidi override, the lines
    offered load and cover that file's findings and nothing else."""
    page, _ = _open(browser, report)
    cards = page.locator("#r-list > li.rec")
    snippets: dict[str, str] = {}
    for n in range(cards.count()):
        card = cards.nth(n)
        card.locator("button.not-rec").click()
        location = card.locator(".rec-where").inner_text()
        snippets[location] = card.locator(".rec-detail:not([hidden]) pre.snippet").inner_text()
    page.close()
    data = json.loads((report.parent / "report.json").read_text(encoding="utf-8"))
    assert len(snippets) == len({f["location"] for f in data["findings"]}) >= 4
    for shown, snippet in snippets.items():
        ignore = tmp_path / "ignore.yaml"
        ignore.write_text(snippet, encoding="utf-8")
        loaded = load_suppressions(ignore)
        result = json.loads(json.dumps(data))
        apply_suppressions(result, loaded)
        marked = [r["location"] for r in result["recordings"] if r.get("not_a_session_recording")]
        assert len(marked) == 1, (shown, snippet)
        suppressed = {f["location"] for f in result["findings"] if f.get("suppressed")}
        assert suppressed == set(marked)


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


# --- the layout defects issue 15 lists, each checked at 1400 px ------------------------------


@pytest.fixture(scope="module")
def demo_again(demo: dict[str, Any]) -> dict[str, Any]:
    """The demo practice audited a second time the same day, against the first: a baseline, a
    same-day trend and first-seen times."""
    out = demo["dir"]
    html, js = out / "again.html", out / "again.json"
    res = run_cli(
        "scan", "-q", demo["result"]["targets"][0], "--config", out / "auditor.yaml", "--ignore",
        demo["result"]["suppressions"]["file"], "--baseline", demo["json"], "--fail-on", "none",
        "-o", html, "-o", js, cwd=out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return {"html": html, "result": json.loads(js.read_text(encoding="utf-8"))}


# Where each line of a text box ends: the characters just before each line break.
_LINE_ENDS = """els => els.map(el => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const chars = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (let i = 0; i < n.length; i++) {
      const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
      const box = r.getClientRects()[0];
      if (box) chars.push([n.data[i], Math.round(box.top)]);
    }
  }
  const ends = [];
  for (let i = 1; i < chars.length; i++) if (chars[i][1] > chars[i - 1][1] + 2) ends.push(chars[i - 1][0]);
  return [el.textContent, ends];
})"""


def test_breach_paths_wrap_only_after_a_slash_and_client_ids_never_wrap(
    browser: Any, demo: dict[str, Any]
) -> None:
    page, _ = _open(browser, demo["html"])
    paths = page.eval_on_selector_all(".breach-table code.path", _LINE_ENDS)
    assert paths, "the demo has breaches"
    for text, ends in paths:
        assert all(c == "/" for c in ends), (text, ends)
    people = page.eval_on_selector_all(".breach-table td.people .nowrap", _LINE_ENDS)
    assert people and all(ends == [] for _, ends in people), people
    page.close()


@pytest.mark.parametrize("which", ["demo", "large"])
def test_no_table_overflows_its_box_at_1400_px_nor_in_print(
    browser: Any, demo: dict[str, Any], large_print: Path, which: str
) -> None:
    """The inventory (its legal-hold column was clipped) and every other table fit their section,
    and no cell's content spills out of it, on screen and printed."""
    page, _ = _open(browser, demo["html"] if which == "demo" else large_print)
    for view, media in (("recordings", "screen"), ("findings", "screen"), ("findings", "print")):
        _view(page, view)
        if media == "print":
            page.set_viewport_size({"width": 794, "height": 1123})  # an A4 page at 96 dpi
            page.emulate_media(media="print")
        overflowing = page.evaluate(
            """() => Array.from(document.querySelectorAll('table.data')).filter(t => t.offsetParent)
                 .flatMap(t => {
                   const box = (t.closest('.table-scroll') || t.parentElement).getBoundingClientRect();
                   const out = t.getBoundingClientRect().right > box.right + 1 ? [t.className] : [];
                   return out.concat([...t.querySelectorAll('td, th')]
                     .filter(c => c.scrollWidth > c.clientWidth + 1)
                     .map(c => t.className + ': ' + c.textContent.slice(0, 50)));
                 })"""
        )
        assert overflowing == [], (view, media, overflowing)
    assert "legal hold in force" in page.inner_text(".inventory-table")  # within its recording's cell
    page.close()


def _text_outside_charts(page: Any) -> list[str]:
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('figure.chart-card svg')).flatMap(svg => {
                 const frame = svg.getBoundingClientRect();
                 return Array.from(svg.querySelectorAll('text')).filter(t => {
                   const b = t.getBoundingClientRect();
                   return b.width && (b.left < frame.left - 0.5 || b.right > frame.right + 0.5);
                 }).map(t => t.textContent);
               })"""
        )
    )


def test_chart_labels_are_inside_their_charts(browser: Any, demo: dict[str, Any], large_print: Path) -> None:
    """'Where recordings are' labels were cut off on the left."""
    for path in (demo["html"], large_print):
        page, _ = _open(browser, path)
        assert _text_outside_charts(page) == []
        assert page.locator("#recordings svg text.label").count() > 0
        page.close()


def test_large_counts_stay_on_one_line(browser: Any, demo: dict[str, Any], tmp_path: Path) -> None:
    """244k findings: every summary figure on one line, inside its box."""
    data = json.loads(demo["json"].read_text(encoding="utf-8"))
    s = data["summary"]
    s.update(recordings=1_244_318, compliant_recordings=1_000_002, findings=2_244_318, suppressed=120_000)
    s["by_severity"].update(critical=509_000, high=1_627_000)
    path = tmp_path / "big-counts.html"
    write(data, path, OutputOptions())
    page, _ = _open(browser, path)
    values = page.eval_on_selector_all(
        ".kpi-value",
        """vs => vs.map(v => [v.textContent, v.getClientRects().length,
              v.getBoundingClientRect().height / parseFloat(getComputedStyle(v).lineHeight || 0),
              v.scrollWidth <= v.clientWidth + 1])""",
    )
    assert any(v[0] == "2,244,318" for v in values), values
    for text, _, lines, fits in values:
        assert lines < 1.5 and fits, (text, lines, fits)
    assert _text_outside_charts(page) == []  # '1,627,000' at the end of the severity bar included
    page.close()


def test_first_seen_is_a_minute_and_same_day_audits_have_their_own_labels(
    browser: Any, demo_again: dict[str, Any]
) -> None:
    page, _ = _open(browser, demo_again["html"])
    _view(page, "findings")
    page.locator("#f-body tr.row button.disclose").first.click()
    first = page.evaluate(
        """() => [...document.querySelectorAll('#f-body tr.detail:not([hidden]) dt')]
             .filter(dt => dt.textContent === 'First seen').map(dt => dt.nextElementSibling.textContent)"""
    )
    import re

    assert len(first) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", first[0]), first
    labels = page.eval_on_selector_all(
        "#trend svg text.label, #trend svg text.axis", "ts => ts.map(t => t.textContent)"
    )
    days = [p["as_of"] for p in demo_again["result"]["trend"]]
    assert len(days) == 2 and days[0] == days[1]  # two audits on one day
    same_day = [label for label in labels if label.startswith(days[0])]
    assert len(same_day) == 2 and same_day[0] != same_day[1], labels
    page.close()


def test_the_print_has_no_double_period(
    demo: dict[str, Any], demo_again: dict[str, Any], tmp_path: Path
) -> None:
    import re
    import subprocess

    for name, html in (("demo", demo["html"]), ("again", demo_again["html"])):
        pdf = print_to_pdf(html, tmp_path / f"{name}.pdf")
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        words = " ".join(text.split())
        assert re.findall(r".{30}(?<!\.)\. ?\.(?!\.).{10}", words) == []


def test_a_bucket_audit_report_is_accessible_and_fits_at_1400_px(
    browser: Any, s3world: S3World, tmp_path: Path
) -> None:
    """An S3 audit against moto: bucket rules failing in the posture, public objects as breaches,
    bucket locations in the charts. axe-core finds nothing; no table, cell or chart overflows."""
    w = s3world
    w.bucket("clinic-recordings")
    w.s3.put_public_access_block(
        Bucket="clinic-recordings",
        PublicAccessBlockConfiguration={
            k: False
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        },
    )
    w.put("clinic-recordings", "intake/2026/C-1001_2026-11-10.wav", "session.wav", ACL="public-read")
    w.put("clinic-recordings", "supervision/C-1002_2026-11-11.m4a", "session.m4a")
    w.put("clinic-recordings", "intake/voice-memo.wav", "session.wav", ACL="public-read")
    html = tmp_path / "s3.html"
    res = run_cli(
        "scan", "-q", "s3://clinic-recordings", "--endpoint-url", w.url, "--fail-on", "none", "-o", html,
        "-o", tmp_path / "s3.json", cwd=tmp_path,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "s3.json").read_text(encoding="utf-8"))
    assert any(f["category"] == "breach" for f in result["findings"])
    assert any(f["rule"].startswith("s3-bucket") for f in result["findings"])
    page, seen = _open(browser, html)
    assert "s3://clinic-recordings" in page.inner_text("#scope")
    assert page.locator("#breaches").count() == 1
    assert _text_outside_charts(page) == []
    spilled = page.evaluate(
        """() => Array.from(document.querySelectorAll('table.data')).filter(t => t.offsetParent)
             .flatMap(t => [...t.querySelectorAll('td, th')].filter(c => c.scrollWidth > c.clientWidth + 1)
               .map(c => t.className + ': ' + c.textContent.slice(0, 50)))"""
    )
    assert spilled == []
    _view(page, "findings")  # the default for a bucket audit
    page.locator("#f-body button.disclose").first.click()
    assert _axe(page) == []
    _view(page, "recordings")
    page.locator("#r-list button.disclose").first.click()
    assert _axe(page) == []
    assert seen["errors"] == []
    page.close()
