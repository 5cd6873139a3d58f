"""The local walk: recognition by content, robustness, coverage gaps, and read-only discretion."""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.config import Config
from auditor.models import Coverage
from auditor.sources.base import SourceOptions
from auditor.sources.local import LocalSource
from auditor.sources.local import examiner as local_examiner
from auditor.sources.local import source as local_source
from tests.conftest import MEDIA, place, run_module, scan_json


def _scan(root: Path, **opts: object) -> tuple[list[str], Coverage]:
    coverage = Coverage()
    source = LocalSource(Config(), SourceOptions(**opts))  # type: ignore[arg-type]
    found = [a.location for a in source.scan(str(root), coverage)]
    return sorted(found), coverage


def test_recognises_recordings_by_content_not_extension(tmp_path: Path) -> None:
    place(tmp_path, "a/real.wav", "session.wav")
    place(tmp_path, "a/renamed.dat", "session.m4a")
    place(tmp_path, "a/no_extension", "session.ogg")
    place(tmp_path, "a/archive.bin", "session.flac")
    place(tmp_path, "b/fake.mp3", "fake.mp3")  # text behind a media extension
    place(tmp_path, "b/noise.mp4", "noise.bin")
    place(tmp_path, "b/notes.vtt", "session.vtt")  # a transcript is a recording of the session too
    (tmp_path / "b" / "letter.txt").write_text("Dear client, ...")
    found, cov = _scan(tmp_path)
    names = {Path(p).name for p in found}
    assert names == {"real.wav", "renamed.dat", "no_extension", "archive.bin", "notes.vtt"}
    assert cov.files_seen == 8
    assert cov.recordings == 5
    # letter.txt is settled by its name and never opened
    assert cov.candidates == 7


def test_encrypted_recordings_by_inner_name_or_attribution(tmp_path: Path) -> None:
    place(tmp_path, "x.m4a.gpg", "session.m4a.gpg")
    place(tmp_path, "y.wav.age", "session.wav.age")
    place(tmp_path, "z.m4a.enc", "session.m4a.enc")
    place(tmp_path, "opaque.gpg", "session.m4a.gpg")  # inner name says nothing, no attribution
    coverage = Coverage()
    arts = {
        Path(a.location).name: a for a in LocalSource(Config(), SourceOptions()).scan(str(tmp_path), coverage)
    }
    assert set(arts) == {"x.m4a.gpg", "y.wav.age", "z.m4a.enc"}
    assert all(a.encrypted is True and a.content_encrypted for a in arts.values())
    assert arts["x.m4a.gpg"].encryption == "content:openpgp"
    assert arts["y.wav.age"].encryption == "content:age"
    assert arts["z.m4a.enc"].encryption == "content:openssl-salted"

    # The same opaque blob becomes a recording once a sidecar ties it to a session.
    (tmp_path / "opaque.gpg.meta.yaml").write_text(
        "client: C-1\nsession_date: 2026-11-01\npurpose: supervision\n"
    )
    names = {
        Path(a.location).name for a in LocalSource(Config(), SourceOptions()).scan(str(tmp_path), Coverage())
    }
    assert "opaque.gpg" in names


def test_fifo_is_never_opened(tmp_path: Path) -> None:
    place(tmp_path, "session.wav", "session.wav")
    os.mkfifo(tmp_path / "pipe.wav")
    # In a real process with a timeout: opening a FIFO for reading would block forever.
    res = run_module(
        "scan", "-q", tmp_path, "-o", tmp_path.parent / "fifo.json", "--fail-on", "none", timeout=60
    )
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path.parent / "fifo.json").read_text())
    gaps = {(Path(g["location"]).name, g["reason"]) for g in data["coverage"]["skipped"]}
    assert ("pipe.wav", "special-file") in gaps
    assert [Path(r["location"]).name for r in data["recordings"]] == ["session.wav"]


def test_symlink_loops_survive_with_and_without_following(tmp_path: Path) -> None:
    place(tmp_path, "d/session.wav", "session.wav")
    os.symlink("..", tmp_path / "d" / "up")  # directory loop
    os.symlink("self", tmp_path / "d" / "self")  # a link to itself: ELOOP
    found, cov = _scan(tmp_path)
    assert [Path(p).name for p in found] == ["session.wav"]
    reasons = {(Path(g.location).name, g.reason) for g in cov.gaps}
    assert ("up", "symlink-not-followed") in reasons
    assert cov.complete  # links deliberately not followed are listed, but are no hole

    found, cov = _scan(tmp_path, follow_symlinks=True)
    assert [Path(p).name for p in found] == ["session.wav"]  # not found again through the loop
    reasons = {(Path(g.location).name, g.reason) for g in cov.gaps}
    assert ("up", "symlink-loop") in reasons
    assert ("self", "symlink-loop") in reasons
    assert not cov.complete


