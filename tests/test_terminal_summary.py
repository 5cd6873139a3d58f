"""The terminal summary: what changed since the baseline, and suppressions that no longer act."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.cli.console import NAMED_AT_MOST, summary_lines
from tests.conftest import place, run_cli

AS_OF = "2026-11-22"


def _scan(root: Path, out: Path, *extra: str | Path) -> list[str]:
    res = run_cli("scan", root, "--as-of", AS_OF, "--fail-on", "none", "-o", out, *extra)
    assert res.exit_code == 0, res.output
    return res.stdout.splitlines()


def test_with_a_baseline_the_summary_gives_new_resolved_and_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "practice"
    fixed = place(root, "clinic/C-1001_2026-11-10.wav", "session.wav")
    place(root, "clinic/C-1002_2026-11-10.wav", "session.wav")
    place(root, "clinic/C-1003_2026-11-10.wav", "session.wav")
    _scan(root, tmp_path / "before.json")
    before = json.loads((tmp_path / "before.json").read_text())
    per_file = sum(1 for f in before["findings"] if f["location"] == str(fixed))
    assert per_file >= 1
    fixed.unlink()  # one recording dealt with, two new ones appear
    place(root, "clinic/C-1004_2026-11-10.wav", "session.wav")
    place(root, "clinic/C-1005_2026-11-10.wav", "session.wav")
    lines = _scan(root, tmp_path / "after.json", "--baseline", tmp_path / "before.json")
    after = json.loads((tmp_path / "after.json").read_text())
    b = after["baseline"]
    assert (b["new"], b["resolved"], b["unchanged"]) == (2 * per_file, per_file, 2 * per_file)
    assert (
        f"since the baseline of {AS_OF}: {2 * per_file:,} new, {per_file:,} resolved, {2 * per_file:,} unchanged."
        in lines
    )


def test_no_baseline_no_line(tmp_path: Path) -> None:
    root = tmp_path / "practice"
    place(root, "clinic/C-1001_2026-11-10.wav", "session.wav")
    assert not any(line.startswith("since the baseline") for line in _scan(root, tmp_path / "r.json"))


def test_expired_and_unmatched_suppressions_are_named_with_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "practice"
    rec = place(root, "clinic/C-1001_2026-11-10.wav", "session.wav")
    place(root, "Music/relax.wav", "session.wav")
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "version: 1\n"
        "suppressions:\n"
        "  - rule: recording-unencrypted\n"  # line 3: expired, and it matches: its finding counts again
        f"    location: {rec}\n"
        "    reason: risk assessment RA-1\n"
        "    expires: 2026-11-01\n"
        "  - rule: recording-unencrypted\n"  # line 7: matches nothing (a typo in the folder)
        f"    location: {root}/clinc/**\n"
        "    reason: moved to the encrypted share\n"
        "    expires: 2027-01-31\n"
        "  - location: '**/Music/*.wav'\n"  # line 11: in force, marks a recording: named nowhere
        "    not_a_session_recording: true\n"
        "    reason: waiting-room music\n"
        "    expires: 2027-06-30\n"
    )
    lines = _scan(root, tmp_path / "r.json", "--ignore", ignore)
    result = json.loads((tmp_path / "r.json").read_text())
    entries = {e["line"]: e for e in result["suppressions"]["entries"]}
    assert entries[3]["expired"] and entries[3]["matched"] == 1
    assert entries[7]["matched"] == 0 and entries[7]["recordings"] == 0
    assert entries[11]["recordings"] == 1
    assert "suppressions expired: 1" in lines
    assert (
        f"  {ignore}:3 (recording-unencrypted at {rec}) expired on 2026-11-01 (1 no longer suppressed)"
        in lines
    )
    assert "suppressions unmatched: 1" in lines
    assert f"  {ignore}:7 (recording-unencrypted at {root}/clinc/**) matched nothing" in lines
    assert not any(":11 " in line for line in lines)  # the entry doing its job is not mentioned


def test_a_long_list_of_unmatched_entries_is_cut_with_a_count() -> None:
    entries = [
        {
            "line": 3 + 4 * i,
            "rule": "r",
            "location": f"/x/{i}",
            "expired": False,
            "matched": 0,
            "recordings": 0,
        }
        for i in range(NAMED_AT_MOST + 3)
    ]
    lines = summary_lines(_result_with(entries))
    assert f"suppressions unmatched: {NAMED_AT_MOST + 3}" in lines
    assert sum(1 for line in lines if line.endswith("matched nothing")) == NAMED_AT_MOST
    assert "  and 3 more (see the report's suppressions)" in lines


def test_a_not_a_recording_entry_that_marks_a_recording_without_findings_is_in_use() -> None:
    entries = [
        {"line": 3, "location": "/m/*.mp3", "not_a_session_recording": True, "expired": False,
         "matched": 0, "recordings": 1},
        {"line": 7, "location": "/n/*.mp3", "not_a_session_recording": True, "expired": False,
         "matched": 0, "recordings": 0},
    ]  # fmt: skip
    lines = summary_lines(_result_with(entries))
    assert "suppressions unmatched: 1" in lines
    assert "  /p/.auditor-ignore.yaml:7 (not a session recording: /n/*.mp3) matched nothing" in lines


def _result_with(entries: list[dict[str, object]]) -> dict[str, object]:
    return {
        "tool": {"version": "0"},
        "as_of": AS_OF,
        "coverage": {"files_seen": 0, "skipped": []},
        "summary": {"recordings": 0, "compliant_recordings": 0, "findings": 0},
        "suppressions": {"file": "/p/.auditor-ignore.yaml", "entries": entries},
    }
