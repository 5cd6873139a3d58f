"""The merged report in a real headless Chromium: one row per machine merged and per machine that
sent nothing, each row drilling down to that machine's findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import place, run_cli
from tests.test_merge import as_machine, scan_to
from tests.test_report_browser import _changed, _count, _matching, _open, _view, browser

__all__ = ["browser"]  # a fixture this module uses
pytestmark = pytest.mark.browser


def test_merged_report_groups_by_scope_and_drills_down(browser: Any, tmp_path: Path) -> None:
    root = tmp_path / "Recordings"
    place(root, "2023-01-02 client-1.wav", "session-dated.wav")
    place(root, "2023/session-2.mp4", "session-audio.mp4")
    scan = scan_to(tmp_path, "scan", root)
    per_machine = len(json.loads(scan.read_text())["findings"])
    laptops = [as_machine(scan, host, tmp_path) for host in ("laptop-a", "laptop-b", "laptop-c")]
    expect = tmp_path / "hosts.txt"
    expect.write_text("laptop-a\nlaptop-b\nlaptop-c\nlaptop-<script>\n")
    html = tmp_path / "all.html"
    res = run_cli("merge", "-q", "--fail-on", "none", *laptops, "--expect", expect, "-o", html)
    assert res.exit_code == 0, res.output

    page, seen = _open(browser, html)
    rows = page.locator("#scopes tbody tr").all_inner_texts()
    assert [r.split("\t")[0].split("\n")[0] for r in rows] == [
        "laptop-a",
        "laptop-b",
        "laptop-c",
        "laptop-<script>",
    ]
    assert "Not audited" in rows[3]  # shown as text, and as what it is
    _view(page, "findings")
    assert _matching(_count(page)) == 3 * per_machine
    before = _count(page)
    page.click('#scopes a[data-value="laptop-b"]')
    assert _matching(_changed(page, before)) == per_machine
    assert page.input_value("#f-group") == "laptop-b"
    assert seen["errors"] == [] and seen["console"] == [] and seen["dialogs"] == []
    page.close()
