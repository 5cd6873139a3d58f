"""The merged report in a real headless Chromium: one row per machine merged and per machine that
sent nothing, each row drilling down to that machine's findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.contract import dumps
from auditor.models import make_fingerprint
from auditor.outputs.html import rows
from auditor.posture import is_active
from bench.bench_report import synthetic_result
from tests.conftest import place, run_cli
from tests.test_merge import as_machine, scan_to
from tests.test_report_browser import _axe, _changed, _count, _matching, _open, _view, browser

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
    assert page.get_attribute("#f-group", "aria-label") == "Scope"  # a merge's groups are its scopes
    assert page.locator("#f-group option").first.inner_text() == "All scopes"
    assert page.input_value("#f-group") == ""  # a small merge opens on every scope at once
    _view(page, "findings")
    assert _matching(_count(page)) == 3 * per_machine
    before = _count(page)
    page.click('#scopes a[data-value="laptop-b"]')
    assert _matching(_changed(page, before)) == per_machine
    assert page.input_value("#f-group") == "laptop-b"
    assert seen["errors"] == [] and seen["console"] == [] and seen["dialogs"] == []
    page.close()


HOSTS = ("laptop-a", "laptop-b", "laptop-c")


def laptop(tmp_path: Path, host: str, findings: int, seed: int) -> Path:
    """A synthetic laptop's result (bench_report's generator) with its own paths, so a row shows its scope."""
    result = synthetic_result(findings, seed=seed)
    result["run_by"] = f"therapist@{host}"
    for item in (*result["findings"], *result["recordings"]):
        item["location"] = item["location"].replace("/srv/therapy/", f"/srv/{host}/")
    for finding in result["findings"]:
        finding["fingerprint"] = make_fingerprint(finding["rule"], finding["location"])
    path = tmp_path / f"{host}.json"
    path.write_text(dumps(result), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def large_merge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three laptops merged into a report past EAGER_FINDINGS: one compressed part per scope, read lazily."""
    tmp_path = tmp_path_factory.mktemp("large-merge")
    inputs = [laptop(tmp_path, host, 1_200, seed) for seed, host in enumerate(HOSTS)]
    # One fingerprint the script cannot compute (a discriminator): it travels in the part as text.
    data = json.loads(inputs[1].read_text())
    data["findings"][-1]["fingerprint"] = make_fingerprint(data["findings"][-1]["rule"], "x", "other")
    inputs[1].write_text(json.dumps(data))
    html, out = tmp_path / "all.html", tmp_path / "all.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rows, "EAGER_FINDINGS", 1_000)
        res = run_cli("merge", "-q", "--fail-on", "none", *inputs, "-o", html, "-o", out)
    assert res.exit_code == 0, res.output
    return {"html": html, "result": json.loads(out.read_text())}


def _settled(page: Any) -> None:
    page.wait_for_selector("html[data-ready]:not([data-loading])")


def _shown_findings(page: Any) -> list[dict[str, str]]:
    """The findings table's rows as (location, fingerprint), each one's details opened to read it."""
    shown = []
    for row in page.locator("#f-body tr.row").all():
        row.click()
        detail = row.locator("xpath=following-sibling::tr[1]")
        shown.append(
            {"location": detail.locator("dd code.path").first.inner_text().replace("\n", ""),
             "fingerprint": detail.locator("code.hash").inner_text()}
        )  # fmt: skip
    return shown


