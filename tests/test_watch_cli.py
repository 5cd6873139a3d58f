"""`auditor watch` and `auditor status` as processes: real signals, exit codes, the state directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.watch.status import EXIT_DEGRADED, EXIT_HEALTHY, EXIT_NOT_RUNNING
from auditor.watch.store import read_open_findings
from tests.test_watch_helpers import SAMPLE, events_at, wait_for

GOOD_CONFIG = "version: 1\nexposure:\n  sync_folders: [tree/cloud]\n"


def _auditor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _status(state: Path) -> tuple[int, dict[str, object]]:
    done = _auditor("status", "--state-dir", str(state), "--json")
    # While the daemon creates its state, status may find it unreadable (exit 2, nothing on
    # stdout): not yet healthy, so the callers wait on, as for any other state.
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    (tmp_path / "tree" / "cloud").mkdir(parents=True)
    (tmp_path / "auditor.yaml").write_text(GOOD_CONFIG)
    command = [
        sys.executable,
        "-m",
        "auditor",
        "watch",
        str(tmp_path / "tree"),
        "--config",
        str(tmp_path / "auditor.yaml"),
        "--state-dir",
        str(tmp_path / "state"),
        "--events",
        str(tmp_path / "events.jsonl"),
        "--settle",
        "0.3",
        "--no-syslog",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        try:
            wait_for(
                lambda: _status(tmp_path / "state")[0] == EXIT_HEALTHY, timeout=40, what="a healthy daemon"
            )
        except AssertionError:
            process.kill()
            _, stderr = process.communicate(timeout=10)
            raise AssertionError(
                f"daemon not healthy; status {_status(tmp_path / 'state')}; stderr:\n{stderr}"
            ) from None
        yield process, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_sighup_with_a_broken_config_keeps_the_old_one_and_says_so(
    daemon: tuple[subprocess.Popen[str], Path],
) -> None:
    process, base = daemon
    (base / "auditor.yaml").write_text("version: 1\nexposure:\n  sync_folders: 42\n")
    process.send_signal(signal.SIGHUP)
    code, status = wait_for(
        lambda: (s := _status(base / "state"))[1]["daemon"]["health"]["config_error"] and s,  # type: ignore[index]
        what="the rejected reload in the status",
    )
    assert code == EXIT_DEGRADED and status["state"] == "degraded"
    assert process.poll() is None, "a broken config stopped the daemon"
    # The old config still rules: its configured sync folder still counts as exposure.
    recording = base / "tree" / "cloud" / "a.amr"
    shutil.copyfile(SAMPLE, recording)
    wait_for(
        lambda: [
            e for e in events_at(base / "events.jsonl", recording) if e["rule"] == "recording-in-sync-folder"
        ],
        what="the old config's sync folder to be applied",
    )
    human = _auditor("status", "--state-dir", str(base / "state"))
    assert "config reload rejected" in human.stdout and human.returncode == EXIT_DEGRADED
    # A fixed config clears it.
    (base / "auditor.yaml").write_text(GOOD_CONFIG)
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: _status(base / "state")[0] == EXIT_HEALTHY, what="a healthy daemon after a good reload")
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert "REJECTED" in (process.stderr.read() if process.stderr else "")


def test_sigterm_stops_cleanly_and_status_says_not_running(
    daemon: tuple[subprocess.Popen[str], Path],
) -> None:
    process, base = daemon
    recording = base / "tree" / "a.amr"
    shutil.copyfile(SAMPLE, recording)
    wait_for(lambda: events_at(base / "events.jsonl", recording), what="a finding")
    second = _auditor("watch", str(base / "tree"), "--state-dir", str(base / "state"), "--no-syslog")
    assert second.returncode == 2 and "another auditor watch" in second.stderr
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    code, status = _status(base / "state")
    assert code == EXIT_NOT_RUNNING and status["running"] is False
    assert status["daemon"]["stopped"]
    open_findings = status["open_findings"]
    assert {f["location"] for f in open_findings} == {str(recording)}  # type: ignore[index]
    assert len(read_open_findings(base / "state")) == len(open_findings)
    for name in ("watch.sqlite", "status.json", "events.jsonl"):
        path = base / "state" / name if name != "events.jsonl" else base / name
        assert path.stat().st_mode & 0o077 == 0, f"{name} is readable by others"
    assert (base / "state").stat().st_mode & 0o077 == 0


def test_status_without_a_daemon_and_bad_arguments(tmp_path: Path) -> None:
    code, status = _status(tmp_path / "nothing-here")
    assert code == EXIT_NOT_RUNNING and status["running"] is False
    assert _auditor("watch", str(tmp_path / "missing"), "--state-dir", str(tmp_path)).returncode == 2
    bad = _auditor("watch", str(tmp_path), "--rescan-interval", "soon", "--state-dir", str(tmp_path))
    assert bad.returncode == 2 and "duration" in bad.stderr
    (tmp_path / "broken.yaml").write_text("version: 7\n")
    broken = _auditor(
        "watch", str(tmp_path), "--config", str(tmp_path / "broken.yaml"), "--state-dir", str(tmp_path / "s")
    )
    assert broken.returncode == 2 and "broken.yaml" in broken.stderr


def test_status_of_a_daemon_that_died_without_stopping(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    status = {"pid": dead.pid, "started": "2026-01-01T00:00:00+00:00", "health": {"state": "healthy"}}
    (state / "status.json").write_text(json.dumps(status))
    code, report = _status(state)
    assert code == EXIT_NOT_RUNNING and report["state"] == "not running"
    status["pid"] = os.getpid()  # alive, and no start time to tell it from another process
    (state / "status.json").write_text(json.dumps(status))
    assert _status(state)[0] == EXIT_HEALTHY
