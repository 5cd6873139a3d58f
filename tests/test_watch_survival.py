"""The watch daemon must not die, go blind, or lose events (issue 18): hostile files in the tree fail only
themselves, the loop is supervised, a sink that cannot write keeps its events, and a restart after
`kill -9` reconciles the ledger with the tree. Real folders, real events, real processes and mounts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.watch.status import EXIT_DEGRADED, EXIT_HEALTHY, read_status
from tests.test_watch_helpers import (
    NEEDS_ROOT_MOUNTS,
    SAMPLE,
    drop,
    events_at,
    fill,
    make_settings,
    mounted,
    open_tree,
    read_events,
    running,
    wait_for,
)

__all__ = ["open_tree"]  # the fixture, imported for pytest

UNENCRYPTED = "recording-unencrypted"
READABLE = "recording-readable-by-others"
BREACH = "breach-unsecured-exposure"


def _alerted(events: Path, location: Path, rule: str = UNENCRYPTED) -> list[dict[str, Any]]:
    return [e for e in events_at(events, location, "finding") if e["rule"] == rule]


def _report_gaps(report: Path) -> list[dict[str, Any]]:
    if not report.exists():
        return []
    return list(json.loads(report.read_text())["coverage"]["skipped"])


# -- one file can only fail itself ------------------------------------------------------------------


def test_a_sidecar_nested_30000_deep_fails_only_its_own_recording(tmp_path: Path) -> None:
    """Once in the tree at start (the catch-up scan), once dropped in (a live event): each time the
    recordings beside it and after it are still judged, and the bad one is a gap."""
    tree = tmp_path / "tree"
    (tree / "one").mkdir(parents=True)
    (tree / "two").mkdir()
    deep = "[" * 30_000 + "]" * 30_000  # json.loads: RecursionError
    drop(SAMPLE, tree / "one" / "bad.amr")
    (tree / "one" / "bad.amr.meta.json").write_text(deep)
    beside, elsewhere = drop(SAMPLE, tree / "one" / "beside.amr"), drop(SAMPLE, tree / "two" / "b.amr")
    report = tmp_path / "report.json"
    settings = make_settings(tmp_path, tree, report_path=report, report_interval=0.1)
    with running(settings) as daemon:
        wait_for(lambda: _alerted(settings.events_path, beside), what="the recording beside the bad sidecar")
        wait_for(lambda: _alerted(settings.events_path, elsewhere), what="the recording in another folder")
        (tree / "two" / "later.amr.meta.json").write_text(deep)
        drop(SAMPLE, tree / "two" / "later.amr")
        after = drop(SAMPLE, tree / "two" / "after.amr")
        wait_for(lambda: _alerted(settings.events_path, after), what="a live recording after the bad one")
        bad = {str(tree / "one" / "bad.amr"), str(tree / "two" / "later.amr")}
        sidecars = {f"{p}.meta.json" for p in bad}

        def gaps_on_the_bad_ones() -> set[str]:
            return {g["location"] for g in _report_gaps(report)} & (bad | sidecars)

        # Each bad one is a gap: on the recording (its examination failed), or on its sidecar (a
        # bounded parser refused it and attribution fell back), never nothing.
        wait_for(lambda: len(gaps_on_the_bad_ones()) == 2, what="a gap for each bad sidecar")
        assert daemon.health.loop_restarts == 0 and not daemon.crashed
        failed = {n.location for n in daemon.health.file_notes}
        assert failed <= bad
        wait_for(
            lambda: read_status(settings.state_dir).status["health"]["files_failed"] == len(failed),
            what="the notes in the status",
        )
    assert (
        read_status(settings.state_dir).status["health"]["state"] == "healthy"
    )  # a bad file is not a bad watch


@pytest.mark.parametrize(
    ("sidecar", "content"),
    [
        ("odd.amr.meta.json", '{"client": "\\ud800"}'),  # valid JSON, not valid Unicode
        # 263 bytes of "billion laughs": nine levels of nine aliases each (9**9 strings expanded).
        (
            "odd.amr.meta.yaml",
            "client: &i [&h [&g [&f [&e [&d [&c [&b [&a [x,x,x,x,x,x,x,x,x]"
            + ",*a" * 8
            + "]"
            + ",*b" * 8
            + "]"
            + ",*c" * 8
            + "]"
            + ",*d" * 8
            + "]"
            + ",*e" * 8
            + "]"
            + ",*f" * 8
            + "]"
            + ",*g" * 8
            + "]"
            + ",*h" * 8
            + "]\n",
        ),
    ],
    ids=["lone-surrogate", "alias-bomb"],
)
def test_a_hostile_sidecar_is_a_gap_and_its_recording_is_still_judged(
    tmp_path: Path, sidecar: str, content: str
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    report = tmp_path / "report.json"
    settings = make_settings(tmp_path, tree, report_path=report, report_interval=0.1)
    with running(settings) as daemon:
        (tree / sidecar).write_text(content)
        odd = drop(SAMPLE, tree / "odd.amr")
        wait_for(lambda: _alerted(settings.events_path, odd), what="the odd recording, judged all the same")
        later = drop(SAMPLE, tree / "later.amr")
        wait_for(lambda: _alerted(settings.events_path, later), what="a later recording")
        wait_for(
            lambda: [g for g in _report_gaps(report) if g["location"] == str(tree / sidecar)],
            what="the sidecar's gap",
        )
        assert daemon.health.loop_restarts == 0 and daemon.outbox.reasons() == []
    assert read_status(settings.state_dir).status["health"]["state"] == "healthy"


def test_a_lone_surrogate_that_reaches_the_sinks_is_written_as_strict_utf8_json(tmp_path: Path) -> None:
    """Should one get past the parsers: every sink still takes the event, in the one lossless form."""
    import orjson

    from auditor.textsafe import from_lossless
    from auditor.watch.ledger import Ledger
    from auditor.watch.outbox import Outbox
    from auditor.watch.sinks import CommandSink, EventsFile
    from auditor.watch.store import StateStore

    events, commands = tmp_path / "events.jsonl", tmp_path / "commands.jsonl"
    store = StateStore(tmp_path)
    store.open()
    outbox = Outbox(store, [EventsFile(events), CommandSink(f"cat >> '{commands}'; echo >> '{commands}'")])
    outbox.start()
    event = {"event": "finding", "id": "e1", "fingerprint": "f", "rule": "r", "category": "c",
             "severity": "high", "location": "/srv/a.m4a", "message": "m", "client": "\ud800"}  # fmt: skip
    assert outbox.commit(Ledger(), [event])
    outbox.close()
    store.close()
    for path in (events, commands):
        (line,) = [x for x in path.read_bytes().splitlines() if x.strip()]
        written = orjson.loads(line)  # strict: UTF-8, no lone surrogate escapes
        assert from_lossless(written["client"]) == "\ud800"


# -- the loop is supervised -------------------------------------------------------------------------


def test_a_crash_of_the_loop_restarts_it_and_is_degraded_until_a_rescan_covers_it(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree, restart_backoff=(0.2, 0.4))
    with running(settings) as daemon:
        real = daemon.live.process
        crashes: list[int] = []

        def crash_once(batch: Any) -> None:
            if not crashes:
                crashes.append(1)
                raise RuntimeError("a bug in the daemon")
            real(batch)

        daemon.live.process = crash_once  # type: ignore[method-assign]
        lost = drop(SAMPLE, tree / "lost.amr")  # its batch dies with the crash

        def reasons() -> list[str]:
            status = json.loads((settings.state_dir / "status.json").read_text())
            return list(status["health"]["reasons"])

        wait_for(
            lambda: any("watch-loop-restarted" in r for r in reasons()), what="the restart in the status"
        )
        assert any("RuntimeError: a bug in the daemon" in r for r in reasons())
        wait_for(lambda: _alerted(settings.events_path, lost), what="the rescan finding what the crash lost")
        wait_for(lambda: daemon.health.state == "healthy", what="healthy once the rescan has run")
        assert daemon.health.loop_restarts == 1 and daemon.last_rescan["reason"] == "watch loop restarted"  # type: ignore[index]
        after = drop(SAMPLE, tree / "after.amr")
        wait_for(lambda: _alerted(settings.events_path, after), what="live events after the restart")


def test_a_loop_stuck_on_one_file_shows_as_degraded_while_it_is(tmp_path: Path) -> None:
    """What a parser taking minutes over one file does to the loop, shown with a rule that hangs on one."""
    import threading
    from dataclasses import replace

    tree = tmp_path / "tree"
    tree.mkdir()
    settings = make_settings(tmp_path, tree, stuck_after=0.5)
    release = threading.Event()

    def hangs_on_one_file(artifact: Any, _ctx: Any) -> list[Any]:
        if artifact.location.endswith("slow.amr"):
            release.wait(30)
        return []

    with running(settings) as daemon:
        inputs = daemon.judge.inputs
        template = inputs.ruleset.active[0]
        slow_rule = replace(template, rule=replace(template.rule, id="slow-rule", evaluate=hangs_on_one_file))
        daemon.judge.inputs = replace(
            inputs, ruleset=replace(inputs.ruleset, active=[*inputs.ruleset.active, slow_rule])
        )
        drop(SAMPLE, tree / "slow.amr")

        def busy_reasons() -> list[str]:
            report = read_status(settings.state_dir)
            reasons = report.status["health"]["reasons"]
            return [
                r
                for r in reasons
                if "the watch loop has been busy" in r and report.exit_code == EXIT_DEGRADED
            ]

        (why,) = wait_for(busy_reasons, what="the status to say the loop is stuck")
        assert "judging 1 changed path(s)" in why
        release.set()
        wait_for(lambda: read_status(settings.state_dir).exit_code == EXIT_HEALTHY, what="healthy again")
        later = drop(SAMPLE, tree / "later.amr")
        wait_for(lambda: _alerted(settings.events_path, later), what="a later recording")


# -- a sink that cannot write keeps its events --------------------------------------------------------


@NEEDS_ROOT_MOUNTS
def test_events_on_a_full_disk_wait_and_none_is_lost_or_repeated(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    with mounted(tmp_path / "small", "tmpfs", "size=256k") as small:
        settings = make_settings(
            tmp_path, tree, events_path=small / "events.jsonl", events_backoff=(0.1, 0.5)
        )
        filler = fill(small)
        os.truncate(filler, filler.stat().st_size - 4096)  # one page left: a batch gets half written
        with running(settings) as daemon:
            first = [drop(SAMPLE, tree / f"a{n}.amr") for n in range(8)]  # about 7 KiB of events
            wait_for(lambda: all(daemon.ledger.at(str(p)) for p in first), what="the findings, judged")
            state = wait_for(
                lambda: (r := read_status(settings.state_dir)).exit_code == EXIT_DEGRADED and r,
                what="the status to say the events cannot be written",
            )
            (why,) = [r for r in state.status["health"]["reasons"] if "events file" in r]
            assert "No space left on device" in why and "waiting in the outbox" in why
            assert (
                settings.events_path.read_bytes().endswith(b"\n") or not settings.events_path.stat().st_size
            )
            filler.unlink()  # space again: everything waiting is written, in order
            expected = {fp for p in first for fp in daemon.ledger.at(str(p))}
            wait_for(lambda: {e["fingerprint"] for e in read_events(settings.events_path)} == expected)
            wait_for(lambda: read_status(settings.state_dir).exit_code == EXIT_HEALTHY, what="healthy again")
            filler = fill(small)  # full again, and the daemon stops while it is
            second = drop(SAMPLE, tree / "b.amr")
            wait_for(lambda: daemon.ledger.at(str(second)), what="the last findings, judged")
            expected |= daemon.ledger.at(str(second))
        filler.unlink()
        with running(settings):  # the next start delivers what was waiting
            wait_for(lambda: {e["fingerprint"] for e in read_events(settings.events_path)} == expected)
        text = settings.events_path.read_text()
    events = [json.loads(line) for line in text.splitlines()]  # every line whole: no half-written one
    assert len(text.splitlines()) == len(events) == len(expected) and text.endswith("\n")
    assert len({e["id"] for e in events}) == len(events), "an event was written twice"


# -- kill -9, then a restart: the catch-up reconciles, opened and resolved ---------------------------------


def _watch(tree: Path, base: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "auditor", "watch", str(tree), "--state-dir", str(base / "state"),
               "--events", str(base / "events.jsonl"), "--settle", "0.3", "--no-syslog"]  # fmt: skip
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_after_kill_9_a_breach_fixed_or_deleted_meanwhile_resolves_on_restart(
    open_tree: Path, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    events = tmp_path / "events.jsonl"
    fixed, deleted = drop(SAMPLE, open_tree / "fixed.amr"), drop(SAMPLE, open_tree / "deleted.amr")
    for recording in (fixed, deleted):
        os.chmod(recording, 0o644)  # readable by others: exposed, a breach
    processes.append(_watch(open_tree, tmp_path))
    for recording in (fixed, deleted):
        wait_for(lambda r=recording: _alerted(events, r, BREACH), timeout=40, what="the breach findings")
    processes[0].send_signal(signal.SIGKILL)  # no chance to save anything more
    processes[0].wait(10)
    down = read_status(tmp_path / "state")  # the state as the kill left it, read-only
    assert not down.running and {r["location"] for r in down.open_findings} == {str(fixed), str(deleted)}
    before = len(read_events(events))
    os.chmod(fixed, 0o600)
    deleted.unlink()
    added = drop(SAMPLE, open_tree / "added.amr")
    processes.append(_watch(open_tree, tmp_path))
    wait_for(lambda: events_at(events, fixed, "resolved"), timeout=40, what="the fixed breach resolving")
    wait_for(lambda: _alerted(events, added), what="the recording added while down")
    wait_for(lambda: {e["rule"] for e in events_at(events, deleted, "resolved")} >= {BREACH, UNENCRYPTED})
    seen = {e["id"]: e for e in read_events(events)[:before]}
    # At least once: an event written just before the kill may be written again, with its own id.
    repeats = [e for e in read_events(events)[before:] if e["id"] in seen]
    assert all(e == seen[e["id"]] for e in repeats)
    new = [e for e in read_events(events)[before:] if e["id"] not in seen]
    resolved_fixed = {e["rule"] for e in new if e["location"] == str(fixed) and e["event"] == "resolved"}
    assert resolved_fixed == {BREACH, READABLE}
    assert not [e for e in new if e["location"] == str(fixed) and e["event"] == "finding"], "re-alerted"
    processes[1].send_signal(signal.SIGTERM)
    assert processes[1].wait(30) == 0
