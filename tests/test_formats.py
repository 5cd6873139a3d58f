"""CSV and Markdown, each written by `auditor scan -o` from a real scan (SARIF: test_sarif.py, JUnit: test_junit.py)."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from auditor.outputs.csv_output import safe_cell
from auditor.outputs.markdown import md, to_markdown
from tests.conftest import place, run_cli

FORMULA = '=HYPERLINK("evil.example","y").wav'


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("formats")
    root = tmp / "practice"
    place(root, "C-1001_2026-11-10.wav", "session.wav")
    place(root, "notes/[link](javascript:alert(1)) *bold* |pipe|.mp3", "session.mp3")
    place(root, FORMULA, "session.m4a")
    place(root, "enc/C-1002_2026-11-01.m4a.gpg", "session.m4a.gpg")
    other = tmp / "second"
    place(other, "with space.ogg", "session.ogg")
    (tmp / "auditor.yaml").write_text(
        "version: 1\nattribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
    )
    files = {ext: tmp / f"r.{ext}" for ext in ("json", "csv", "md")}
    args = [a for ext in files for a in ("-o", files[ext])]
    res = run_cli(
        "scan", "-q", root, other, "--config", tmp / "auditor.yaml", "--as-of", "2026-11-22", "--fail-on", "none",
        *args, cwd=tmp,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return {"files": files, "result": json.loads(files["json"].read_text()), "root": root, "other": other}


def test_csv_has_one_row_per_finding_and_defuses_formulas(outputs: dict[str, Any]) -> None:
    raw = outputs["files"]["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with the BOM
    with outputs["files"]["csv"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    result = outputs["result"]
    assert len(rows) == len(result["findings"])
    assert {r["fingerprint"] for r in rows} == {f["fingerprint"] for f in result["findings"]}
    dangerous = [r for r in rows if FORMULA in r["location"]]
    assert dangerous and all(r["location"].startswith("/") for r in dangerous)  # a path starts with /
    assert all(not r[c].startswith(("=", "+", "-", "@")) for r in rows for c in r)
    assert safe_cell(FORMULA) == "'" + FORMULA
    assert (
        safe_cell("  =1+1") == "'  =1+1" and safe_cell("-2") == "'-2" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    )
    # After the tab too: a spreadsheet splitting on tabs would start a cell `=x` there.
    assert safe_cell("\t=x") == "'\t'=x" and safe_cell("plain") == "plain" and safe_cell(None) == ""
    first = rows[0]
    assert json.loads(first["evidence"]) is not None and first["state"] == "open"


def test_markdown_summary_escapes_names_and_counts_match(outputs: dict[str, Any]) -> None:
    text = outputs["files"]["md"].read_text()
    result = outputs["result"]
    assert f"**{result['summary']['findings']:,} open finding(s)**" in text
    assert "[link](" not in text and "\\[link\\]\\(javascript:alert\\(1\\)\\)" in text
    assert "\\|pipe\\|" in text and "\\*bold\\*" in text
    for sev, n in result["summary"]["by_severity"].items():
        assert f"| {sev} | {n:,} |" in text
    assert md("<script>&") == "&lt;script\\>&amp;"
    assert md("a\nb") == "a\\\\nb"


def test_markdown_reports_breaches_incomplete_audits_and_baseline(outputs: dict[str, Any]) -> None:
    result = json.loads(json.dumps(outputs["result"]))
    result["coverage"]["complete"] = False
    result["coverage"]["skipped"] = [{"location": "/x", "reason": "permission-denied", "detail": ""}]
    result["baseline"] = {"as_of": "2026-11-01", "new": 3, "resolved": 2, "unchanged": 9}
    result["findings"].append(
        dict(result["findings"][0], category="breach", rule="breach-unsecured-exposure")
    )
    text = to_markdown(result, "ab" * 32)
    assert "**Incomplete audit:** 1 place(s)" in text
    assert "1 possible breach(es) to assess" in text
    assert "**3 new**, 2 resolved, 9 unchanged" in text
    assert "ab" * 32 in text
