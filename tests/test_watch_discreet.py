"""The watch daemon sees the tree as `auditor scan` does and is as discreet: atime left alone on a real
strictatime mount, no observer on a pseudo filesystem, -x stops at mount points, network mounts (at any
path) polled, suppressions honoured. Real mounts where they matter (root only)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from auditor.watch.observers import ChangeHandler, WatchSupervisor, network_filesystem
from auditor.watch.status import StatusReport, read_status, render
from tests.test_watch_helpers import (
    NEEDS_ROOT_MOUNTS,
    SAMPLE,
    drop,
    events_at,
    make_settings,
    mounted,
    running,
    wait_for,
)

UNENCRYPTED = "recording-unencrypted"
UNATTRIBUTED = "consent-unattributed"
OLD_NS = 1_000_000_000 * 10**9  # 2001-09-09


def _alerted(events: Path, location: Path, rule: str | None = UNENCRYPTED) -> list[dict[str, Any]]:
    """Finding events at `location` (of `rule`; of any rule for None: on tmpfs, whether a recording is
    encrypted at rest is unknown, which is a finding of its own)."""
    return [e for e in events_at(events, location, "finding") if rule is None or e["rule"] == rule]


def _watched_devices() -> set[tuple[int, int]]:
    """(major, minor) of every filesystem this process has an inotify watch on, as the kernel lists them."""
    devices = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                lines = info.read().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("inotify wd:"):
                sdev = int(line.split("sdev:")[1].split()[0], 16)  # the kernel's dev_t: major << 20 | minor
                devices.add((sdev >> 20, sdev & 0xFFFFF))
    return devices


def _device(path: Path) -> tuple[int, int]:
    dev = os.stat(path).st_dev
    return os.major(dev), os.minor(dev)


# -- atime ---------------------------------------------------------------------------------------


@NEEDS_ROOT_MOUNTS
@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_watching_leaves_every_atime_alone_on_a_strictatime_mount(tmp_path: Path, polling: bool) -> None:
    with mounted(tmp_path / "mnt", "tmpfs", "strictatime,size=16m") as mount:
        tree = mount / "tree"
        (tree / "a" / "b").mkdir(parents=True)
        (tree / "c").mkdir()
        drop(SAMPLE, tree / "a" / "b" / "rec.amr")
        (tree / "a" / "b" / "rec.amr.meta.yaml").write_text("client: C-1\n")
        (tree / "c" / "notes.txt").write_text("not a recording\n")
        (tree / "link-dir").symlink_to("a")
        (tree / "a" / "link-file").symlink_to("b/rec.amr")
        (tree / "c" / "dangling").symlink_to("nowhere")
        existing = [tree, *sorted(tree.rglob("*"))]
        for path in existing:
            os.utime(path, ns=(OLD_NS, os.lstat(path).st_mtime_ns), follow_symlinks=False)
        control = mount / "control"
        control.mkdir()
        os.utime(control, ns=(OLD_NS, OLD_NS))
        os.listdir(control)  # the mount really is strictatime: a plain listing moves the atime
        assert os.lstat(control).st_atime_ns != OLD_NS
        settings = make_settings(tmp_path, tree, force_polling=polling)
        with running(settings) as daemon:
            wait_for(
                lambda: _alerted(settings.events_path, tree / "a" / "b" / "rec.amr", None), what="catch-up"
            )
            for folder in ("a/b", "c"):  # an event in an existing folder: its listing is read again
                new = drop(SAMPLE, tree / folder / "new.amr")
                wait_for(
                    lambda n=new: _alerted(settings.events_path, n, None), what=f"a recording in {folder}"
                )
            (tree / "d").mkdir()  # a new folder: walked by the observer and by the daemon
            late = drop(SAMPLE, tree / "d" / "late.amr")
            wait_for(lambda: _alerted(settings.events_path, late, None), what="a recording in a new folder")
            daemon.request_rescan("test")
            wait_for(lambda: (daemon.last_rescan or {}).get("reason") == "test", what="a full rescan")
        touched = [str(p.relative_to(tree)) for p in existing if os.lstat(p).st_atime_ns != OLD_NS]
    assert touched == [], f"atime changed on {touched}"


# -- mount points --------------------------------------------------------------------------------


@NEEDS_ROOT_MOUNTS
def test_no_observer_ever_watches_a_pseudo_filesystem_in_the_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    report = tmp_path / "report.json"
    with mounted(tree / "queues", "mqueue"):
        settings = make_settings(tmp_path, tree, report_path=report, report_interval=0.1)
        with running(settings):
            devices = _watched_devices()
            assert _device(tree) in devices  # the check sees watches at all
            assert _device(tree / "queues") not in devices, "an inotify watch on the mqueue filesystem"
            wait_for(report.exists, what="the report")
            gaps = json.loads(report.read_text())["coverage"]["skipped"]
    assert {g["reason"] for g in gaps if g["location"] == str(tree / "queues")} == {"pseudo-filesystem"}


@NEEDS_ROOT_MOUNTS
@pytest.mark.parametrize("one_file_system", [False, True], ids=["crossing", "-x"])
def test_one_file_system_stops_at_mount_points_for_the_watch_and_the_rescan(
    tmp_path: Path, one_file_system: bool
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    report = tmp_path / "report.json"
    with mounted(tree / "usb", "tmpfs", "size=4m") as usb:
        inside = drop(SAMPLE, usb / "inside.amr")
        outside = drop(SAMPLE, tree / "outside.amr")
        settings = make_settings(
            tmp_path, tree, one_file_system=one_file_system, report_path=report, report_interval=0.1
        )
        with running(settings):
            wait_for(lambda: _alerted(settings.events_path, outside), what="the catch-up findings")
            watched = _device(usb) in _watched_devices()
            wait_for(report.exists, what="the report")
            gaps = json.loads(report.read_text())["coverage"]["skipped"]
        found_inside = bool(_alerted(settings.events_path, inside, None))
    crossing = [g for g in gaps if g["location"] == str(usb)]
    if one_file_system:
        assert not watched and not found_inside
        assert [g["reason"] for g in crossing] == ["other-filesystem"]
    else:
        assert watched and found_inside and crossing == []


def test_an_nfs_mount_at_a_non_ascii_path_is_polled_and_says_why(tmp_path: Path) -> None:
    """The one mount-table reader decodes names as the kernel writes them (UTF-8 bytes, \\040 for a space)."""
    tree = tmp_path / "séances cliniques"
    tree.mkdir()
    major, minor = _device(tree)
    mountinfo = tmp_path / "mountinfo"
    escaped = str(tree).replace(" ", "\\040")
    # A bind mount of one device in two places: the longer mount point decides, by its (decoded) path.
    mountinfo.write_bytes(
        f"27 1 {major}:{minor} / / rw,relatime - ext4 /dev/vda rw\n"
        f"99 27 {major}:{minor} / {escaped} rw,relatime - nfs4 server:/export rw\n".encode()
    )
    assert network_filesystem(str(tree), mountinfo) == "nfs4"

    class Listener:
        def on_change(self, path: str, how: str, is_dir: bool) -> None: ...

        def on_overflow(self, root: str) -> None: ...

        def on_watch_limit(self, root: str, path: str, error: OSError) -> None: ...

    listener = Listener()
    supervisor = WatchSupervisor(ChangeHandler(listener), listener, mountinfo=mountinfo)
    try:
        supervisor.watch_root(str(tree))
        (described,) = supervisor.describe()["trees"]
    finally:
        supervisor.stop()
    assert described["mechanism"] == "polling" and "network filesystem (nfs4)" in described["why"]
    status = {"pid": os.getpid(), "health": {"state": "healthy", "watching": [described]}}
    shown = render(StatusReport(True, "healthy", status, []))
    assert f"watching {tree}: polling (network filesystem (nfs4)" in shown


# -- suppressions --------------------------------------------------------------------------------


def test_a_suppressed_finding_does_not_alert_until_its_suppression_is_taken_out(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "accepted").mkdir(parents=True)
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(
        "version: 1\nsuppressions:\n"
        f"  - rule: {UNENCRYPTED}\n    location: '**/accepted/*'\n    reason: Risk assessment RA-7\n"
    )
    report = tmp_path / "report.json"
    settings = make_settings(tmp_path, tree, ignore_path=ignore, report_path=report, report_interval=0.1)
    with running(settings) as daemon:
        accepted, other = drop(SAMPLE, tree / "accepted" / "a.amr"), drop(SAMPLE, tree / "b.amr")
        wait_for(lambda: _alerted(settings.events_path, other), what="the finding that is not suppressed")
        wait_for(
            lambda: _alerted(settings.events_path, accepted, UNATTRIBUTED), what="the accepted one, judged"
        )
        assert not _alerted(settings.events_path, accepted), "a suppressed finding alerted"
        (held,) = [r for r in read_status(settings.state_dir).open_findings if r["suppressed"]]
        assert held["location"] == str(accepted) and held["suppressed"]["reason"] == "Risk assessment RA-7"
        assert "and 1 suppressed (not alerted)" in render(read_status(settings.state_dir))

        def marked() -> list[dict[str, Any]]:
            findings = json.loads(report.read_text())["findings"] if report.exists() else []
            return [f for f in findings if f.get("suppressed")]

        (in_report,) = wait_for(marked, what="the report marking it as scan does")
        assert in_report["location"] == str(accepted) and in_report["rule"] == UNENCRYPTED
        ignore.write_text("version: 1\nsuppressions: []\n")
        daemon.request_reload()  # SIGHUP in the CLI
        wait_for(
            lambda: _alerted(settings.events_path, accepted), what="the alert once it is no longer accepted"
        )
    assert len(_alerted(settings.events_path, accepted)) == 1


def test_watch_refuses_a_suppression_file_naming_an_unknown_rule(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "ignore.yaml").write_text(
        "version: 1\nsuppressions:\n  - rule: recording-unencrypte\n    location: '*'\n    reason: r\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "watch", str(tmp_path), "--ignore", str(tmp_path / "ignore.yaml"),
         "--state-dir", str(tmp_path / "state"), "--no-syslog"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "ignore.yaml" in done.stderr and "recording-unencrypted" in done.stderr