def test_follow_symlinks_reaches_linked_folders(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    place(outside, "linked.wav", "session.wav")
    (tmp_path / "tree").mkdir()
    os.symlink(outside, tmp_path / "tree" / "link")
    assert _scan(tmp_path / "tree")[0] == []
    found, _ = _scan(tmp_path / "tree", follow_symlinks=True)
    assert found == [str(tmp_path / "tree" / "link" / "linked.wav")]


def test_hostile_and_invalid_utf8_names(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">\n&\'.wav'
    place(tmp_path, hostile, "session.wav")
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9-\xff.m4a"  # Latin-1 bytes: not valid UTF-8
    shutil.copyfile(MEDIA / "session.m4a", raw)
    data = scan_json(tmp_path, tmp_path, "--fail-on", "none")
    names = sorted(Path(r["location"]).name for r in data["recordings"])
    assert names == sorted([hostile, "caf\\xe9-\\xff.m4a"])
    # The JSON is valid UTF-8 and round-trips; nothing was dropped.
    text = (tmp_path / "result.json").read_text(encoding="utf-8")
    skipped = json.loads(text)["coverage"]["skipped"]
    assert [g["reason"] for g in skipped] == ["consent-not-checked"]  # no registry given; no file skipped


def test_exclude_globs(tmp_path: Path) -> None:
    place(tmp_path, "keep/a.wav", "session.wav")
    place(tmp_path, "node_modules/b.wav", "session.wav")
    place(tmp_path, "keep/c.tmp.wav", "session.wav")
    found, cov = _scan(tmp_path, excludes=["node_modules", "*.tmp.wav"])
    assert [Path(p).name for p in found] == ["a.wav"]
    assert cov.excluded == 2


def test_file_vanishing_mid_scan_is_a_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    place(tmp_path, "stays.wav", "session.wav")
    doomed = place(tmp_path, "goes.wav", "session.wav")
    real_open = local_examiner.open_readonly

    def delete_then_open(path: str, **kw: bool):  # type: ignore[no-untyped-def]
        if path == str(doomed):
            os.unlink(doomed)  # the file really disappears between listing and opening
        return real_open(path, **kw)

    monkeypatch.setattr(local_examiner, "open_readonly", delete_then_open)
    found, cov = _scan(tmp_path)
    assert [Path(p).name for p in found] == ["stays.wav"]
    assert [(Path(g.location).name, g.reason) for g in cov.gaps] == [("goes.wav", "vanished")]
    assert not cov.complete


def _scan_as_nobody(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Scan in a forked child that dropped root: permission bits only bite an unprivileged user.
    (Forked rather than exec'd: the interpreter may live where that user cannot read.)"""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            found, cov = _scan(root)
            payload = json.dumps([found, [(g.location, g.reason) for g in cov.gaps]]).encode()
            os.write(write_end, payload)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    found, gaps = json.loads(b"".join(chunks))
    return found, [tuple(g) for g in gaps]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_permission_denied_places_are_gaps_and_scan_goes_on() -> None:
    root = Path(tempfile.mkdtemp(prefix="auditor-perm-"))
    try:
        root.chmod(0o755)
        place(root, "open/a.wav", "session.wav", mode=0o644)
        place(root, "locked/b.wav", "session.wav", mode=0o644)
        place(root, "open/unreadable.wav", "session.wav", mode=0o600)
        (root / "open").chmod(0o755)
        (root / "locked").chmod(0o700)
        found, gaps = _scan_as_nobody(root)
        assert [Path(p).name for p in found] == ["a.wav"]
        named = {(Path(loc).name, reason) for loc, reason in gaps}
        assert ("locked", "permission-denied") in named
        assert ("unreadable.wav", "permission-denied") in named
    finally:
        shutil.rmtree(root)


def _hash_noatime(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))  # the check itself must not touch atime
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    finally:
        os.close(fd)


def _tree_state(root: Path) -> dict[str, tuple[object, ...]]:
    """Content, mode, owner, size, mtime and atime of everything below root, read without touching atimes."""
    state: dict[str, tuple[object, ...]] = {}
    stack = [root]
    while stack:
        directory = stack.pop()
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOATIME", 0))
        try:
            entries = list(os.scandir(fd))
        finally:
            os.close(fd)
        for entry in entries:
            p = directory / entry.name
            st = p.lstat()
            content = _hash_noatime(p) if stat.S_ISREG(st.st_mode) else None
            state[str(p)] = (content, st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, st.st_atime_ns)
            if stat.S_ISDIR(st.st_mode):
                stack.append(p)
    return state


def test_scan_is_read_only_and_leaves_atime_alone(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for i, fixture in enumerate(
        ["session.wav", "session.m4a", "session-dated.mp4", "session.m4a.gpg", "noise.bin"]
    ):
        p = place(tree, f"d{i}/rec{i}{Path(fixture).suffix}", fixture)
        (p.parent / (p.name + ".meta.yaml")).write_text("client: C-1\nsession_date: 2026-11-01\n")
        # atime older than mtime: on a relatime mount a plain read would update it; O_NOATIME must not.
        st = p.stat()
        os.utime(p, ns=(st.st_mtime_ns - 86_400 * 10**9, st.st_mtime_ns))
    before = _tree_state(tree)
    os.sync()
    data = scan_json(tmp_path, tree, "--fail-on", "none")
    assert len(data["recordings"]) == 4
    assert _tree_state(tree) == before
    assert not list(tree.rglob("*.tmp"))


def test_reads_at_most_8_kib_per_candidate(tmp_path: Path) -> None:
    for fixture in [
        "session-dated.mp4",
        "session-dated.wav",
        "session-dated.mkv",
        "session.mp3",
        "session.mov",
    ]:
        place(tmp_path, f"big/{fixture}", fixture)
        # make the file much larger than what we may read
        with open(tmp_path / "big" / fixture, "ab") as fh:
            fh.write(b"\0" * 200_000)
    _, cov = _scan(tmp_path)
    assert cov.candidates == 5
    assert cov.bytes_read <= 8192 * cov.candidates


def test_parallel_walk_finds_exactly_what_a_single_process_finds(tmp_path: Path) -> None:
    # Wide enough that the breadth-first frontier is shared out to forked workers.
    for i in range(300):
        folder = tmp_path / f"client-{i:03d}" / "sessions"
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text("n")
        if i % 7 == 0:
            place(folder.parent, f"sessions/rec-{i}.dat", "session.wav")
        if i % 50 == 0:
            os.mkfifo(folder / "pipe")
    place(tmp_path, "top.m4a", "session.m4a")
    single, cov1 = _scan(tmp_path, jobs=1)
    parallel, cov2 = _scan(tmp_path, jobs=2)
    assert parallel == single
    assert len(single) == 44
    for field in ("files_seen", "dirs_seen", "candidates", "recordings", "bytes_read"):
        assert getattr(cov2, field) == getattr(cov1, field), field
    assert sorted(g.location for g in cov2.gaps) == sorted(g.location for g in cov1.gaps)
    assert len(cov2.gaps) == 6  # the FIFOs, found by workers and merged back


# -- filesystem boundaries -------------------------------------------------------------------------

LINUX_PROC = pytest.mark.skipif(
    not os.path.isfile("/proc/self/mountinfo"), reason="needs Linux /proc for real pseudo filesystems"
)


@LINUX_PROC
def test_pseudo_filesystems_are_never_walked_even_through_followed_links(tmp_path: Path) -> None:
    place(tmp_path, "rec/session.wav", "session.wav")
    (tmp_path / "proc").symlink_to("/proc")
    (tmp_path / "sys").symlink_to("/sys")
    found, cov = _scan(tmp_path, follow_symlinks=True)
    assert [Path(p).name for p in found] == ["session.wav"]
    pseudo = {Path(g.location).name: g.detail for g in cov.gaps if g.reason == "pseudo-filesystem"}
    assert set(pseudo) == {"proc", "sys"}
    assert pseudo["proc"].startswith("proc filesystem")
    assert cov.files_seen == 1  # not one file of /proc or /sys was listed
    assert cov.complete  # left out by design, not a hole in the audit


@LINUX_PROC
def test_a_pseudo_filesystem_given_as_target_is_not_read(tmp_path: Path) -> None:
    result = scan_json(tmp_path, "/proc/self", "--fail-on", "none", expect=0)
    assert result["coverage"]["files_seen"] == 0 and result["coverage"]["candidates"] == 0
    gaps = [(g["location"], g["reason"]) for g in result["coverage"]["skipped"]]
    assert ("/proc/self", "pseudo-filesystem") in gaps


@pytest.fixture
def tmpfs_inside(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs mounted inside the practice tree: another filesystem at a mount point."""
    mount_point = tmp_path / "practice" / "mounted"
    mount_point.mkdir(parents=True)
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_one_file_system_stops_at_mount_points_and_says_where(
    tmpfs_inside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_source, "FRONTIER_PER_JOB", 1)  # so that jobs=2 forks even for this tree
    practice = tmpfs_inside.parent
    place(practice, "here/session.wav", "session.wav")
    place(tmpfs_inside, "there/session.m4a", "session.m4a")
    everywhere, _ = _scan(practice)
    assert sorted(Path(p).name for p in everywhere) == ["session.m4a", "session.wav"]
    for jobs in (1, 2):
        found, cov = _scan(practice, one_file_system=True, jobs=jobs)
        assert [Path(p).name for p in found] == ["session.wav"]
        crossings = [(g.location, g.reason, g.detail) for g in cov.gaps]
        assert crossings == [
            (str(tmpfs_inside), "other-filesystem", "a tmpfs filesystem is mounted here; --one-file-system")
        ]
        assert cov.complete
    # Given as a target itself, the mounted filesystem is walked: the boundary is the target's own.
    inside, _ = _scan(tmpfs_inside, one_file_system=True)
    assert [Path(p).name for p in inside] == ["session.m4a"]


def test_one_file_system_on_the_command_line(tmpfs_inside: Path, tmp_path: Path) -> None:
    place(tmpfs_inside, "session.wav", "session.wav")
    result = scan_json(tmp_path, tmpfs_inside.parent, "-x", "--fail-on", "none", expect=0)
    assert result["recordings"] == []
    assert [g["reason"] for g in result["coverage"]["skipped"]].count("other-filesystem") == 1


def test_filesystem_types_come_from_the_mount_table(tmp_path: Path) -> None:
    from auditor.localfs.filesystems import FilesystemTypes

    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "40 27 254:0 /srv /mnt/bind rw - ext4 /dev/vda rw\n"
        "not a mountinfo line\n"
    )
    types = FilesystemTypes(mountinfo)
    assert types.type_of(os.makedev(0, 21)) == "proc"
    assert types.type_of(os.makedev(254, 0)) == "ext4"
    assert types.type_of(os.makedev(8, 1)) is None
    assert FilesystemTypes(tmp_path / "missing").type_of(os.makedev(0, 21)) is None


def test_scan_works_where_posix_only_modules_and_fd_listing_are_missing(tmp_path: Path) -> None:
    """As on Windows: no fcntl, grp or pwd, and folders listed by path rather than by fd."""
    place(tmp_path, "practice/a/session.wav", "session.wav")
    out = tmp_path / "r.json"
    code = (
        "import os, sys\n"
        "for name in ('fcntl', 'grp', 'pwd'):\n"
        "    sys.modules[name] = None\n"
        "os.supports_fd.discard(os.scandir)\n"
        "from auditor.cli import main\n"
        "from auditor.sources.local import walker\n"
        "assert not walker._LIST_BY_FD\n"
        f"sys.argv = ['auditor', 'scan', '-q', {str(tmp_path / 'practice')!r}, '-o', {str(out)!r}, "
        "'--fail-on', 'none']\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    result = json.loads(out.read_text())
    assert [Path(r["location"]).name for r in result["recordings"]] == ["session.wav"]
    assert result["recordings"][0]["format"] == "wav"


def test_key_material_beside_an_encrypted_recording_is_found_and_each_file_read_once(tmp_path: Path) -> None:
    from auditor.classify import HEAD_BYTES

    place(tmp_path, "s.m4a.gpg", "session.m4a.gpg")
    place(tmp_path, "secring", "pgp-private-key.asc")  # sniffed (no extension): key material
    place(tmp_path, "client.pem", "pem-private-key.pem")  # sniffed: key material
    place(tmp_path, "age-identity.txt", "age-identity.txt")  # settled by name, read for the key check
    (tmp_path / "private.pem").write_text("not a key, just a note\n")  # sniffed, key-like name, no key
    (tmp_path / "notes.txt").write_text("a note")  # neither sniffed nor key-like: never opened
    coverage = Coverage()
    [artifact] = LocalSource(Config(), SourceOptions()).scan(str(tmp_path), coverage)
    assert artifact.facts["keys_beside"] == ["age-identity.txt", "client.pem", "secring"]
    read = ["s.m4a.gpg", "secring", "client.pem", "age-identity.txt", "private.pem"]
    assert coverage.bytes_read == sum(min((tmp_path / n).stat().st_size, HEAD_BYTES) for n in read)


def _wide_tree(root: Path) -> None:
    """300 client folders: wide enough that an explicit --jobs 2 forks at once."""
    for i in range(300):
        folder = root / f"client-{i:03d}" / "sessions"
        folder.mkdir(parents=True)
        (folder / "notes.txt").write_text("n")
        if i % 7 == 0:
            place(folder.parent, f"sessions/rec-{i}.dat", "session.wav")


def _counting_forks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import multiprocessing

    started: list[str] = []
    real = multiprocessing.get_context

    def spy(method: str | None = None):  # type: ignore[no-untyped-def]
        started.append(str(method))
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", spy)
    return started


def test_forking_waits_until_the_tree_is_big_enough_unless_jobs_is_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wide_tree(tmp_path)
    forks = _counting_forks(monkeypatch)
    single, cov1 = _scan(tmp_path, jobs=1)
    assert forks == []
    forced, cov2 = _scan(tmp_path, jobs=2)  # fork_after=0: an explicit --jobs 2
    assert forks == ["fork"]
    small, cov3 = _scan(tmp_path, jobs=2, fork_after=10_000)  # the tree ends before the threshold
    assert forks == ["fork"]  # no new pool
    late, cov4 = _scan(tmp_path, jobs=2, fork_after=50)  # forks once 50 files are listed
    assert forks == ["fork", "fork"]
    assert single == forced == small == late
    assert len(single) == 43
    for cov in (cov2, cov3, cov4):
        for field in ("files_seen", "dirs_seen", "candidates", "recordings", "bytes_read"):
            assert getattr(cov, field) == getattr(cov1, field), field


def _cli_scan(tmp_path: Path, name: str, *options: str) -> dict[str, Any]:
    """`auditor scan -q TREE` (tmp_path/tree) in-process, its JSON result as `name`.json, read back."""
    from tests.conftest import run_cli

    report = tmp_path / f"{name}.json"
    res = run_cli("scan", "-q", *options, tmp_path / "tree", "-o", report, "--fail-on", "none")
    assert res.exit_code == 0, res.output
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_the_scans_default_jobs_fork_only_past_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wide_tree(tmp_path / "tree")
    forks = _counting_forks(monkeypatch)
    auto = _cli_scan(tmp_path, "auto")
    assert forks == []  # 343 files: far below AUTO_FORK_AFTER, one process
    forced = _cli_scan(tmp_path, "forced", "-j", "2")
    assert forks == ["fork"]
    assert sorted(r["location"] for r in auto["recordings"]) == sorted(
        r["location"] for r in forced["recordings"]
    )


def test_the_scans_default_forks_once_the_tree_passes_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --jobs the scan forks once the walk has listed AUTO_FORK_AFTER files (lowered here
    to 100 for a 343-file tree): the same recordings as one process."""
    from auditor.cli import scan as scan_command

    _wide_tree(tmp_path / "tree")
    monkeypatch.setattr(scan_command, "AUTO_FORK_AFTER", 100)
    monkeypatch.setattr(scan_command, "default_jobs", lambda: 2)  # a frontier of 128 folders is enough
    forks = _counting_forks(monkeypatch)
    auto = _cli_scan(tmp_path, "auto")
    assert forks == ["fork"]
    one = _cli_scan(tmp_path, "one", "-j", "1")
    assert forks == ["fork"]
    # The same JSON, in the same order: recordings, findings and gaps.
    assert [r["location"] for r in auto["recordings"]] == [r["location"] for r in one["recordings"]]
    assert [f["fingerprint"] for f in auto["findings"]] == [f["fingerprint"] for f in one["findings"]]
    assert auto["coverage"]["skipped"] == one["coverage"]["skipped"]
    assert len(auto["recordings"]) == 43
    assert auto["coverage"]["files_seen"] == one["coverage"]["files_seen"] == 300 + 43


def _layered_tree(root: Path) -> None:
    """Recordings and special files (gaps) at every level of a tree three folders deep, so that
    the parallel walk's parent lists the top two levels and the workers the rest."""
    place(root, "top.m4a", "session.m4a")
    os.mkfifo(root / "top-pipe")
    for i in range(6):
        upper = root / f"area-{i}"
        place(upper, f"area-{i}.dat", "session.wav")
        os.mkfifo(upper / "pipe")
        for j in range(30):
            middle = upper / f"client-{j:02d}"
            (middle / "sessions").mkdir(parents=True)
            (middle / "notes.txt").write_text("n")
            if (i + j) % 4 == 0:
                place(middle, f"sessions/rec-{i}-{j}.dat", "session.wav")
            if (i * j) % 11 == 1:
                place(middle, f"intake-{i}-{j}.m4a", "session.m4a")
            if (i + j) % 9 == 0:
                os.mkfifo(middle / "sessions" / "pipe")


def _scan_in_order(root: Path, **opts: object) -> tuple[list[str], list[tuple[str, str]], Coverage]:
    """The recordings and the gaps as the scan gives them, unsorted."""
    coverage = Coverage()
    source = LocalSource(Config(), SourceOptions(**opts))  # type: ignore[arg-type]
    found = [a.location for a in source.scan(str(root), coverage)]
    return found, [(g.location, g.reason) for g in coverage.gaps], coverage


@pytest.mark.parametrize(
    "opts",
    [
        {"jobs": 2},  # forks at once: the parent lists the root and the areas, the workers the rest
        {"jobs": 3},
        {"jobs": 2, "fork_after": 100},  # the default's path: forks once 100 files are listed
        {"jobs": 2, "fork_after": 10**9},  # the default's path on a tree too small to fork
    ],
)
def test_the_parallel_walk_gives_the_one_process_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opts: dict[str, int]
) -> None:
    """Whatever --jobs (and so however many CPUs the default counts), recordings and gaps come out
    in the order of `-j 1`, whose walk is depth first: not breadth first down to where the
    workers took over."""
    _layered_tree(tmp_path)
    monkeypatch.setattr(local_source, "FRONTIER_PER_JOB", 20)  # so that this tree forks
    forks = _counting_forks(monkeypatch)
    single, single_gaps, cov1 = _scan_in_order(tmp_path, jobs=1)
    found, gaps, cov2 = _scan_in_order(tmp_path, **opts)
    assert forks == ([] if opts.get("fork_after") == 10**9 else ["fork"])
    assert len(single) == 1 + 6 + 45 + 14 and len(single_gaps) == 1 + 6 + 19
    assert found == single
    assert gaps == single_gaps
    for field in ("files_seen", "dirs_seen", "candidates", "recordings", "bytes_read"):
        assert getattr(cov2, field) == getattr(cov1, field), field


@pytest.mark.parametrize(
    "opts",
    [
        {"jobs": 1},
        {"jobs": 2, "fork_after": 10**9},  # the default's path, on a tree too small to fork
        {"jobs": 2, "fork_after": 50},  # the parent notes it first, then the workers fork
        {"jobs": 2, "fork_after": 0},  # each worker notes it on its own
    ],
)
def test_a_setting_the_exposure_probe_cannot_read_is_one_gap_however_many_processes(
    monkeypatch: pytest.MonkeyPatch, opts: dict[str, int]
) -> None:
    """The machine's accounts could not be listed: one coverage gap, not one per worker process
    (each would note it, or report the note it inherited from the parent at the fork)."""
    from auditor.localfs import accounts

    def unreadable(self: accounts.HumanAccounts, _uid: int) -> None:
        self.problem = "cannot read /etc/passwd (test)"

    monkeypatch.setattr(accounts.HumanAccounts, "others_than", unreadable)
    base = Path(tempfile.mkdtemp(prefix="notes-once-"))  # world-readable recordings need o+x above
    try:
        os.chmod(base, 0o755)
        if not all(os.stat(a).st_mode & 0o001 for a in [base, *base.parents]):
            pytest.skip(f"the temp dir {base.parent} is not traversable by others")
        _wide_tree(base)
        for recording in base.glob("*/sessions/rec-*"):
            recording.chmod(0o644)  # readable by any local user: who they are is then asked
        found, coverage = _scan(base, **opts)
    finally:
        shutil.rmtree(base)
    assert len(found) == 43
    notes = [g for g in coverage.gaps if g.reason == local_examiner.PROBE_NOTE]
    assert len(notes) == 1, notes
    assert "cannot read /etc/passwd (test)" in notes[0].detail


# Set before the fork, read in the workers: which folder's chunk kills its worker, and the marker
# file that says it already did once.
_DOOMED: dict[str, str] = {}


def _dying_chunk(folders: list[str]) -> tuple[list[Any], Coverage]:
    """local_source._walk_chunk, except that the worker walking the doomed folder is killed (as the
    OOM killer would): every time, or only the first time when a marker file is named."""
    doomed, marker = _DOOMED["folder"], _DOOMED.get("once")
    if doomed in folders and not (marker and os.path.exists(marker)):
        if marker:
            Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_WALK_CHUNK(folders)


_REAL_WALK_CHUNK = local_source._walk_chunk


@contextlib.contextmanager
def _no_hang(seconds: int) -> Iterator[None]:
    def hung(_signum: int, _frame: object) -> None:
        raise AssertionError(f"the scan still waits after {seconds} s: a result that will not come")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_worker_killed_mid_walk_has_its_chunk_walked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """multiprocessing.Pool replaces a worker that dies and waits for ever on the chunk it held: the
    scan would hang. The chunks not yet done are walked again in fresh workers: the same scan."""
    _wide_tree(tmp_path / "tree")
    single, _, cov1 = _scan_in_order(tmp_path / "tree", jobs=1)
    monkeypatch.setitem(_DOOMED, "folder", str(tmp_path / "tree" / "client-150"))
    monkeypatch.setitem(_DOOMED, "once", str(tmp_path / "killed-once"))
    monkeypatch.setattr(local_source, "_walk_chunk", _dying_chunk)
    with _no_hang(60):
        forked, _, cov2 = _scan_in_order(tmp_path / "tree", jobs=2)
    assert (tmp_path / "killed-once").exists()  # a worker did die
    assert forked == single and len(forked) == 43  # in the same order too
    for field in ("files_seen", "dirs_seen", "candidates", "recordings", "bytes_read"):
        assert getattr(cov2, field) == getattr(cov1, field), field
    assert not [g for g in cov2.gaps if g.reason == "scan-error"]


def test_a_chunk_whose_workers_die_twice_is_a_gap_folder_by_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed again in the fresh workers: the scan ends, and every folder whose results did not
    come back is a scan-error gap; what did come back is kept."""
    _wide_tree(tmp_path / "tree")
    doomed = str(tmp_path / "tree" / "client-150")
    monkeypatch.setitem(_DOOMED, "folder", doomed)
    monkeypatch.setattr(local_source, "_walk_chunk", _dying_chunk)
    with _no_hang(60):
        found, coverage = _scan(tmp_path / "tree", jobs=2)
    lost = {g.location for g in coverage.gaps if g.reason == "scan-error"}
    assert doomed in lost
    assert all("ended abruptly twice" in g.detail for g in coverage.gaps if g.reason == "scan-error")
    # Every client folder is either walked (its recording found, when it has one) or named as lost.
    for i in range(0, 300, 7):
        folder = str(tmp_path / "tree" / f"client-{i:03d}")
        recording = f"{folder}/sessions/rec-{i}.dat"
        assert (recording in found) != (folder in lost), folder
    assert 0 < len(found) < 43


@pytest.mark.parametrize(
    ("cpus", "jobs", "warm", "cold"), [(1, 2, 2, 4), (2, 4, 2, 8), (3, 6, 3, 8), (4, 8, 4, 8), (64, 8, 8, 8)]
)
def test_the_default_jobs_are_one_two_or_four_per_usable_cpu(
    monkeypatch: pytest.MonkeyPatch, cpus: int, jobs: int, warm: int, cold: int
) -> None:
    """The CPUs this process may run on (its affinity: a container's or taskset's), not the
    machine's 128: a warm disk gets one process per CPU, a cold one four, one that cannot say two."""
    from auditor.sources.local.source import default_cold_jobs, default_jobs, default_warm_jobs

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 128)
    assert default_jobs() == jobs
    assert default_warm_jobs() == warm
    assert default_cold_jobs() == cold


def _evicted(paths: list[Path], sentinel: Path) -> bool:
    """Drop the files' pages from the page cache (written back first, then POSIX_FADV_DONTNEED);
    False where the filesystem keeps them anyway (tmpfs keeps its files in memory), as `sentinel`,
    evicted the same way and then asked for, shows. (Not one of `paths`: asking starts readahead.)"""
    sentinel.write_bytes(b"x" * 4096)
    for path in [*paths, sentinel]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    fd = os.open(sentinel, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(16)], 0, os.RWF_NOWAIT)
        return False  # still cached
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="needs preadv(RWF_NOWAIT) (Linux)")
def test_the_default_forks_one_worker_per_cpu_on_a_warm_disk_and_more_on_a_cold_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heads read before the fork say how warm the disk is: found in the page cache, one
    worker per CPU (more would only share the CPUs out); read from the disk, more (more reads in
    flight); a filesystem that cannot say, the count in between. The same scan every way; an
    explicit --jobs is never second-guessed."""
    import multiprocessing

    heads = []
    for i in range(40):  # what the parent reads before the fork: two extension-less files each
        for n in (1, 2):
            heads.append(place(tmp_path / f"client-{i:02d}", f"take-{n}", "session.wav"))
        (tmp_path / f"client-{i:02d}" / "sessions").mkdir()
        (tmp_path / f"client-{i:02d}" / "sessions" / "notes.txt").write_text("n")
    pools: list[int] = []
    real = multiprocessing.get_context

    class Spy:
        def __init__(self, method: str) -> None:
            self.context = real(method)

        def Pool(self, processes: int, **kw: Any) -> Any:  # multiprocessing's name
            pools.append(processes)
            return self.context.Pool(processes, **kw)

    monkeypatch.setattr(multiprocessing, "get_context", Spy)
    monkeypatch.setattr(local_source, "FRONTIER_PER_JOB", 5)  # 40 folders are enough to share out

    def scan(**opts: Any) -> tuple[list[str], LocalSource]:
        source = LocalSource(Config(), SourceOptions(jobs=4, fork_after=60, **opts))
        return [a.location for a in source.scan(str(tmp_path), Coverage())], source

    adaptive = {"jobs_when_warm": 2, "jobs_when_cold": 6}
    warm, source = scan(**adaptive)
    assert source.examiner.heads_cached >= 16  # just written: in the page cache
    assert pools == [2]
    if not _evicted(heads, tmp_path.parent / f"{tmp_path.name}-sentinel"):
        pytest.skip("this filesystem keeps every file in memory (tmpfs): nothing to evict")
    cold, source = scan(**adaptive)
    # (Most, not all: the kernel may bring a neighbour back by readahead, or keep a busy page.)
    assert (
        source.examiner.heads_uncached >= 16 and source.examiner.heads_uncached > source.examiner.heads_cached
    )
    assert pools == [2, 6]
    assert cold == warm and len(warm) == 80
    _evicted(heads, tmp_path.parent / f"{tmp_path.name}-sentinel")
    forced, _ = scan()  # --jobs 4: no jobs_when_warm nor jobs_when_cold
    assert pools == [2, 6, 4] and forced == warm

    def refusing(*_args: object) -> int:  # tmpfs, some network and FUSE filesystems
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "preadv", refusing)
    unknown, source = scan(**adaptive)
    assert source.examiner.heads_cached == source.examiner.heads_uncached == 0
    assert pools == [2, 6, 4, 4] and unknown == warm


def test_the_default_jobs_fall_back_to_the_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.sources.local.source import default_jobs

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # macOS, Windows
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert default_jobs() == 2
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: as for one
    assert default_jobs() == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert default_jobs() == 6


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through /proc")
def test_heads_asked_for_ahead_give_the_same_scan_and_leave_no_fd_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder's candidates are opened in batches with their heads requested at once
    (POSIX_FADV_WILLNEED), which a cold disk serves in parallel: the same recordings and gaps, in
    the same order, as one file at a time; every descriptor closed, a bug mid-batch included."""
    fixtures = ["session.wav", "session.m4a", "session.ogg", "noise.bin", "session.flac"]
    files = 2 * local_examiner.PREFETCH_BATCH + 5
    for n in range(files):  # three batches, extension-less: all sniffed
        place(tmp_path, f"clinic/file-{n:03d}", fixtures[n % len(fixtures)])
    doomed = str(tmp_path / "clinic" / "file-040")
    real_open = local_examiner.open_readonly

    def vanishing(path: str, **kw: bool):  # type: ignore[no-untyped-def]
        if path == doomed:
            raise FileNotFoundError(2, "No such file or directory", path)
        return real_open(path, **kw)

    monkeypatch.setattr(local_examiner, "open_readonly", vanishing)
    gc.collect()  # an earlier test's process pool closes its pipes only when it is collected
    before = _open_fds()
    ahead, ahead_cov = _scan(tmp_path, jobs=1)
    assert _open_fds() == before
    monkeypatch.setattr(local_examiner, "_WILLNEED", None)  # one at a time, as before
    one_by_one, one_cov = _scan(tmp_path, jobs=1)
    recordings = [n for n in range(files) if fixtures[n % len(fixtures)] != "noise.bin" and n != 40]
    assert ahead == one_by_one == [str(tmp_path / "clinic" / f"file-{n:03d}") for n in recordings]
    assert [(g.location, g.reason) for g in ahead_cov.gaps] == [(g.location, g.reason) for g in one_cov.gaps]
    assert [Path(g.location).name for g in ahead_cov.gaps] == ["file-040"]
    assert ahead_cov.bytes_read == one_cov.bytes_read and ahead_cov.candidates == one_cov.candidates

    monkeypatch.setattr(local_examiner, "_WILLNEED", os.POSIX_FADV_WILLNEED)
    calls = []
    real_classify = local_examiner.classify

    def failing(*args: object, **kw: object):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("a bug in a classifier")
        return real_classify(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(local_examiner, "classify", failing)
    with pytest.raises(RuntimeError):
        _scan(tmp_path, jobs=1)
    assert _open_fds() == before  # the rest of the batch closed too


@pytest.mark.parametrize(("error", "asked_again"), [(95, False), (5, True)])  # EOPNOTSUPP, EIO
def test_a_filesystem_that_cannot_say_what_is_cached_is_read_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, asked_again: bool
) -> None:
    """preadv(RWF_NOWAIT) refused (an older kernel, a filesystem without it) or failing: the heads
    are read the plain way, the same scan; only "not supported" stops the asking."""
    for n in range(6):
        place(tmp_path / "clinic", f"take-{n}", "session.wav")
    expected, _ = _scan(tmp_path, jobs=1)
    calls: list[int] = []

    def refusing(*_args: object) -> int:
        calls.append(1)
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, "preadv", refusing)
    source = LocalSource(Config(), SourceOptions(jobs=1))
    coverage = Coverage()
    found = sorted(a.location for a in source.scan(str(tmp_path), coverage))
    assert found == expected and len(found) == 6 and not coverage.gaps
    assert source.examiner.heads_cached == source.examiner.heads_uncached == 0
    assert len(calls) == (6 if asked_again else 1)
