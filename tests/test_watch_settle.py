"""The settle queue on real files, and the small pure pieces of the watch (durations, scope, state)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from auditor.models import Finding
from auditor.watch.examine import Scope
from auditor.watch.ledger import Ledger
from auditor.watch.settings import default_state_dir, parse_duration
from auditor.watch.settle import ATTRIB, CLOSED, GONE, WRITTEN, Settled, SettleQueue
from auditor.watch.state import StateError, StateLock
from auditor.watch.store import StateStore, read_open_findings
from tests.test_watch_helpers import wait_for


class Collector:
    def __init__(self) -> None:
        self.batches: list[tuple[float, list[Settled]]] = []
        self.lock = threading.Lock()

    def __call__(self, batch: list[Settled]) -> None:
        with self.lock:
            self.batches.append((time.monotonic(), batch))

    def paths(self) -> list[str]:
        with self.lock:
            return [s.path for _, batch in self.batches for s in batch]


@pytest.fixture
def queue() -> tuple[SettleQueue, Collector]:
    collector = Collector()
    settle = SettleQueue(0.4, collector)
    settle.start()
    yield settle, collector
    settle.stop()


def test_a_file_still_being_written_waits_until_quiet(
    tmp_path: Path, queue: tuple[SettleQueue, Collector]
) -> None:
    settle, collected = queue
    path = tmp_path / "growing.wav"
    with open(path, "wb") as handle:
        for _ in range(5):  # a write every 0.15 s, each reported: never quiet for 0.4 s
            handle.write(b"x" * 100)
            handle.flush()
            settle.touch(str(path), WRITTEN)
            time.sleep(0.15)
            assert not collected.paths()
        last_write = time.monotonic()
    wait_for(collected.paths)
    assert collected.paths() == [str(path)]
    assert (
        collected.batches[0][0] - last_write >= 0.4 - 0.15 - 0.05
    )  # quiet for `settle` since the last write


def test_unreported_writes_still_hold_a_file_back(
    tmp_path: Path, queue: tuple[SettleQueue, Collector]
) -> None:
    """Pollers can miss writes between polls: the mtime, not only the events, says whether it is quiet."""
    settle, collected = queue
    path = tmp_path / "polled.wav"
    path.write_bytes(b"x")
    settle.touch(str(path), ATTRIB)  # due at once, but the file was written just now
    for _ in range(4):
        time.sleep(0.15)
        with open(path, "ab") as handle:
            handle.write(b"y")
        assert not collected.paths()
    wait_for(collected.paths)
    assert collected.paths() == [str(path)]


def test_closed_deleted_and_old_files_go_at_once(
    tmp_path: Path, queue: tuple[SettleQueue, Collector]
) -> None:
    settle, collected = queue
    closed, old = tmp_path / "closed.wav", tmp_path / "old.wav"
    closed.write_bytes(b"x")
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 60, time.time() - 60))
    start = time.monotonic()
    settle.touch(str(closed), WRITTEN)
    settle.touch(str(closed), CLOSED)
    settle.touch(str(tmp_path / "gone.wav"), GONE)
    settle.touch(str(old), ATTRIB)
    wait_for(lambda: len(collected.paths()) == 3)
    assert time.monotonic() - start < 0.3
    assert sorted(collected.paths()) == sorted(
        str(tmp_path / n) for n in ("closed.wav", "gone.wav", "old.wav")
    )
    assert len(settle) == 0


def test_an_attribute_change_does_not_cut_a_write_short(
    tmp_path: Path, queue: tuple[SettleQueue, Collector]
) -> None:
    settle, collected = queue
    path = tmp_path / "a.wav"
    path.write_bytes(b"x")
    settle.touch(str(path), WRITTEN)
    settle.touch(str(path), ATTRIB)
    time.sleep(0.2)
    assert not collected.paths()
    wait_for(collected.paths)


def test_a_path_that_cannot_be_looked_at_is_handed_on_and_the_worker_lives_on(
    tmp_path: Path, queue: tuple[SettleQueue, Collector]
) -> None:
    settle, collected = queue
    settle.touch("bad\0path", WRITTEN)  # os.lstat raises ValueError (embedded null byte), not OSError
    wait_for(lambda: "bad\0path" in collected.paths(), what="the odd path, handed on to be judged")
    good = tmp_path / "after.wav"
    good.write_bytes(b"x")
    settle.touch(str(good), CLOSED)
    wait_for(lambda: str(good) in collected.paths(), what="a later path: the worker is still there")


def test_durations() -> None:
    assert parse_duration("6h") == 21600
    assert parse_duration("30m") == 1800
    assert parse_duration("1.5d") == 129600
    assert parse_duration("45") == 45
    for bad in ("soon", "0s", "-1h", "6w"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_default_state_dir_follows_systemd_then_xdg() -> None:
    assert default_state_dir({"STATE_DIRECTORY": "/var/lib/auditor"}) == Path("/var/lib/auditor")
    assert default_state_dir({"XDG_STATE_HOME": "/x"}) == Path("/x/recording-auditor")


def test_scope_matches_the_walks_excludes_and_nested_roots(tmp_path: Path) -> None:
    scope = Scope(
        [str(tmp_path), str(tmp_path / "inner"), str(tmp_path.parent / "other")], ["*.tmp", "cache/*"]
    )
    assert str(tmp_path / "inner") not in scope.roots
    assert scope.root_of(str(tmp_path / "inner" / "a.wav")) == str(tmp_path)
    assert scope.root_of("/elsewhere/a.wav") is None
    root = str(tmp_path)
    assert scope.excluded(str(tmp_path / "x" / "rec.tmp"), root)
    assert scope.excluded(str(tmp_path / "x.tmp" / "rec.wav"), root)  # a folder matching a name glob
    assert scope.excluded(str(tmp_path / "cache" / "a" / "rec.wav"), root)
    assert not scope.excluded(str(tmp_path / "x" / "cache" / "rec.wav"), root)


def _finding(rule: str, location: str, fingerprint: str, severity: str = "high") -> Finding:
    return Finding(rule, "exposed", severity, location, "msg", fingerprint=fingerprint)


def test_ledger_alerts_once_per_opening_and_resolving_and_survives_a_reload(tmp_path: Path) -> None:
    ledger = Ledger()
    opened = ledger.apply("/t/a.wav", [_finding("r1", "/t/a.wav", "f1"), _finding("r2", "/t/a.wav", "f2")])
    assert [(e["event"], e["fingerprint"]) for e in opened] == [("finding", "f1"), ("finding", "f2")]
    assert (
        ledger.apply("/t/a.wav", [_finding("r1", "/t/a.wav", "f1", "low"), _finding("r2", "/t/a.wav", "f2")])
        == []
    )
    assert ledger.open["f1"]["severity"] == "low"  # updated quietly
    store = StateStore(tmp_path)
    store.open()
    store.commit(ledger.take_changes(), opened, ["events-file"])
    store.close()
    assert (tmp_path / "watch.sqlite").stat().st_mode & 0o777 == 0o600
    again_store = StateStore(tmp_path)
    again_store.open()
    again = Ledger()
    again.load(again_store.load_findings())
    # r2 crashed this time: its finding stays open; r1's is gone: resolved.
    events = again.apply("/t/a.wav", [], keep_rules=frozenset({"r2"}))
    assert [(e["event"], e["fingerprint"]) for e in events] == [("resolved", "f1")]
    assert set(again.open) == {"f2"}
    assert [e["id"] for _, e in again_store.pending("events-file", 0)] == [e["id"] for e in opened]
    again_store.close()


def test_a_suppressed_finding_alerts_only_once_its_suppression_lapses() -> None:
    ledger = Ledger()
    finding = _finding("r1", "/t/a.wav", "f1")
    mark = {"reason": "accepted risk", "expires": "2027-01-01", "file": "x", "line": 3, "by": "fingerprint"}
    assert ledger.apply("/t/a.wav", [finding], suppressed={"f1": mark}) == []
    assert ledger.open["f1"]["suppressed"] == mark and ledger.summary()["suppressed"] == 1
    assert ledger.apply("/t/a.wav", [finding], suppressed={"f1": mark}) == []
    lapsed = ledger.apply("/t/a.wav", [finding])  # expired, or taken out of the file
    assert [e["event"] for e in lapsed] == ["finding"]
    assert [e["event"] for e in ledger.apply("/t/a.wav", [])] == ["resolved"]
    # Suppressed all along: its fix is no news either.
    assert ledger.apply("/t/b.wav", [_finding("r1", "/t/b.wav", "f2")], suppressed={"f2": mark}) == []
    assert ledger.apply("/t/b.wav", []) == []


def test_a_state_of_another_version_is_refused_and_version_1_is_brought_over(tmp_path: Path) -> None:
    import json

    (tmp_path / "findings.json").write_text('{"version": 99, "open": {}}')
    with pytest.raises(StateError, match="unknown state format"):
        StateStore(tmp_path).open()
    (tmp_path / "watch.sqlite").unlink()
    record = {"rule": "r1", "category": "c", "severity": "high", "location": "/t/a.wav", "message": "m"}
    (tmp_path / "findings.json").write_text(json.dumps({"version": 1, "open": {"f1": record}}))
    (tmp_path / "webhook-spool.jsonl").write_text('{"id": "sent"}\n{"id": "waiting"}\n')
    (tmp_path / "webhook-spool.acked").write_text("1\n")
    assert read_open_findings(tmp_path) == {"f1": record}  # `auditor status` before the daemon's first start
    store = StateStore(tmp_path)
    store.open()
    assert store.load_findings() == {"f1": {**record, "alerted": True}}
    assert [e["id"] for _, e in store.pending("webhook", 0)] == ["waiting"]
    assert not (tmp_path / "findings.json").exists() and not (tmp_path / "webhook-spool.jsonl").exists()
    store.close()


def test_one_daemon_per_state_directory(tmp_path: Path) -> None:
    first = StateLock(tmp_path)
    first.acquire()
    try:
        import subprocess
        import sys

        code = (
            "import sys; from pathlib import Path; from auditor.watch.state import StateLock, StateError\n"
            "try:\n    StateLock(Path(sys.argv[1])).acquire()\nexcept StateError as e:\n    print(e); sys.exit(3)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 3 and f"pid {os.getpid()}" in done.stdout
    finally:
        first.release()


def test_status_of_a_daemon_whose_heartbeat_stopped_is_degraded(tmp_path: Path) -> None:
    import json

    from auditor.watch.status import EXIT_DEGRADED, read_status

    status = {
        "pid": os.getpid(),
        "heartbeat": "2020-01-01T00:00:00+00:00",
        "heartbeat_interval_seconds": 60,
        "health": {"state": "healthy", "reasons": []},
    }
    (tmp_path / "status.json").write_text(json.dumps(status))
    report = read_status(tmp_path)
    assert report.running and report.state == "degraded" and report.exit_code == EXIT_DEGRADED


def test_lost_events_stay_a_gap_until_a_rescan_that_started_after_them_finishes() -> None:
    from datetime import timedelta

    from auditor.watch.health import GAP_OVERFLOW, GAP_RESTARTED, WatchHealth, utc_now

    health = WatchHealth(caught_up=True)
    assert health.state == "healthy" and health.gaps() == []
    before = utc_now() - timedelta(seconds=1)
    health.lost_events(GAP_OVERFLOW, "/srv/rec", "the inotify event queue overflowed")
    health.lost_events(GAP_RESTARTED, "/srv/rec", "polling observer stopped")
    assert health.state == "degraded"
    assert [g.reason for g in health.gaps()] == [GAP_OVERFLOW, GAP_RESTARTED]
    health.rescan_finished(started=before)  # began before the incidents: they are not covered
    assert len(health.gaps()) == 2
    health.rescan_finished(started=utc_now())
    assert health.gaps() == [] and health.state == "healthy"
    assert (health.overflows, health.restarts) == (1, 1)
    assert [r["reason"] for r in health.to_dict()["recent_incidents"]] == [GAP_OVERFLOW, GAP_RESTARTED]
    health.config_error = {"at": "t", "error": "bad"}
    assert health.state == "degraded"
