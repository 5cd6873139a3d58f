"""`auditor watch` end to end in-process: real folders, real inotify/polling events, the daemon's own threads."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from auditor.watch.health import GAP_OVERFLOW, GAP_POLLING, GAP_RESTARTED
from tests.test_watch_helpers import (
    SAMPLE,
    drop,
    events_at,
    make_settings,
    open_tree,
    read_events,
    running,
    wait_for,
)

__all__ = ["open_tree"]  # the fixture, imported for pytest

UNENCRYPTED = "recording-unencrypted"


def _write_slowly(path: Path, events: Path, chunks: int = 6, pause: float = 0.15) -> None:
    """Write a recording the way a recorder does: one open file, a chunk at a time, checking that no
    verdict arrives while it is unfinished."""
    data = SAMPLE.read_bytes()
    step = -(-len(data) // chunks)
    with open(path, "wb") as handle:
        for offset in range(0, len(data), step):
            handle.write(data[offset : offset + step])
            handle.flush()
            time.sleep(pause)
            assert not events_at(events, path), "judged while still being written"


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_file_written_slowly_is_judged_once_after_it_is_finished(tmp_path: Path, polling: bool) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    # A settle time well above the writer's pauses, so that a loaded machine does not make them look final.
    settings = make_settings(tmp_path, tree, force_polling=polling, settle=1.0)
    with running(settings) as daemon:
        assert daemon.health.mechanisms[0]["mechanism"] == ("polling" if polling else "inotify")
        recording = tree / "session.amr"
        _write_slowly(recording, settings.events_path)
        wait_for(lambda: events_at(settings.events_path, recording), what="the finding")
        time.sleep(0.5)  # room for a second (wrong) verdict to show up
        events = events_at(settings.events_path, recording)
    rules = [e["rule"] for e in events]
    assert len(rules) == len(set(rules)), f"a finding alerted twice: {rules}"
    assert UNENCRYPTED in rules
    assert all(e["event"] == "finding" for e in events)


def test_moving_into_a_sync_folder_is_exposed_and_the_old_place_resolves(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "Dropbox").mkdir(parents=True)
    settings = make_settings(tmp_path, tree)
    with running(settings):
        before = drop(SAMPLE, tree / "a.amr")
        wait_for(lambda: events_at(settings.events_path, before), what="the first finding")
        assert not [e for e in events_at(settings.events_path, before) if e["category"] == "exposed"]
        after = tree / "Dropbox" / "a.amr"
        os.rename(before, after)
        wait_for(
            lambda: [
                e for e in events_at(settings.events_path, after) if e["rule"] == "recording-in-sync-folder"
            ],
            what="the sync-folder finding",
        )
        wait_for(lambda: events_at(settings.events_path, before, "resolved"), what="the old place resolving")
    exposed = [e for e in events_at(settings.events_path, after) if e["category"] == "exposed"]
    assert exposed[0]["event"] == "finding" and "Dropbox" in exposed[0]["message"]
    opened = {e["fingerprint"] for e in events_at(settings.events_path, before, "finding")}
    resolved = {e["fingerprint"] for e in events_at(settings.events_path, before, "resolved")}
    assert opened == resolved


def test_chmod_readable_by_others_is_exposed_and_undoing_it_resolves(open_tree: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, open_tree)
    recording = open_tree / "private.amr"
    drop(SAMPLE, recording)
    os.chmod(recording, 0o600)
    with running(settings):
        wait_for(lambda: events_at(settings.events_path, recording), what="the catch-up findings")

        def readable_by_others(event: str) -> list[dict[str, object]]:
            return [
                e
                for e in events_at(settings.events_path, recording, event)
                if e["rule"] == "recording-readable-by-others"
            ]

        assert not readable_by_others("finding")
        os.chmod(recording, 0o644)
        wait_for(lambda: readable_by_others("finding"), what="exposed after chmod o+r")
        os.chmod(recording, 0o600)
        wait_for(lambda: readable_by_others("resolved"), what="resolved after chmod o-r")
    assert readable_by_others("finding")[0]["category"] == "exposed"


def test_deleting_or_moving_out_resolves_and_moving_a_folder_in_is_examined(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    (outside / "batch").mkdir(parents=True)
    settings = make_settings(tmp_path, tree)
    with running(settings):
        doomed, leaving = drop(SAMPLE, tree / "doomed.amr"), drop(SAMPLE, tree / "leaving.amr")
        wait_for(lambda: events_at(settings.events_path, doomed) and events_at(settings.events_path, leaving))
        doomed.unlink()
        os.rename(leaving, outside / "leaving.amr")
        wait_for(lambda: events_at(settings.events_path, doomed, "resolved"), what="deletion resolving")
        wait_for(lambda: events_at(settings.events_path, leaving, "resolved"), what="move-out resolving")
        for n in range(3):
            drop(SAMPLE, outside / "batch" / f"s{n}.amr")
        os.rename(outside / "batch", tree / "batch")
        for n in range(3):
            wait_for(
                lambda n=n: events_at(settings.events_path, tree / "batch" / f"s{n}.amr"),
                what="folder contents",
            )
        shutil.rmtree(tree / "batch")
        for n in range(3):
            wait_for(lambda n=n: events_at(settings.events_path, tree / "batch" / f"s{n}.amr", "resolved"))
    assert not events_at(settings.events_path, outside / "leaving.amr")


def test_a_restart_re_alerts_nothing_and_catches_up_on_what_changed_meanwhile(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree)
    kept, removed = tree / "kept.amr", tree / "removed.amr"
    with running(settings):
        drop(SAMPLE, kept)
        drop(SAMPLE, removed)
        wait_for(lambda: events_at(settings.events_path, kept) and events_at(settings.events_path, removed))
        time.sleep(0.5)  # let both recordings' findings all land
    lines_before = len(read_events(settings.events_path))
    removed.unlink()
    added = drop(SAMPLE, tree / "added.amr")
    with running(settings) as daemon:
        wait_for(
            lambda: events_at(settings.events_path, added), what="the new file, found by the catch-up scan"
        )
        assert daemon.last_rescan and daemon.last_rescan["reason"] == "catch-up"
    new = read_events(settings.events_path)[lines_before:]
    assert not [e for e in new if e["location"] == str(kept)], "a known finding alerted again after restart"
    assert {e["event"] for e in new if e["location"] == str(removed)} == {"resolved"}
    assert {e["event"] for e in new if e["location"] == str(added)} == {"finding"}


def test_on_finding_command_gets_the_event_on_stdin(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    out = tmp_path / "commands.jsonl"
    settings = make_settings(tmp_path, tree, on_finding=f"cat >> '{out}'; echo >> '{out}'")
    with running(settings):
        recording = drop(SAMPLE, tree / "a.amr")
        wait_for(lambda: events_at(settings.events_path, recording), what="an event")
        expected = len(read_events(settings.events_path))
        wait_for(lambda: out.exists() and len(read_events(out)) == expected, what="one command run per event")
    assert [e["id"] for e in read_events(out)] == [e["id"] for e in read_events(settings.events_path)]


def test_watch_limit_on_subfolders_falls_back_to_polling_them_and_says_so(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "b" / "deep").mkdir(parents=True)
    report = tmp_path / "report.json"
    # Room for one watch, the root's: both subfolders hit the limit; b/deep is polled as part of b.
    settings = make_settings(tmp_path, tree, inotify_watch_limit=1, report_path=report, report_interval=0.1)
    with running(settings) as daemon:
        expected = {str(tree / "a"), str(tree / "b")}
        wait_for(lambda: daemon.health.degraded_polling.keys() == expected, what="the polled subtrees")
        assert all("watch limit" in why for why in daemon.health.degraded_polling.values())
        assert daemon.health.state == "degraded"
        top = drop(SAMPLE, tree / "top.amr")  # still inotify
        deep = drop(SAMPLE, tree / "b" / "deep" / "late.amr")  # polled
        wait_for(lambda: events_at(settings.events_path, top), what="a finding at the inotify-watched root")
        wait_for(lambda: events_at(settings.events_path, deep), what="a finding from the polled subtree")
        status = json.loads((settings.state_dir / "status.json").read_text())
        assert status["health"]["state"] == "degraded"
        mechanisms = {t["path"]: t["mechanism"] for t in status["health"]["watching"]}
        assert mechanisms == {str(tree): "inotify", str(tree / "a"): "polling", str(tree / "b"): "polling"}
        wait_for(
            lambda: report.exists() and len(json.loads(report.read_text())["findings"]) > 2, what="the report"
        )
    coverage = json.loads(report.read_text())["coverage"]
    assert {g["location"] for g in coverage["skipped"] if g["reason"] == GAP_POLLING} == expected
    assert not coverage["complete"]


def test_watch_limit_on_the_root_polls_the_whole_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree, inotify_watch_limit=0)
    with running(settings) as daemon:
        assert daemon.health.degraded_polling.keys() == {str(tree)}
        assert [t["mechanism"] for t in daemon.health.mechanisms] == ["polling"]
        recording = drop(SAMPLE, tree / "a.amr")
        wait_for(lambda: events_at(settings.events_path, recording), what="a finding via polling")


def test_queue_overflow_triggers_a_rescan_that_finds_what_was_missed(tmp_path: Path) -> None:
    from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent

    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree)
    with running(settings) as daemon:
        handler = daemon.supervisor.handler
        handler.dispatch = lambda event: None  # type: ignore[method-assign]  # events are lost from here on
        missed = drop(SAMPLE, tree / "missed.amr")
        time.sleep(0.6)
        assert not events_at(settings.events_path, missed)
        del handler.dispatch  # events flow again, but the one above is gone for good
        observer = daemon.supervisor.trees[str(tree)].observer
        # What the kernel sends when its queue overflows, through watchdog's own handling of it.
        observer.inotify_thread.handle_event(InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))
        wait_for(lambda: events_at(settings.events_path, missed), what="the rescan finding the missed file")
        wait_for(lambda: not daemon.health.open_recoveries, what="the overflow to be recovered")
        assert daemon.health.overflows == 1
        assert daemon.health.history[-1].reason == GAP_OVERFLOW
        assert daemon.last_rescan and daemon.last_rescan["reason"] == "event queue overflow"
        later = drop(SAMPLE, tree / "later.amr")
        wait_for(lambda: events_at(settings.events_path, later), what="live events after the overflow")


def test_a_dead_polling_observer_is_restarted_and_the_gap_is_reported_until_rescanned(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree, force_polling=True)
    with running(settings) as daemon:
        tree_watch = daemon.supervisor.trees[str(tree)]
        for emitter in list(tree_watch.observer.emitters):
            emitter.stop()  # what a poller on a vanished network share does
        wait_for(lambda: daemon.health.restarts == 1, what="the restart")
        assert daemon.supervisor.trees[str(tree)] is not tree_watch
        wait_for(lambda: daemon.health.history and daemon.health.history[-1].reason == GAP_RESTARTED)
        assert not daemon.health.open_recoveries and daemon.health.state == "healthy"
        recording = drop(SAMPLE, tree / "after-restart.amr")
        wait_for(lambda: events_at(settings.events_path, recording), what="events from the new observer")


def test_the_daemons_own_files_inside_the_tree_are_not_watched(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(
        tmp_path,
        tree,
        state_dir=tree / ".state",
        events_path=tree / "events.jsonl",
        report_path=tree / "r.json",
    )
    with running(settings) as daemon:
        touched: list[str] = []
        real_touch = daemon.settle.touch

        def recording_touch(path: str, how: str, *, is_dir: bool = False) -> None:
            touched.append(path)
            real_touch(path, how, is_dir=is_dir)

        daemon.settle.touch = recording_touch  # type: ignore[method-assign]
        recording = drop(SAMPLE, tree / "a.amr")
        wait_for(lambda: events_at(settings.events_path, recording), what="a finding")
        wait_for(lambda: (tree / "r.json").exists(), what="the report")
        time.sleep(0.5)  # state saves and status writes happen meanwhile
    assert set(touched) == {str(recording)}, "the daemon reacted to its own writes"
    assert {e["location"] for e in read_events(settings.events_path)} == {str(recording)}


def test_a_poller_that_cannot_read_its_share_is_reported_until_it_can(tmp_path: Path) -> None:
    import errno

    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree, force_polling=True)
    with running(settings) as daemon:
        (emitter,) = daemon.supervisor.trees[str(tree)].observer.emitters
        working = emitter._take_snapshot  # type: ignore[attr-defined]

        def share_gone() -> None:
            raise OSError(errno.EHOSTDOWN, "Host is down")

        emitter._take_snapshot = share_gone  # type: ignore[attr-defined]
        wait_for(lambda: str(tree) in daemon.health.unreadable, what="the unreadable share to be reported")
        assert daemon.health.state == "degraded"
        assert any(g.reason == "watch-path-unreadable" for g in daemon.health.gaps())
        emitter._take_snapshot = working  # type: ignore[attr-defined]
        wait_for(lambda: daemon.health.state == "healthy", what="recovery once the share is back")


def test_the_status_file_says_caught_up_without_waiting_for_a_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the daemon's own thread writes the status once it runs: a write from the starting
    thread that lands late must not put back "catch-up not finished" for a heartbeat's time."""
    import threading

    from auditor.watch import status_file

    real_write = status_file.write_atomic

    def slow_from_the_starting_thread(path: Path, text: str) -> None:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.5)  # long enough for the catch-up scan of an empty tree to finish first
        real_write(path, text)

    monkeypatch.setattr(status_file, "write_atomic", slow_from_the_starting_thread)
    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree)
    with running(settings):
        status_file = settings.state_dir / "status.json"
        wait_for(lambda: status_file.exists() and json.loads(status_file.read_text())["health"]["caught_up"])
        time.sleep(0.8)  # past any late write from the starting thread
        assert json.loads(status_file.read_text())["health"]["caught_up"] is True
