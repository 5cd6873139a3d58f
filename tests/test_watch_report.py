"""The report `auditor watch --report` keeps: the scan's report plus the watch section docs/watch.md
promises (state and why, overflows, restarts, each observer, each sink, the incidents)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.test_watch_helpers import SAMPLE, drop, make_settings, running, wait_for


def _section(page: str, section_id: str) -> str:
    """The visible text of one section of the page, tags stripped, whitespace folded."""
    match = re.search(rf'<section id="{section_id}".*?</section>', page, re.DOTALL)
    assert match, f"no #{section_id} section"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group())).split())


def test_the_watch_report_shows_overflows_restarts_and_observer_health(tmp_path: Path) -> None:
    from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent

    tree = tmp_path / "tree <i>x"  # a name that must come out as text, not markup
    (tree / "polled").mkdir(parents=True)
    report = tmp_path / "report.html"
    # Room for the root's inotify watch only: the subfolder is polled, a degraded watch.
    settings = make_settings(tmp_path, tree, inotify_watch_limit=1, report_path=report, report_interval=0.1)
    with running(settings) as daemon:
        wait_for(lambda: daemon.health.degraded_polling, what="the polled subfolder")
        observer = daemon.supervisor.trees[str(tree)].observer
        observer.inotify_thread.handle_event(InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))
        wait_for(lambda: daemon.health.history, what="the overflow, covered by its rescan")
        recording = drop(SAMPLE, tree / "a.amr")

        def written() -> str:
            page = report.read_text() if report.exists() else ""
            return page if recording.name in page and "event queue overflow" in page else ""

        page = wait_for(written, what="a report with the recording and the overflow")
    assert '<a href="#watch" class="toc-alert">Watch</a>' in page  # degraded: flagged in the contents
    assert "<i>x" not in page
    watch = _section(page, "watch")
    assert "The watch is degraded" in watch
    assert f"polling {tree / 'polled'}: inotify watch limit reached" in watch
    assert "Queue overflows 1 Observer restarts 0 Watch loop restarts 0" in watch
    assert f"{tree} inotify watching" in watch and f"{tree / 'polled'} polling" in watch
    assert f"watch-overflow-rescan {tree}" in watch
    assert f"events file {settings.events_path}" in watch


@pytest.mark.browser
def test_the_watch_report_opens_in_chromium_with_hostile_names_as_text(tmp_path: Path) -> None:
    """The real consumer: the daemon's report in headless Chromium, a hostile folder name in the
    watch section shown as text, no console error, no request."""
    from playwright.sync_api import sync_playwright

    from tests.test_report_browser import CHROMIUM, CHROMIUM_ARGS, _axe, _open

    tree = tmp_path / "<img src=x onerror=alert(1)>"
    tree.mkdir()
    report = tmp_path / "report.html"
    settings = make_settings(tmp_path, tree, report_path=report, report_interval=0.1)
    with running(settings):
        recording = drop(SAMPLE, tree / "a.amr")
        wait_for(lambda: report.exists() and recording.name in report.read_text(), what="the report")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page, seen = _open(browser, report)
            watch = page.inner_text("#watch")
            images = page.evaluate("document.querySelectorAll('img[src=\"x\"]').length")
            violations = _axe(page)  # axe-core: the watch section too, no violation of any impact
        finally:
            browser.close()
    assert f"{tree}\ninotify" in watch or f"{tree}\tinotify" in watch
    assert images == 0 and seen["dialogs"] == [] and seen["errors"] == [] and seen["console"] == []
    assert seen["requests"] == [report.as_uri()]
    assert violations == []
