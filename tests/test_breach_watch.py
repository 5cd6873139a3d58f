"""The breach register under `auditor watch` (issue 13 §1): real processes, real filesystem events,
a real sqlite3 register shared with `auditor scan` through the config's state_dir.

The clock is kept across a SIGHUP rescan and a restart; fixing the exposure contains the breach,
which stays listed; the alert carries the register's discovery time, not the rescan's.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.breach.register import BreachRegister, Sighting
from auditor.watch.status import EXIT_HEALTHY
from tests.conftest import place
from tests.test_watch_helpers import events_at, wait_for

CONFIG = (
    "version: 1\nstate_dir: register\nexposure:\n  sync_folders: [tree/cloud]\nattribution:\n  patterns:\n"
    "    - '(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})'\n"
)


def auditor(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def status(state: Path) -> tuple[int, dict[str, Any]]:
    done = auditor("status", "--state-dir", state, "--json")
    # While the daemon starts, its state may not be readable yet (exit 2, nothing on stdout).
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


def breaches(base: Path, *extra: str) -> list[dict[str, Any]]:
    done = auditor("breach", "list", "--json", "--config", base / "auditor.yaml", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Watch:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.process = subprocess.Popen(
            [sys.executable, "-m", "auditor", "watch", str(base / "tree"), "--config", str(base / "auditor.yaml"),
             "--state-dir", str(base / "watch-state"), "--events", str(base / "events.jsonl"), "--settle", "0.3",
             "--no-syslog"],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            wait_for(
                lambda: status(base / "watch-state")[0] == EXIT_HEALTHY, timeout=60, what="a healthy daemon"
            )
        except AssertionError:
            self.process.kill()
            raise AssertionError(f"not healthy: {self.process.communicate(timeout=10)[1]}") from None

    def last_rescan(self) -> dict[str, Any]:
        return (status(self.base / "watch-state")[1].get("daemon") or {}).get("last_rescan") or {}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(30) == 0


@pytest.fixture
def practice(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "tree" / "cloud").mkdir(parents=True)
    (tmp_path / "tree" / "private").mkdir()
    (tmp_path / "auditor.yaml").write_text(CONFIG)
    yield tmp_path


def breach_events(base: Path, recording: Path) -> list[dict[str, Any]]:
    return [
        e for e in events_at(base / "events.jsonl", recording) if e["rule"] == "breach-unsecured-exposure"
    ]


def test_scan_then_watch_share_one_clock_across_sighup_and_restart(practice: Path) -> None:
    base = practice
    recording = place(base / "tree", "cloud/C-1001_2026-11-10_intake.wav", "session.wav")
    # The register as a scan three days ago left it (the clock must be that one, not any of ours).
    with BreachRegister(base / "register") as register:
        found = Sighting(
            str(recording), "local", [{"kind": "sync-folder", "detail": "inside cloud"}], ["C-1001"]
        )
        register.seen_exposed(found, at=datetime.now(UTC) - timedelta(days=3), who="auditor scan (earlier)")
    scanned = auditor(
        "scan", "-q", base / "tree", "--config", base / "auditor.yaml", "-o", base / "scan.json"
    )
    assert scanned.returncode == 1, scanned.stderr
    (first,) = breaches(base)
    assert (first["id"], first["episode"], first["clients"]) == (1, 1, ["C-1001"])
    discovered = first["first_discovered"]
    (finding,) = [
        f for f in json.loads((base / "scan.json").read_text())["findings"] if f["category"] == "breach"
    ]
    assert finding["evidence"]["discovered_at"] == discovered  # the scan took the register's clock

    watch = Watch(base)
    try:
        (alert,) = wait_for(lambda: breach_events(base, recording), timeout=30, what="the breach alert")
        # The alert carries the register's discovery time (the scan's), not the catch-up scan's.
        assert alert["message"].endswith(f"of discovery ({discovered[:10]} {discovered[11:16]} UTC).")
        (again,) = breaches(base)
        assert again["id"] == 1 and again["first_discovered"] == discovered
        assert again["exposure_window"]["last_seen_exposed"] >= first["exposure_window"]["last_seen_exposed"]

        # The catch-up rescan must be over: a reload asked for while one is still queued is
        # coalesced into it (one rescan, with the new config) and never reads "config reloaded".
        before = wait_for(lambda: watch.last_rescan(), timeout=60, what="the catch-up rescan")
        watch.process.send_signal(signal.SIGHUP)  # reload, then a full rescan
        wait_for(
            lambda: (r := watch.last_rescan()).get("reason") == "config reloaded" and r != before,
            timeout=30,
            what="the rescan after SIGHUP",
        )
        (after_hup,) = breaches(base)
        assert after_hup["first_discovered"] == discovered and after_hup["id"] == 1
        assert len(breach_events(base, recording)) == 1  # no second alert: nothing changed
    finally:
        watch.stop()

    watch = Watch(base)  # a restart: a new process, the same register
    try:
        (after_restart,) = breaches(base)
        assert after_restart["first_discovered"] == discovered
        assert len(breach_events(base, recording)) == 1

        # Contain it: out of the sync folder. The watch sees the move; the breach stays listed.
        recording.rename(base / "tree" / "private" / recording.name)
        wait_for(
            lambda: [e for e in breach_events(base, recording) if e["event"] == "resolved"],
            timeout=30,
            what="the breach finding to resolve",
        )
        (contained,) = wait_for(
            lambda: [b for b in breaches(base) if b["status"] == "contained"], timeout=10, what="containment"
        )
        assert contained["id"] == 1 and contained["first_discovered"] == discovered
        assert contained["exposure_window"]["contained_how"] == "no longer there, or no longer a recording"
        # The same recording exposed again later is a new episode with its own clock.
        (base / "tree" / "private" / recording.name).rename(recording)
        wait_for(lambda: len(breaches(base)) == 2, timeout=30, what="a second episode")
        episodes = sorted(breaches(base), key=lambda b: b["id"])
        assert [(b["id"], b["episode"], b["status"]) for b in episodes] == [
            (1, 1, "contained"),
            (2, 2, "open"),
        ]
        assert episodes[1]["first_discovered"] >= discovered
    finally:
        watch.stop()
    shown = json.loads(auditor("breach", "show", "1", "--json", "--config", base / "auditor.yaml").stdout)
    kinds = [(e["kind"], e["who"].split(" (")[0]) for e in shown["events"]]
    assert kinds == [
        ("discovered", "auditor scan"),
        ("exposure-changed", "auditor scan"),
        ("contained", "auditor watch"),
    ]


def test_a_fix_in_place_is_seen_by_the_judge_and_contains_the_breach(practice: Path) -> None:
    """Encrypting in place keeps the file but ends the unsecured exposure: judged, then contained."""
    base = practice
    recording = place(base / "tree", "cloud/C-1002_2026-11-11.wav", "session.wav")
    watch = Watch(base)
    try:
        wait_for(lambda: breach_events(base, recording), timeout=30, what="the breach alert")
        (open_,) = breaches(base)
        assert open_["status"] == "open" and open_["exposure_window"]["start_basis"] == "discovery"
        encrypted = (Path(__file__).parent / "fixtures" / "media" / "session.wav.age").read_bytes()
        recording.write_bytes(encrypted)  # same path, now age-encrypted (no key beside it)
        (done,) = wait_for(
            lambda: [b for b in breaches(base) if b["status"] == "contained"], timeout=30, what="containment"
        )
        assert done["exposure_window"]["contained_how"] == "examined again: its content is now encrypted"
    finally:
        watch.stop()
