"""Who owns each fix: `owners:` in auditor.yaml, by path prefix or bucket, into every format."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.owners import OwnerRule, assign_owners
from tests.conftest import place, run_cli


def _practice(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    place(root, "Clinic/C-1001_2026-11-10.wav", "session.wav")
    place(root, "Clinic/Legal/C-1002_2026-11-11.wav", "session.wav")
    place(root, "Home/zoom_0.mp4", "session-dated.mp4")
    place(root, "Elsewhere/x.wav", "session.wav")
    return root


def _config(tmp_path: Path, owners: str) -> Path:
    cfg = tmp_path / "auditor.yaml"
    cfg.write_text("version: 1\nowners:\n" + owners)
    return cfg


OWNERS = (
    "  - path: practice/Clinic\n    owner: Dr. Rivera (clinical lead)\n    due_days: 14\n"
    "  - path: practice/Clinic/Legal\n    owner: S. Okafor (records)\n    due: 2026-12-31\n"
    "  - path: practice/Home\n    owner: J. Chen\n"
)


def _scan(tmp_path: Path, cfg: Path, *outs: str) -> dict[str, Any]:
    args: list[str | Path] = []
    for out in ("r.json", *outs):
        args += ["-o", tmp_path / out]
    res = run_cli(
        "scan", "-q", _practice(tmp_path), "--config", cfg, "--as-of", "2026-11-22", "--fail-on", "none", *args,
        cwd=tmp_path,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))


def test_the_most_specific_entry_owns_each_finding_with_its_due_day(tmp_path: Path) -> None:
    result = _scan(tmp_path, _config(tmp_path, OWNERS), "r.csv", "r.html", "r.sarif")
    by_name: dict[str, set[tuple[Any, Any]]] = {}
    for f in result["findings"]:
        by_name.setdefault(Path(f["location"]).name, set()).add((f.get("owner"), f.get("due")))
    assert by_name["C-1001_2026-11-10.wav"] == {("Dr. Rivera (clinical lead)", "2026-12-06")}  # as_of + 14
    assert by_name["C-1002_2026-11-11.wav"] == {("S. Okafor (records)", "2026-12-31")}  # deeper wins
    assert by_name["zoom_0.mp4"] == {("J. Chen", None)}
    assert by_name["x.wav"] == {(None, None)}  # no entry covers it: no owner
    # CSV carries them in their own columns.
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(Path(r["location"]).name, r["owner"], r["due"]) for r in rows} >= {
        ("C-1001_2026-11-10.wav", "Dr. Rivera (clinical lead)", "2026-12-06"),
        ("x.wav", "", ""),
    }
    # SARIF: in each result's properties.
    sarif = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    props = [r["properties"] for run in sarif["runs"] for r in run["results"]]
    assert {(p.get("owner"), p.get("due")) for p in props} == {
        ("Dr. Rivera (clinical lead)", "2026-12-06"),
        ("S. Okafor (records)", "2026-12-31"),
        ("J. Chen", None),
        (None, None),
    }
    # The report's embedded rows carry them, and the owner filter lists each owner once.
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<select id="f-owner"' in html and html.count(">J. Chen</option>") == 1


def test_report_reassigns_owners_from_its_config_and_keeps_them_without_one(tmp_path: Path) -> None:
    _scan(tmp_path, _config(tmp_path, OWNERS))
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\nowners:\n  - path: practice\n    owner: Whole practice\n")
    res = run_cli(
        "report",
        tmp_path / "r.json",
        "--config",
        other,
        "-o",
        tmp_path / "again.json",
        "--fail-on",
        "none",
        cwd=tmp_path,
    )
    assert res.exit_code == 0, res.output
    again = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert {f.get("owner") for f in again["findings"]} == {"Whole practice"}
    plain = tmp_path / "plain.yaml"
    plain.write_text("version: 1\n")
    res = run_cli(
        "report",
        tmp_path / "r.json",
        "--config",
        plain,
        "-o",
        tmp_path / "kept.json",
        "--fail-on",
        "none",
        cwd=tmp_path,
    )
    kept = json.loads((tmp_path / "kept.json").read_text(encoding="utf-8"))
    assert "J. Chen" in {f.get("owner") for f in kept["findings"]}


def test_buckets_and_paths_match_whole_components_only() -> None:
    rules = [
        OwnerRule(owner="data team", bucket="riverside"),
        OwnerRule(owner="clinic", path="/srv/clinic"),
    ]
    result = {
        "as_of": "2026-11-22",
        "findings": [
            {"location": "s3://riverside/2026/a.m4a"},
            {"location": "s3://riverside"},
            {"location": "s3://riverside-archive/a.m4a"},
            {"location": "/srv/clinic/a.wav"},
            {"location": "/srv/clinic-old/a.wav"},
            {"location": "/srv/clinic/b.wav", "status": "resolved", "owner": "before"},
        ],
    }
    assign_owners(result, rules)
    assert [f.get("owner") for f in result["findings"]] == [
        "data team",
        "data team",
        None,
        "clinic",
        None,
        "before",
    ]


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("  - path: a\n    bucket: b-bucket\n    owner: x\n", 3, "owners[0]: give either 'path' or 'bucket'"),
        ("  - owner: x\n", 3, "owners[0]: give either 'path' or 'bucket'"),
        ("  - path: a\n", 3, "owners[0]: missing required key 'owner'"),
        (
            "  - path: a\n    owner: x\n    due: 2027-01-01\n    due_days: 3\n",
            3,
            "owners[0]: give either 'due' or 'due_days'",
        ),
        ("  - path: a\n    owner: x\n    due: soon\n", 5, "owners[0].due: is not a valid date"),
        ("  - bucket: s3://b\n    owner: x\n", 3, "owners[0].bucket: must be a bucket name, without s3://"),
        ("  - path: a\n    owner: x\n    when: 3\n", 5, "owners[0].when: unknown key 'when'"),
    ],
)
def test_a_bad_owners_entry_exits_2_naming_file_line_and_key(
    tmp_path: Path, entry: str, line: int, message: str
) -> None:
    cfg = _config(tmp_path, entry)
    root = tmp_path / "practice"
    place(root, "a.wav", "session.wav")
    res = run_cli("scan", "-q", root, "--config", cfg, "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.exit_code == 2, res.output
    assert f"{cfg}:{line}: {message}" in res.output, res.output
    assert not (tmp_path / "r.json").exists()
