"""Suppressions (.auditor-ignore.yaml), baselines (--baseline) and CI gating (--fail-on, --new-only)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.suppress import glob_to_regex
from tests.conftest import place, run_cli

RULE = "recording-unencrypted"


def _config(tmp_path: Path) -> Path:
    (tmp_path / "consent.yaml").write_text(
        "version: 1\nclients:\n"
        + "".join(
            f"  - id: C-{n}\n    consents:\n      - {{granted: 2026-01-01, purposes: [supervision]}}\n"
            for n in (1001, 1002, 1003)
        )
    )
    cfg = tmp_path / "auditor.yaml"
    cfg.write_text(
        "version: 1\nconsent_registry: consent.yaml\nattribution:\n"
        "  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})_(?P<purpose>[a-z]+)']\n"
    )
    return cfg


def _scan(
    tmp_path: Path, root: Path, out: str, *extra: str | Path, as_of: str = "2026-11-22"
) -> tuple[int, str]:
    res = run_cli(
        "scan", "-q", root, "--config", _config(tmp_path), "--as-of", as_of, "-o", tmp_path / out, *extra,
        cwd=tmp_path,
    )  # fmt: skip
    return res.exit_code, res.output


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _only_unencrypted(tmp_path: Path) -> Path:
    """One private plaintext recording with consent: exactly one high finding (unencrypted)."""
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-11_supervision.wav", "session.wav")
    return root


# --- suppressions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "suppressed", "exit_code"),
    [("2026-11-21", True, 0), ("2026-11-22", True, 0), ("2026-11-23", False, 1)],
    ids=["day-before-expiry", "expiry-day", "day-after-expiry"],
)
def test_suppression_applies_through_its_expiry_day_then_the_finding_returns(
    tmp_path: Path, as_of: str, suppressed: bool, exit_code: int
) -> None:
    root = _only_unencrypted(tmp_path)
    (tmp_path / ".auditor-ignore.yaml").write_text(
        "version: 1\nsuppressions:\n"
        f"  - rule: {RULE}\n    location: '**/*_supervision.wav'\n"
        "    reason: Encrypted volume migration ticket SEC-42\n    expires: 2026-11-22\n"
    )
    code, output = _scan(tmp_path, root, "r.json", "--fail-on", "high", as_of=as_of)
    assert code == exit_code, output
    result = _load(tmp_path / "r.json")
    (finding,) = [f for f in result["findings"] if f["rule"] == RULE]  # never dropped
    if suppressed:
        assert finding["suppressed"] == {
            "reason": "Encrypted volume migration ticket SEC-42",
            "expires": "2026-11-22",
            "file": str(tmp_path / ".auditor-ignore.yaml"),
            "line": 3,
            "by": "rule+location",
        }
        assert result["summary"]["suppressed"] == 1 and result["summary"]["by_severity"]["high"] == 0
    else:
        assert "suppressed" not in finding
        assert result["suppressions"]["entries"][0]["expired"] is True
        assert result["summary"]["by_severity"]["high"] == 1
    assert result["suppressions"]["entries"][0]["matched"] == 1


def test_fingerprint_entry_suppresses_exactly_that_finding_and_shows_in_every_format(tmp_path: Path) -> None:
    root = _only_unencrypted(tmp_path)
    place(root, "C-1002_2026-11-12_supervision.wav", "session.wav")
    _scan(tmp_path, root, "first.json", "--fail-on", "none")
    first = _load(tmp_path / "first.json")
    target = next(f for f in first["findings"] if f["rule"] == RULE)
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(
        f"version: 1\nsuppressions:\n  - fingerprint: {target['fingerprint']}\n    reason: 'Risk assessment RA-7'\n"
    )
    code, _ = _scan(
        tmp_path, root, "r.json", "--ignore", ignore, "-o", tmp_path / "r.html", "-o", tmp_path / "r.csv"
    )
    assert code == 1  # the other unencrypted recording still fails CI
    result = _load(tmp_path / "r.json")
    marked = [f for f in result["findings"] if f.get("suppressed")]
    assert [f["fingerprint"] for f in marked] == [target["fingerprint"]]
    assert marked[0]["suppressed"]["by"] == "fingerprint"
    assert "Risk assessment RA-7" in (tmp_path / "r.html").read_text()
    assert ",suppressed," in (tmp_path / "r.csv").read_text(encoding="utf-8-sig")


def test_invalid_suppression_file_exits_2_with_file_line_and_key_before_scanning(tmp_path: Path) -> None:
    root = _only_unencrypted(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nsuppressions:\n"
        "  - fingerprint: nothex\n    reason: x\n"  # line 3
        "  - rule: retention-exceeded\n    reason: no location\n"  # line 5
        "  - fingerprint: 0123456789abcdef0123456789abcdef\n    reason: ''\n"  # line 7
        "  - fingerprint: 0123456789abcdef0123456789abcdef\n    reason: ok\n    expires: 2026-02-30\n"  # line 9
        "  - fingerprint: 0123456789abcdef0123456789abcdef\n    reason: ok\n    expirs: 2026-02-01\n"  # line 12
    )
    res = run_cli("scan", "-q", root, "--ignore", bad, "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.exit_code == 2
    err = res.output
    assert f"{bad}:3: suppressions[0].fingerprint: must be a finding fingerprint" in err
    assert f"{bad}:5: suppressions[1]: 'rule' and 'location' go together" in err
    assert f"{bad}:8: suppressions[2].reason: must say why" in err
    assert f"{bad}:11: suppressions[3].expires: is not a valid date" in err
    assert f"{bad}:14: suppressions[4].expirs: unknown key 'expirs' (did you mean 'expires'?)" in err
    assert not (tmp_path / "r.json").exists()


def test_unknown_rule_id_in_suppression_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    root = _only_unencrypted(tmp_path)
    (tmp_path / ".auditor-ignore.yaml").write_text(
        "version: 1\nsuppressions:\n  - rule: recording-unencryptd\n    location: '**'\n    reason: typo\n"
    )
    code, output = _scan(tmp_path, root, "r.json")
    assert code == 2
    assert ".auditor-ignore.yaml:3: suppressions[0].rule: unknown rule id 'recording-unencryptd'" in output
    assert "did you mean 'recording-unencrypted'" in output


def test_not_a_session_recording_suppresses_every_rule_at_the_location_until_it_expires(
    tmp_path: Path,
) -> None:
    """A relaxation track in Music/: one entry, with a reason and an expiry, covers all its findings."""
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-11_supervision.wav", "session.wav")
    place(
        root, "Music/relaxation [1].mp3", "session-bare.mp3", mode=0o644
    )  # unattributed, unencrypted, exposed
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "version: 1\nsuppressions:\n"
        "  - location: '**/Music/relaxation [[]1].mp3'\n"
        "    not_a_session_recording: true\n"
        "    reason: Waiting-room relaxation track, no client in it (checked by the privacy officer)\n"
        "    expires: 2026-12-31\n"
    )
    code, out = _scan(
        tmp_path, root, "r.json", "--ignore", ignore, "-o", tmp_path / "r.html", "--fail-on", "none"
    )
    assert code == 0, out
    result = _load(tmp_path / "r.json")
    music = [f for f in result["findings"] if "/Music/" in f["location"]]
    assert len({f["rule"] for f in music}) >= 2  # several rules, one entry
    assert all(f["suppressed"]["by"] == "not-a-session-recording" for f in music)
    session = [f for f in result["findings"] if "/Music/" not in f["location"]]
    assert session and not any(f.get("suppressed") for f in session)
    marked = [r for r in result["recordings"] if r.get("not_a_session_recording")]
    assert [r["location"] for r in marked] == [str(root / "Music/relaxation [1].mp3")]
    assert marked[0]["not_a_session_recording"]["expires"] == "2026-12-31"
    assert result["summary"]["not_session_recordings"] == 1
    assert result["summary"]["recordings"] == len(result["recordings"]) - 1  # music is no recording
    entry = result["suppressions"]["entries"][0]
    assert entry["not_a_session_recording"] is True and entry["matched"] == len(music)
    # The inventory names it as such (the embedded row carries the text the table shows).
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "not a session recording (suppressed by " in html and " until 2026-12-31): Waiting-room" in html
    # After its expiry the findings are open again and the file is a recording like any other.
    code, _ = _scan(tmp_path, root, "later.json", "--ignore", ignore, "--fail-on", "none", as_of="2027-01-01")
    later = _load(tmp_path / "later.json")
    assert not any(f.get("suppressed") for f in later["findings"])
    assert not any(r.get("not_a_session_recording") for r in later["recordings"])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "    not_a_session_recording: true\n    location: '**/x.mp3'\n    reason: r\n",
            "needs 'location' and 'expires'",
        ),
        (
            "    not_a_session_recording: true\n    rule: recording-unencrypted\n    location: '**/x.mp3'\n"
            "    reason: r\n    expires: 2027-01-01\n",
            "leave out 'rule' and 'fingerprint'",
        ),
        (
            "    not_a_session_recording: true\n    location: '**/x.mp3'\n    expires: 2027-01-01\n",
            "'reason'",
        ),
        ("    not_a_session_recording: false\n    location: '**/x.mp3'\n    reason: r\n", "must be true"),
        ("    rule: '*'\n    location: '**/x.mp3'\n    reason: r\n", "unknown rule id '*'"),
    ],
)
def test_not_a_session_recording_entry_is_checked_with_file_line_and_key(
    tmp_path: Path, entry: str, message: str
) -> None:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "version: 1\nsuppressions:\n  - reason: placeholder\n    fingerprint: "
        + "ab" * 16
        + "\n  - "
        + entry[4:]
    )
    code, out = _scan(tmp_path, _only_unencrypted(tmp_path), "r.json", "--ignore", ignore)
    assert code == 2, out
    assert f"{ignore}:5" in out and message in out, out


def test_missing_ignore_file_is_an_input_error(tmp_path: Path) -> None:
    code, output = _scan(tmp_path, _only_unencrypted(tmp_path), "r.json", "--ignore", tmp_path / "nope.yaml")
    assert code == 2 and "suppression file not found" in output


@pytest.mark.parametrize(
    ("glob", "location", "matches"),
    [
        ("/srv/*.wav", "/srv/a.wav", True),
        ("/srv/*.wav", "/srv/x/a.wav", False),  # * stays in one folder
        ("/srv/**", "/srv/x/y/a.wav", True),
        ("/srv/**/a.wav", "/srv/a.wav", True),
        ("*.wav", "/deep/down/a.wav", True),  # relative: any depth
        ("s3://bucket/legal/**", "s3://bucket/legal/2024/a.m4a", True),
        ("s3://bucket/legal/**", "s3://bucket/other/a.m4a", False),
        ("/srv/[ab].wav", "/srv/c.wav", False),
        ("/srv/?.wav", "/srv/ab.wav", False),
    ],
)
def test_location_globs(glob: str, location: str, matches: bool) -> None:
    assert (glob_to_regex(glob).fullmatch(location) is not None) is matches


# --- baseline ------------------------------------------------------------------------------------


def test_baseline_marks_new_unchanged_and_resolved_and_keeps_first_seen(tmp_path: Path) -> None:
    root = tmp_path / "practice"
    place(root, "C-1001_2026-11-10_supervision.wav", "session.wav")  # stays
    gone = place(root, "C-1002_2026-11-10_supervision.wav", "session.wav")  # will be deleted
    _scan(tmp_path, root, "a.json", "--fail-on", "none")
    a = _load(tmp_path / "a.json")
    gone.unlink()
    place(root, "C-1003_2026-11-12_supervision.wav", "session.wav")  # new
    code, _ = _scan(tmp_path, root, "b.json", "--baseline", tmp_path / "a.json", "--fail-on", "none")
    assert code == 0
    b = _load(tmp_path / "b.json")
    status = {(Path(f["location"]).name[:6], f["status"]) for f in b["findings"] if f["rule"] == RULE}
    assert status == {("C-1001", "unchanged"), ("C-1002", "resolved"), ("C-1003", "new")}
    unchanged = next(f for f in b["findings"] if f["status"] == "unchanged")
    assert unchanged["first_seen"] == a["started"]
    new = next(f for f in b["findings"] if f["status"] == "new")
    assert new["first_seen"] == b["started"]
    assert b["baseline"]["new"] == 1 and b["baseline"]["unchanged"] == 1 and b["baseline"]["resolved"] == 1
    assert b["summary"]["findings"] == 2  # resolved findings are not open
    assert [p["as_of"] for p in b["trend"]] == ["2026-11-22", "2026-11-22"]
    # Re-rendering with the same baseline gives the same marks (the old comparison is replaced).
    res = run_cli("report", tmp_path / "b.json", "--baseline", tmp_path / "a.json", "-o", tmp_path / "c.json",
                  "--fail-on", "none", cwd=tmp_path)  # fmt: skip
    assert res.exit_code == 0, res.output
    c = _load(tmp_path / "c.json")
    assert sorted((f["fingerprint"], f["status"]) for f in c["findings"]) == sorted(
        (f["fingerprint"], f["status"]) for f in b["findings"]
    )
    # A third audit extends the trend.
    _scan(
        tmp_path, root, "d.json", "--baseline", tmp_path / "b.json", "--fail-on", "none", as_of="2026-11-29"
    )
    assert [p["as_of"] for p in _load(tmp_path / "d.json")["trend"]] == [
        "2026-11-22",
        "2026-11-22",
        "2026-11-29",
    ]


def test_new_only_fails_ci_only_on_findings_new_since_the_baseline(tmp_path: Path) -> None:
    root = _only_unencrypted(tmp_path)
    code, _ = _scan(tmp_path, root, "a.json", "--new-only")
    assert code == 1  # no baseline: everything is new
    baseline = tmp_path / "a.json"
    code, _ = _scan(tmp_path, root, "b.json", "--baseline", baseline, "--new-only")
    assert code == 0  # the high finding is unchanged
    code, _ = _scan(tmp_path, root, "b.json", "--baseline", baseline)
    assert code == 1  # without --new-only it still fails
    place(root, "C-1002_2026-11-12_supervision.wav", "session.wav")
    code, _ = _scan(tmp_path, root, "c.json", "--baseline", baseline, "--new-only")
    assert code == 1  # a new high finding
    code, _ = _scan(tmp_path, root, "c.json", "--baseline", baseline, "--new-only", "--fail-on", "critical")
    assert code == 0


def test_redacted_or_broken_baseline_is_refused(tmp_path: Path) -> None:
    root = _only_unencrypted(tmp_path)
    _scan(tmp_path, root, "a.json", "--fail-on", "none")
    data = _load(tmp_path / "a.json")
    data["redaction"] = {"scheme": "hmac-sha256", "key_id": "x"}
    (tmp_path / "red.json").write_text(json.dumps(data))
    code, output = _scan(tmp_path, root, "b.json", "--baseline", tmp_path / "red.json")
    assert code == 2 and "redacted" in output
    (tmp_path / "junk.json").write_text("{not json")
    code, output = _scan(tmp_path, root, "b.json", "--baseline", tmp_path / "junk.json")
    assert code == 2 and "junk.json:1: not valid JSON" in output
    assert not (tmp_path / "b.json").exists()


@pytest.fixture
def open_practice() -> Iterator[Path]:
    """A folder others can traverse, so a 0644 recording is really exposed (a breach)."""
    base = Path(tempfile.mkdtemp(prefix="baseline-breach-"))
    os.chmod(base, 0o755)
    if not all(os.stat(a).st_mode & 0o001 for a in [base, *base.parents]):
        shutil.rmtree(base)
        pytest.skip(f"{base.parent} is not traversable by others")
    yield base
    shutil.rmtree(base)


def test_breach_discovery_clock_does_not_restart_for_unchanged_findings(
    tmp_path: Path, open_practice: Path
) -> None:
    root = open_practice / "practice"
    place(root, "C-1001_2026-11-10_supervision.wav", "session.wav", mode=0o644)
    os.chmod(root, 0o755)
    _scan(tmp_path, root, "a.json", "--fail-on", "none")
    first = next(f for f in _load(tmp_path / "a.json")["findings"] if f["category"] == "breach")
    _scan(
        tmp_path, root, "b.json", "--baseline", tmp_path / "a.json", "--fail-on", "none", as_of="2026-11-24"
    )
    b = _load(tmp_path / "b.json")
    again = next(f for f in b["findings"] if f["category"] == "breach")
    assert again["status"] == "unchanged"
    assert b["started"] != first["evidence"]["discovered_at"]
    for key in ("discovered_at", "hipaa_notification_deadline", "gdpr_notification_deadline"):
        assert again["evidence"][key] == first["evidence"][key]
    assert again["message"] == first["message"]
    assert again["first_seen"] == _load(tmp_path / "a.json")["started"]
