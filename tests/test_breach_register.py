"""The breach register (issue 13 §1): a real sqlite3 file, real WAVs, real `auditor` processes.

The clock is the law's: first_discovered is set once per exposure episode and survives rescans,
process restarts and re-rendered reports; a contained breach stays listed until assessed; the
audit trail is append-only; the schema is versioned and migrated.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from auditor.breach import register as register_module
from auditor.breach.register import (
    REGISTER_FILE,
    BreachRegister,
    RegisterError,
    Sighting,
    time_left,
)
from tests.conftest import place, run_cli, run_module

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WORLD = {"kind": "world-readable", "detail": "mode 0644: any local user can read it"}
SYNC = {"kind": "sync-folder", "detail": "inside the Dropbox folder /p/Dropbox"}


def sighting(location: str = "/p/Dropbox/C-1001_2026-11-10.wav", **kw: object) -> Sighting:
    options: dict[str, object] = {"source": "local", "exposures": [SYNC], "clients": ["C-1001"], **kw}
    return Sighting(location=location, **options)  # type: ignore[arg-type]


# -- the register itself ----------------------------------------------------------------------------


def test_an_episode_keeps_its_clock_and_extends_its_window(tmp_path: Path) -> None:
    with BreachRegister(tmp_path / "state") as reg:
        first = reg.seen_exposed(sighting(), at=T0, who="auditor scan (a@h)")
        again = reg.seen_exposed(sighting(exposures=[SYNC, WORLD]), at=T0 + timedelta(hours=5), who="scan")
        assert again.id == first.id and again.episode == 1
        assert again.first_discovered == "2026-11-20T09:00:00+00:00"
        assert again.last_seen_exposed == "2026-11-20T14:00:00+00:00"
        assert again.exposures == [SYNC, WORLD]
        assert [e.kind for e in reg.events(first.id)] == ["discovered", "exposure-changed"]
        assert again.status == "open" and not again.closed
        assert again.gdpr_deadline == T0 + timedelta(hours=72)
        assert again.hipaa_deadline == T0 + timedelta(days=60)


def test_the_file_and_folder_are_private(tmp_path: Path) -> None:
    BreachRegister(tmp_path / "state").close()
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "state" / REGISTER_FILE).st_mode) == 0o600


def test_contained_then_exposed_again_is_a_new_episode(tmp_path: Path) -> None:
    with BreachRegister(tmp_path) as reg:
        first = reg.seen_exposed(sighting(), at=T0, who="scan")
        contained = reg.seen_contained(first.location, at=T0 + timedelta(days=1), who="scan", how="chmod")
        assert contained is not None and contained.status == "contained" and not contained.closed
        assert [b.id for b in reg.not_closed()] == [first.id]  # contained is not closed
        second = reg.seen_exposed(sighting(), at=T0 + timedelta(days=2), who="scan")
        assert second.id != first.id and second.episode == 2
        assert second.first_discovered == "2026-11-22T09:00:00+00:00"
        assert reg.get(first.id).first_discovered == "2026-11-20T09:00:00+00:00"  # type: ignore[union-attr]


def test_assessment_closes_only_a_contained_breach_and_is_appended(tmp_path: Path) -> None:
    with BreachRegister(tmp_path) as reg:
        b = reg.seen_exposed(sighting(), at=T0, who="scan")
        reg.assess(
            b.id, outcome="reported", note="HHS notified", who="officer@clinic", at=T0 + timedelta(hours=1)
        )
        assert reg.get(b.id).status == "reported"  # type: ignore[union-attr]
        assert [x.id for x in reg.not_closed()] == [b.id]  # reported but still exposed: still listed
        reg.seen_contained(b.location, at=T0 + timedelta(hours=2), who="scan", how="moved out")
        assert reg.not_closed() == []
        reg.assess(b.id, outcome="pending", note="reopened: more recordings found", who="officer@clinic")
        assert reg.get(b.id).status == "contained"  # type: ignore[union-attr]
        trail = reg.events(b.id)
        assert [(e.kind, e.outcome, e.who) for e in trail] == [
            ("discovered", None, "scan"),
            ("assessed", "reported", "officer@clinic"),
            ("contained", None, "scan"),
            ("assessed", "pending", "officer@clinic"),
        ]
        assert trail[1].note == "HHS notified" and trail[1].at == "2026-11-20T10:00:00+00:00"


def test_an_earlier_known_discovery_sets_the_clock(tmp_path: Path) -> None:
    with BreachRegister(tmp_path) as reg:
        b = reg.seen_exposed(sighting(known_since=T0 - timedelta(days=3)), at=T0, who="scan")
        assert b.first_discovered == "2026-11-17T09:00:00+00:00"
        assert reg.events(b.id)[0].detail["clock_from"].startswith("an earlier audit")


def test_the_trail_and_the_clock_refuse_tampering(tmp_path: Path) -> None:
    with BreachRegister(tmp_path) as reg:
        b = reg.seen_exposed(sighting(), at=T0, who="scan")
    db = sqlite3.connect(tmp_path / REGISTER_FILE)
    for statement in (
        "UPDATE events SET who = 'someone else'",
        "DELETE FROM events",
        "DELETE FROM breaches",
        f"UPDATE breaches SET first_discovered = '2026-12-01T00:00:00+00:00' WHERE id = {b.id}",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(statement)
    db.execute(
        f"UPDATE breaches SET last_seen_exposed = '2026-12-01T00:00:00+00:00' WHERE id = {b.id}"
    )  # allowed
    db.close()


def test_a_register_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    BreachRegister(tmp_path).close()
    db = sqlite3.connect(tmp_path / REGISTER_FILE)
    db.execute(f"PRAGMA user_version = {register_module.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RegisterError, match="made by a newer recording-auditor"):
        BreachRegister(tmp_path)


def test_another_sqlite_database_or_garbage_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    db = sqlite3.connect(other / REGISTER_FILE)
    db.execute("CREATE TABLE t (x)")
    db.execute("PRAGMA user_version = 1")
    db.close()
    with pytest.raises(RegisterError, match="not a breach register"):
        BreachRegister(other)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / REGISTER_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RegisterError, match="not a usable breach register"):
        BreachRegister(garbage)


def test_a_version_1_register_is_upgraded_in_place_and_a_copy_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A register as the first release wrote it: schema 1, no evidence table.
    with monkeypatch.context() as old:
        old.setattr(register_module, "MIGRATIONS", register_module.MIGRATIONS[:1])
        old.setattr(register_module, "SCHEMA_VERSION", 1)
        with BreachRegister(tmp_path) as reg:
            kept = reg.seen_exposed(sighting(), at=T0, who="scan")
            assert reg.schema_version == 1
    with BreachRegister(tmp_path) as reg:  # this release
        assert reg.schema_version == register_module.SCHEMA_VERSION == 2
        assert reg.get(kept.id).first_discovered == kept.first_discovered  # type: ignore[union-attr]
        assert [e.kind for e in reg.events(kept.id)] == ["discovered"]
        reg.record_evidence(kept.id, verdict="unknown", findings={}, files=[], who="officer")
        assert reg.latest_evidence(kept.id)["verdict"] == "unknown"  # type: ignore[index]
    backup = tmp_path / f"{REGISTER_FILE}.v1.bak"
    old_copy = sqlite3.connect(backup)
    assert old_copy.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old_copy.execute("SELECT count(*) FROM breaches").fetchone()[0] == 1
    old_copy.close()


def test_time_left_wording() -> None:
    assert time_left(2 * 86400 + 4 * 3600 + 59) == "2 d 4 h left"
    assert time_left(5 * 3600 + 600) == "5 h 10 min left"
    assert time_left(-3 * 3600) == "overdue by 3 h 0 min"


# -- through `auditor scan --state`, as real processes ---------------------------------------------


def practice(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    place(root, "Dropbox/C-1001_2026-11-10_intake.wav", "session.wav")
    place(root, "private/C-1002_2026-11-11_intake.wav", "session.wav")
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nstate_dir: state\nattribution:\n  patterns:\n"
        "    - '(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})'\n"
    )
    return root


def scan_process(tmp_path: Path, root: Path, out: str, *extra: str) -> dict:
    done = run_module("scan", "-q", root, "--config", tmp_path / "auditor.yaml", "-o", tmp_path / out, *extra)
    assert done.returncode == 1, done.stderr
    return json.loads((tmp_path / out).read_text())


def breach_of(result: dict) -> dict:
    (finding,) = [f for f in result["findings"] if f["rule"] == "breach-unsecured-exposure"]
    return finding


def test_the_clock_survives_a_restart_and_a_contained_breach_stays_listed(tmp_path: Path) -> None:
    root = practice(tmp_path)
    first = scan_process(tmp_path, root, "first.json")
    second = scan_process(tmp_path, root, "second.json")  # a new process, the same register
    f1, f2 = breach_of(first), breach_of(second)
    assert second["started"] > first["started"]
    assert f2["evidence"]["discovered_at"] == f1["evidence"]["discovered_at"]
    assert f2["evidence"]["gdpr_notification_deadline"] == f1["evidence"]["gdpr_notification_deadline"]
    assert f2["evidence"]["breach_id"] == f1["evidence"]["breach_id"] == 1
    assert f2["message"] == f1["message"]
    assert second["breach_register"]["count"] == 1
    assert second["breach_register"]["breaches"][0]["clients"] == ["C-1001"]

    # Contain it: out of the sync folder. The finding goes; the breach stays listed, contained.
    (root / "Dropbox" / "C-1001_2026-11-10_intake.wav").rename(
        root / "private" / "C-1001_2026-11-10_intake.wav"
    )
    done = run_module(
        "scan",
        "-q",
        root,
        "--config",
        tmp_path / "auditor.yaml",
        "-o",
        tmp_path / "third.json",
        "-o",
        tmp_path / "third.html",
    )
    third = json.loads((tmp_path / "third.json").read_text())
    assert not [f for f in third["findings"] if f["category"] == "breach"], done.stderr
    (listed,) = third["breach_register"]["breaches"]
    assert (
        listed["status"] == "contained"
        and listed["exposure_window"]["contained_how"] == "the file no longer exists"
    )
    assert listed["first_discovered"] == f1["evidence"]["discovered_at"]
    schema = json.loads((Path(__file__).parent.parent / "auditor/schemas/result.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(third)
    html = (tmp_path / "third.html").read_text()
    assert "1 breach is not closed in the breach register: 0 still exposed, 1 contained" in html
    assert "pill-contained" in html and " left</span>" in html

    listing = run_module("breach", "list", "--config", tmp_path / "auditor.yaml")
    assert listing.returncode == 0 and "contained" in listing.stdout
    assert "1 client" in listing.stdout and "GDPR 2 d" in listing.stdout

    assessed = run_module(
        "breach",
        "assess",
        "1",
        "--outcome",
        "not-reportable",
        "--note",
        "only our own staff could open it",
        "--by",
        "Dana (privacy officer)",
        "--config",
        tmp_path / "auditor.yaml",
    )
    assert assessed.returncode == 0, assessed.stderr
    assert (
        run_module("breach", "list", "--config", tmp_path / "auditor.yaml").stdout.strip()
        == "no breaches to assess"
    )
    shown = run_module("breach", "show", "1", "--json", "--config", tmp_path / "auditor.yaml")
    record = json.loads(shown.stdout)
    assert record["status"] == "assessed-not-reportable"
    assert [(e["kind"], e["who"]) for e in record["events"]][-1] == ("assessed", "Dana (privacy officer)")
    assert [e["kind"] for e in record["events"]] == ["discovered", "contained", "assessed"]


def test_a_baseline_older_than_the_register_sets_its_clock(tmp_path: Path) -> None:
    root = practice(tmp_path)
    (tmp_path / "plain.yaml").write_text("version: 1\n")
    old = run_cli("scan", "-q", root, "--config", tmp_path / "plain.yaml", "-o", tmp_path / "old.json")
    assert old.exit_code == 1
    before = breach_of(json.loads((tmp_path / "old.json").read_text()))["evidence"]["discovered_at"]
    result = scan_process(tmp_path, root, "new.json", "--baseline", str(tmp_path / "old.json"))
    # The register keeps whole seconds (one sortable format); the clock is never later than the baseline's.
    kept = datetime.fromisoformat(breach_of(result)["evidence"]["discovered_at"])
    assert kept == datetime.fromisoformat(before).replace(microsecond=0)
    assert result["breach_register"]["breaches"][0]["first_discovered"] == kept.isoformat()


def test_without_a_state_folder_no_register_is_written(tmp_path: Path) -> None:
    root = practice(tmp_path)
    (tmp_path / "plain.yaml").write_text("version: 1\n")
    res = run_cli("scan", "-q", root, "--config", tmp_path / "plain.yaml", "-o", tmp_path / "r.json")
    assert res.exit_code == 1
    assert "breach_register" not in json.loads((tmp_path / "r.json").read_text())
    assert not (tmp_path / "state").exists()


def test_register_problems_exit_2_with_one_line(tmp_path: Path) -> None:
    root = practice(tmp_path)
    bad = tmp_path / "bad-state"
    bad.mkdir()
    (bad / REGISTER_FILE).write_bytes(b"garbage" * 200)
    res = run_module("scan", "-q", root, "--state", bad)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"auditor: error: {bad / REGISTER_FILE}: not a usable breach register (file is not a database)"
    ]
    missing = run_module("breach", "list", "--state", tmp_path / "nowhere")
    assert missing.returncode == 2 and "no breach register here" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "s").mkdir()
    BreachRegister(tmp_path / "s").close()
    unknown = run_module("breach", "show", "7", "--state", tmp_path / "s")
    assert unknown.returncode == 2 and "no breach 7 in the register" in unknown.stderr
    usage = run_module("breach", "assess", "7", "--outcome", "reported", "--state", tmp_path / "s")
    assert usage.returncode == 2 and "--outcome needs --note" in usage.stderr


def test_the_redacted_report_hides_the_registers_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = practice(tmp_path)
    scan_process(tmp_path, root, "first.json")
    (root / "Dropbox" / "C-1001_2026-11-10_intake.wav").unlink()  # contained: only the register names it now
    monkeypatch.setenv("AUDITOR_REDACTION_KEY", "a-long-enough-redaction-key")
    res = run_cli(
        "scan",
        "-q",
        root,
        "--config",
        tmp_path / "auditor.yaml",
        "--redact",
        "-o",
        tmp_path / "r.html",
        "-o",
        tmp_path / "r.json",
    )
    assert res.exit_code in (0, 1), res.output
    for name in ("r.html", "r.json"):
        text = (tmp_path / name).read_text()
        assert "C-1001" not in text and "intake" not in text, name
    assert (
        json.loads((tmp_path / "r.json").read_text())["breach_register"]["breaches"][0]["status"]
        == "contained"
    )


def test_every_logging_target_seen_stays_known() -> None:
    from auditor.breach.register import merged_recording

    on = {"bucket": {"name": "clinic", "access_logging": {"enabled": True, "target": "s3://logs/a/"}}}
    off = {"bucket": {"name": "clinic", "access_logging": {"enabled": False, "target": None}}}
    moved = {"bucket": {"name": "clinic", "access_logging": {"enabled": True, "target": "s3://logs/b/"}}}
    later = merged_recording(merged_recording(merged_recording({}, on), off), moved)
    assert later["bucket"]["access_logging"]["target"] == "s3://logs/b/"  # the latest facts
    assert later["bucket"]["logging_targets_seen"] == ["s3://logs/a/", "s3://logs/b/"]
    assert "logging_targets_seen" not in merged_recording({}, off)["bucket"]