def test_a_large_merge_opens_on_one_scope_and_pages_through_its_rows(
    browser: Any, large_merge: dict[str, Any]
) -> None:
    html, result = large_merge["html"], large_merge["result"]
    text = html.read_text(encoding="utf-8")
    assert text.count('data-encoding="gzip+base64"') == len(HOSTS)  # one part per scope
    by_scope = {h: [f for f in result["findings"] if f["scope"] == h and is_active(f)] for h in HOSTS}
    page, seen = _open(browser, html)
    assert page.input_value("#f-group") == "laptop-a"  # the first scope; the others are not read yet
    assert page.locator("#f-group option").first.inner_text().startswith("All scopes")
    assert page.get_attribute("#f-group", "aria-label") == "Scope"
    _view(page, "findings")
    assert _matching(_count(page)) == len(by_scope["laptop-a"])
    assert _count(page).endswith("Only the scope laptop-a is searched: choose All scopes for every one.")
    known = {(f["location"], f["fingerprint"]) for f in by_scope["laptop-a"]}
    page.select_option("#f-pager select", "25")
    page.wait_for_function("() => document.querySelectorAll('#f-body tr.row').length === 25")
    first = _shown_findings(page)
    page.click("#f-pager button:has-text('Next')")
    page.wait_for_function(
        "() => document.querySelector('#f-pager .page-of').textContent.startsWith('Page 2 ')"
    )
    second = _shown_findings(page)
    for row in first + second:  # every row is one of laptop-a's open findings, fingerprint computed right
        assert (row["location"], row["fingerprint"]) in known, row
    assert len({r["fingerprint"] for r in first + second}) == 50

    def inventory_is(host: str) -> None:  # the inventory shows the scope chosen for the findings
        recordings = sum(1 for r in result["recordings"] if r["scope"] == host)
        assert page.inner_text("#i-count").endswith(f" of {recordings:,} recordings.")

    inventory_is("laptop-a")

    # Drill down from the scopes table: laptop-c's part is read, and only its rows are shown.
    before = _count(page)
    page.click('#scopes a[data-value="laptop-c"]')
    _settled(page)
    assert _count(page) != before and _matching(_count(page)) == len(by_scope["laptop-c"])
    assert all("/srv/laptop-c/" in row["location"] for row in _shown_findings(page))
    inventory_is("laptop-c")
    assert _axe(page) == []  # the scope filter, the count line and the parts' pages are accessible
    assert seen["errors"] == [] and seen["console"] == [] and seen["dialogs"] == []
    page.close()


def test_a_finding_far_from_the_first_page_is_found_by_search_in_every_scope(
    browser: Any, large_merge: dict[str, Any]
) -> None:
    result = large_merge["result"]
    target = [f for f in result["findings"] if f["scope"] == "laptop-b" and is_active(f)][-1]
    assert target["fingerprint"] != make_fingerprint(target["rule"], target["location"])  # carried as text
    page, seen = _open(browser, large_merge["html"])
    _view(page, "findings")
    page.select_option("#f-group", "")  # all scopes: every part is read
    _settled(page)
    assert _matching(_count(page)) == sum(1 for f in result["findings"] if is_active(f))
    for query in (target["fingerprint"][:12], target["location"]):
        before = _count(page)
        page.fill("#f-q", query)
        _settled(page)
        assert _matching(_changed(page, before)) == sum(
            1
            for f in result["findings"]
            if is_active(f) and (f["fingerprint"].startswith(query) or query in f["location"])
        )
        assert any(r["fingerprint"] == target["fingerprint"] for r in _shown_findings(page))
    # A computed fingerprint is searchable too: another laptop's finding, found by its prefix.
    other = next(f for f in result["findings"] if f["scope"] == "laptop-c" and is_active(f))
    before = _count(page)
    page.fill("#f-q", other["fingerprint"][:16])
    assert _matching(_changed(page, before)) == 1
    assert _shown_findings(page)[0]["fingerprint"] == other["fingerprint"]
    assert seen["errors"] == [] and seen["console"] == []
    page.close()


def test_sorting_a_scope_orders_by_the_column_then_severity_then_location(
    browser: Any, large_merge: dict[str, Any]
) -> None:
    result = large_merge["result"]
    severities = ["critical", "high", "medium", "low", "info"]
    rule_index = {r["id"]: i for i, r in enumerate(result["rules"])}
    mine = [
        (i, f)
        for i, f in enumerate(f for f in result["findings"] if f["scope"] == "laptop-a")
        if is_active(f)
    ]

    def expected(primary: Any, reverse: bool) -> list[tuple[str, str]]:
        def key(item: tuple[int, dict[str, Any]]) -> tuple[Any, ...]:
            i, f = item
            first = primary(f)
            return (-first if reverse else first, severities.index(f["severity"]), f["location"], i)

        return [(f["location"], f["fingerprint"]) for _, f in sorted(mine, key=key)[:25]]

    page, seen = _open(browser, large_merge["html"])
    _view(page, "findings")
    page.select_option("#f-pager select", "25")
    page.wait_for_function("() => document.querySelectorAll('#f-body tr.row').length === 25")

    def shown() -> list[tuple[str, str]]:
        return [(r["location"], r["fingerprint"]) for r in _shown_findings(page)]

    assert shown() == expected(lambda f: severities.index(f["severity"]), False)
    page.click('#f-table th[data-sort="rule"]')
    assert shown() == expected(lambda f: rule_index[f["rule"]], False)
    page.click('#f-table th[data-sort="rule"]')  # again: the other way, ties still by severity, location
    assert page.get_attribute('#f-table th[data-sort="rule"]', "aria-sort") == "descending"
    assert shown() == expected(lambda f: rule_index[f["rule"]], True)
    assert seen["errors"] == []
    page.close()
