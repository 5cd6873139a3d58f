"""The local-disk source: walk folders robustly and turn recordings into artifacts with facts.

The walk streams: one directory's entries at a time, never the whole tree. Only files whose
name leaves it open (see auditor.classify.needs_sniff) are opened, read-only, for a few KiB.
Every place that cannot be examined becomes a coverage gap with its reason.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import multiprocessing
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from auditor.attribution import SIDECAR_MAX_BYTES, SidecarError, attribute, parse_sidecar
from auditor.classify import HEAD_BYTES, Classification, classify, embedded_created, needs_sniff
from auditor.classify.names import NO_SNIFF_EXTENSIONS
from auditor.config import Config
from auditor.localfs.exposure import ExposureProbe
from auditor.localfs.filesystems import PSEUDO_FILESYSTEMS, FilesystemTypes
from auditor.localfs.volumes import VolumeProbe
from auditor.localfs.volumes_common import RealDirs
from auditor.models import Artifact, Attribution, Coverage, Gap
from auditor.sources.base import SourceOptions
from auditor.sources.reader import FdRangeReader, NotRegularFile, open_dir_readonly, open_readonly

EMBEDDED_DATE_BUDGET = 4096  # with HEAD_BYTES this keeps every candidate within 8 KiB
# Siblings worth a look when an encrypted recording sits in a folder: is its key right beside it?
_KEY_NAME = re.compile(r"(\.key|\.pem|identity|secret|private|secring|keys?\.txt)$|^\.?age", re.IGNORECASE)


def display_path(path: str) -> str:
    """A printable, JSON-safe form of a path: bytes that are not UTF-8 show as \\xNN."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _gap_for(exc: OSError) -> str:
    if isinstance(exc, NotRegularFile):
        return "special-file"
    if isinstance(exc, PermissionError):
        return "permission-denied"
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "vanished"
    if exc.errno == errno.ELOOP:
        return "symlink-loop"
    return "os-error"


def _name_leaves_it_open(name: str) -> bool:
    """needs_sniff() for a bare file name; its common case inline, as it runs once per file walked."""
    dot = name.rfind(".")
    if dot <= 0 or "\\" in name:
        return needs_sniff(name)
    return name[dot + 1 :].lower() not in NO_SNIFF_EXTENSIONS


class _FolderNames:
    """A folder's entry names as a set, built on first lookup: only folders with a recording need it
    (to look for sidecars), and building a set for each of thousands of folders is not free."""

    __slots__ = ("_entries", "_names")

    def __init__(self, entries: list[os.DirEntry[str]]) -> None:
        self._entries = entries
        self._names: set[str] | None = None

    def __contains__(self, name: object) -> bool:
        if self._names is None:
            self._names = {e.name for e in self._entries}
        return name in self._names


@dataclass
class _Sniffed:
    name: str
    path: str
    relpath: str
    cls: Classification
    artifact: Artifact | None  # set for recordings


class LocalSource:
    def __init__(self, config: Config, options: SourceOptions) -> None:
        self.config = config
        self.options = options
        real_dirs = RealDirs()  # both probes resolve each folder's real path: do it once
        self.volumes = VolumeProbe(trusted_volumes=config.encryption.trusted_volumes, real_dirs=real_dirs)
        self.exposure = ExposureProbe(
            sync_folders=config.exposure.sync_folders,
            web_roots=config.exposure.web_roots,
            network_shares=config.exposure.network_shares,
            broad_groups=config.exposure.broad_groups,
            authorised_readers=config.exposure.authorised_readers,
            real_dirs=real_dirs,
        )
        self._exclude = (
            re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in options.excludes))
            if options.excludes
            else None
        )
        self._filesystems = FilesystemTypes()
        self._root_dev = -1  # device of the target being walked; set by scan()
        self._crossings: dict[int, tuple[str, str] | None] = {}  # device -> (gap reason, detail) or None

    # -- walking -------------------------------------------------------------------------------

    def scan(self, target: str, coverage: Coverage) -> Iterator[Artifact]:
        root = os.path.abspath(target)
        try:
            st = os.stat(root) if self.options.follow_symlinks else os.lstat(root)
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(root), _gap_for(exc), exc.strerror or str(exc)))
            return
        self._root_dev = st.st_dev
        if stat.S_ISLNK(st.st_mode):  # a link given as the target: its destination is what gets read
            with contextlib.suppress(OSError):
                self._root_dev = os.stat(root).st_dev
        fstype = self._filesystems.type_of(self._root_dev)
        if fstype in PSEUDO_FILESYSTEMS:  # even as a target: reading kernel state is not discreet
            coverage.gaps.append(Gap(display_path(root), "pseudo-filesystem", _pseudo_detail(fstype)))
            return
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and os.path.isdir(root)):
            yield from self._walk(root, coverage)
        else:
            yield from self.examine_file(root, coverage)
        self._report_probe_notes(coverage)

    def _crossing(self, directory: str, st_dev: int) -> Gap | None:
        """A folder on another filesystem than the target's: a pseudo filesystem is never walked,
        and with --one-file-system no other filesystem is. The answer is kept per device."""
        if st_dev not in self._crossings:
            fstype = self._filesystems.type_of(st_dev)
            if fstype in PSEUDO_FILESYSTEMS:
                self._crossings[st_dev] = ("pseudo-filesystem", _pseudo_detail(fstype))
            elif self.options.one_file_system:
                what = f"a {fstype} filesystem" if fstype else "another filesystem"
                self._crossings[st_dev] = ("other-filesystem", f"{what} is mounted here; --one-file-system")
            else:
                self._crossings[st_dev] = None
        crossing = self._crossings[st_dev]
        return Gap(display_path(directory), *crossing) if crossing else None

    def _report_probe_notes(self, coverage: Coverage) -> None:
        """Settings the exposure probe could not read (smb.conf, sync-client files, ancestors) are holes too."""
        while self.exposure.notes:
            note = self.exposure.notes.pop(0)
            coverage.gaps.append(Gap("exposure checks", "exposure-check-incomplete", note))

    def examine_file(self, path: str, coverage: Coverage, root: str | None = None) -> Iterator[Artifact]:
        """One file on its own (a file target, or a watch event under `root`): the same checks as in a walk."""
        parent, name = os.path.split(os.path.abspath(path))
        yield from self.examine_files(parent, [name], coverage, root=root)

    def examine_files(
        self, directory: str, names: list[str], coverage: Coverage, root: str | None = None
    ) -> Iterator[Artifact]:
        """Some files of one folder (watch events, a file target), with the walk's checks; the folder is
        listed once, for their sidecars and for key material lying beside encrypted ones."""
        directory = os.path.abspath(directory)
        coverage.files_seen += len(names)
        try:
            neighbours = set(os.listdir(directory))
        except OSError:
            neighbours = set(names)
        wanted = set(names)
        files = names + [n for n in neighbours if n not in wanted and _KEY_NAME.search(n)]
        root = root or directory
        rel_dir = os.path.relpath(directory, root)
        rel_prefix = "" if rel_dir == os.curdir else rel_dir + os.sep
        candidates = [n for n in names if n in neighbours]
        yield from self._examine_dir_files(
            directory, root, rel_prefix, candidates, files, neighbours, coverage
        )

    def _walk(self, root: str, coverage: Coverage) -> Iterator[Artifact]:
        visited: set[tuple[int, int]] = set()  # (dev, ino) of folders, to survive loops when following links
        if self.options.follow_symlinks:
            st = os.stat(root)
            visited.add((st.st_dev, st.st_ino))
        jobs = self.options.jobs
        # Links can join subtrees, so a walk that follows them stays in one process (one `visited`).
        if jobs > 1 and not self.options.follow_symlinks and _CAN_FORK:
            yield from self._walk_parallel(root, jobs, visited, coverage)
            return
        stack = [root]
        while stack:
            yield from self._visit(stack.pop(), root, stack.append, visited, coverage)

    def _walk_parallel(
        self, root: str, jobs: int, visited: set[tuple[int, int]], coverage: Coverage
    ) -> Iterator[Artifact]:
        """Breadth-first here until there are enough folders to share out, then forked workers
        walk those subtrees. A small tree never gets that wide and is walked here alone."""
        frontier: deque[str] = deque([root])
        while frontier and len(frontier) < FRONTIER_PER_JOB * jobs:
            yield from self._visit(frontier.popleft(), root, frontier.append, visited, coverage)
        if not frontier:
            return
        folders = list(frontier)
        # Many small chunks, taken in order: balanced work, and a deterministic output order.
        size = max(1, len(folders) // (jobs * CHUNKS_PER_JOB))
        chunks = [folders[i : i + size] for i in range(0, len(folders), size)]
        global _FORKED
        _FORKED = (self, root)
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for artifacts, part in pool.imap(_walk_chunk, chunks):
                    coverage.merge(part)
                    if self.options.progress:
                        self.options.progress(coverage)
                    yield from artifacts
        finally:
            _FORKED = None

    def _visit(
        self,
        directory: str,
        root: str,
        push: Callable[[str], None],
        visited: set[tuple[int, int]],
        coverage: Coverage,
    ) -> Iterator[Artifact]:
        """List one folder: push its subfolders, examine its files. Runs once per folder of the tree,
        and its loop once per entry, so paths are built by concatenation, not path functions."""
        deep, exclude = self.options.deep, self._exclude
        coverage.dirs_seen += 1
        try:
            fd, st_dev = _open_dir(directory)
            try:
                # One integer comparison per folder; the mount table only at a mount point.
                crossing = self._crossing(directory, st_dev) if st_dev != self._root_dev else None
                entries = _list_dir(fd, directory) if crossing is None else []
            finally:
                if fd >= 0:
                    os.close(fd)
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(directory), _gap_for(exc), exc.strerror or str(exc)))
            return
        if crossing is not None:
            coverage.gaps.append(crossing)
            return
        base = _as_folder(directory)
        rel_prefix = base[len(_as_folder(root)) :]  # "" for the root itself
        files: list[str] = []
        for entry in entries:
            name = entry.name
            if exclude is not None and (exclude.match(name) or exclude.match(rel_prefix + name)):
                coverage.excluded += 1
                continue
            try:
                # Regular files first: they are most entries. The three tests exclude each other.
                if entry.is_file(follow_symlinks=False):
                    files.append(name)
                elif entry.is_dir(follow_symlinks=False):
                    push(base + name)
                elif entry.is_symlink():
                    self._symlink(base + name, visited, push, files, coverage)
                else:
                    coverage.gaps.append(Gap(display_path(base + name), "special-file", _kind(entry)))
            except OSError as exc:
                coverage.gaps.append(Gap(display_path(base + name), _gap_for(exc), exc.strerror or str(exc)))
        coverage.files_seen += len(files)
        candidates = files if deep else [n for n in files if _name_leaves_it_open(n)]
        if candidates:
            names = _FolderNames(entries)
            yield from self._examine_dir_files(
                directory, root, rel_prefix, candidates, files, names, coverage
            )
        if self.options.progress:  # once per folder; the callback itself throttles how often it prints
            self.options.progress(coverage)

    def _symlink(
        self,
        path: str,
        visited: set[tuple[int, int]],
        push: Callable[[str], None],
        files: list[str],
        coverage: Coverage,
    ) -> None:
        if not self.options.follow_symlinks:
            coverage.gaps.append(Gap(display_path(path), "symlink-not-followed", "use --follow-symlinks"))
            return
        try:
            st = os.stat(path)  # follows; ELOOP for a loop made of links
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(path), _gap_for(exc), exc.strerror or str(exc)))
            return
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in visited:
                coverage.gaps.append(Gap(display_path(path), "symlink-loop", "directory already visited"))
                return
            visited.add(key)
            push(path)
        elif stat.S_ISREG(st.st_mode):
            files.append(os.path.basename(path))
        else:
            coverage.gaps.append(Gap(display_path(path), "special-file", "link to a non-regular file"))

    # -- examining -----------------------------------------------------------------------------

    def _examine_dir_files(
        self,
        directory: str,
        root: str,
        rel_prefix: str,
        candidates: list[str],
        files: list[str],
        names: Container[str],
        coverage: Coverage,
    ) -> Iterator[Artifact]:
        """Sniff `candidates` (names in `directory`, whose relative path starts `rel_prefix`)."""
        base = _as_folder(directory)
        sniffed: list[_Sniffed] = []
        for name in candidates:
            item = self._examine(base + name, name, rel_prefix + name, root, names, coverage)
            if item is not None:
                sniffed.append(item)
        recordings = [s for s in sniffed if s.artifact is not None]
        if any(s.cls.kind == "encrypted" for s in recordings):
            self._note_keys_beside(directory, files, candidates, sniffed, recordings, coverage)
        for s in recordings:
            assert s.artifact is not None
            coverage.recordings += 1
            yield s.artifact

    def _examine(
        self, path: str, name: str, relpath: str, root: str, names: Container[str], coverage: Coverage
    ) -> _Sniffed | None:
        """Sniff one file: a _Sniffed for a recording or key material, None for anything else
        (and for a file that cannot be read, which becomes a gap)."""
        try:
            fd, st = open_readonly(path, follow_symlinks=self.options.follow_symlinks)
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(path), _gap_for(exc), exc.strerror or str(exc)))
            return None
        try:
            coverage.candidates += 1
            head = os.read(fd, HEAD_BYTES)
            coverage.bytes_read += len(head)
            cls = classify(head, name)
            artifact = None
            if cls.kind in ("media", "transcript", "encrypted"):
                reader = FdRangeReader(fd, st.st_size)
                artifact = self._artifact(path, name, relpath, root, st, head, cls, reader, names, coverage)
                coverage.bytes_read += reader.bytes_read
            if artifact is None and cls.kind != "key":
                return None  # most sniffed files: nothing more to say about them
            return _Sniffed(name, path, relpath, cls, artifact)
        except OSError as exc:
            coverage.gaps.append(Gap(display_path(path), _gap_for(exc), exc.strerror or str(exc)))
            return None
        finally:
            os.close(fd)

    def _artifact(
        self,
        path: str,
        name: str,
        relpath: str,
        root: str,
        st: os.stat_result,
        head: bytes,
        cls: Classification,
        reader: FdRangeReader,
        names: Container[str],
        coverage: Coverage,
    ) -> Artifact | None:
        sidecar = self._sidecar(path, name, names, coverage)
        attribution = attribute(relpath, self.config.attribution.patterns, sidecar=sidecar)
        # An encrypted blob is a recording when its inner name says so or attribution ties it to a session.
        if cls.kind == "encrypted" and cls.inner_media is None and not attribution.client:
            return None
        location = display_path(path)
        artifact = Artifact(
            kind="recording",
            location=location,
            source="local",
            target=display_path(root),
            relpath=display_path(relpath),
            size=st.st_size,
            mtime=datetime.fromtimestamp(st.st_mtime, UTC),
            media=cls.media if cls.kind != "encrypted" else cls.inner_media,
            format=cls.format,
            attribution=attribution,
        )
        if cls.kind == "encrypted":
            artifact.facts["inner_name"] = cls.inner_name and display_path(cls.inner_name)
        else:
            try:
                artifact.embedded_created = embedded_created(
                    cls.format or "", head, reader, EMBEDDED_DATE_BUDGET
                )
            except (ValueError, IndexError, OverflowError):  # a corrupt header is not a reason to stop
                artifact.embedded_created = None
        directory = path[: len(path) - len(name) - 1] or os.sep  # `path` is always folder + sep + name
        self._encryption_facts(artifact, path, directory, st, cls)
        artifact.exposures = self.exposure.exposures(path, st, directory=directory)
        artifact.facts["mode"] = f"{stat.S_IMODE(st.st_mode):04o}"
        artifact.facts["uid"] = st.st_uid
        artifact.facts["gid"] = st.st_gid
        return artifact

    def _encryption_facts(
        self, artifact: Artifact, path: str, directory: str, st: os.stat_result, cls: Classification
    ) -> None:
        volume = self.volumes.for_path(path, st.st_dev, directory=directory)
        artifact.facts["volume"] = {
            "encrypted": volume.encrypted,
            "method": volume.method,
            "detail": volume.detail,
        }
        if cls.kind == "encrypted":
            artifact.encrypted = True
            artifact.encryption = f"content:{cls.format}"
        elif volume.encrypted:
            artifact.encrypted = True
            artifact.encryption = f"volume:{volume.method}"
        elif volume.encrypted is False:
            artifact.encrypted = False
            artifact.encryption = "none"
        else:
            artifact.encrypted = None
            artifact.encryption = "unknown"

    def _sidecar(self, path: str, name: str, names: Container[str], coverage: Coverage) -> Attribution | None:
        for suffix in (".meta.yaml", ".meta.json"):
            if name + suffix not in names:
                continue
            sidecar_path = path + suffix
            try:
                fd, _ = open_readonly(sidecar_path, follow_symlinks=self.options.follow_symlinks)
                try:
                    raw = os.read(fd, SIDECAR_MAX_BYTES + 1)
                finally:
                    os.close(fd)
                coverage.bytes_read += len(raw)
                if len(raw) > SIDECAR_MAX_BYTES:
                    raise SidecarError(f"larger than {SIDECAR_MAX_BYTES} bytes")
                return parse_sidecar(raw.decode("utf-8", "replace"), json_format=suffix.endswith("json"))
            except OSError as exc:
                coverage.gaps.append(Gap(display_path(sidecar_path), _gap_for(exc), exc.strerror or str(exc)))
            except SidecarError as exc:
                coverage.gaps.append(Gap(display_path(sidecar_path), "sidecar-invalid", str(exc)))
        return None

    def _note_keys_beside(
        self,
        directory: str,
        files: list[str],
        candidates: list[str],
        sniffed: list[_Sniffed],
        recordings: list[_Sniffed],
        coverage: Coverage,
    ) -> None:
        """HIPAA's safe harbor needs the key kept apart: record key material found in the same folder.
        The candidates were sniffed already (their key material is in `sniffed`): only the rest
        with a key-like name are read here."""
        keys = {s.name for s in sniffed if s.cls.kind == "key"}
        looked = set(candidates)
        for name in files:
            if name in looked or not _KEY_NAME.search(name):
                continue
            path = os.path.join(directory, name)
            try:
                fd, _ = open_readonly(path, follow_symlinks=self.options.follow_symlinks)
                try:
                    head = os.read(fd, HEAD_BYTES)
                finally:
                    os.close(fd)
            except OSError:
                continue  # not a reason for a gap: the file itself is not a recording
            coverage.bytes_read += len(head)
            if classify(head, name).kind == "key":
                keys.add(name)
        if keys:
            for s in recordings:
                if s.cls.kind == "encrypted" and s.artifact is not None:
                    s.artifact.facts["keys_beside"] = sorted(display_path(k) for k in keys)


# Parallel walk: how wide the breadth-first frontier gets before it is shared out, and into
# how many chunks per worker (small chunks balance uneven subtrees).
FRONTIER_PER_JOB = 64
CHUNKS_PER_JOB = 16
_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()
_FORKED: tuple[LocalSource, str] | None = None  # set in the parent just before forking workers


def _walk_chunk(folders: list[str]) -> tuple[list[Artifact], Coverage]:
    """In a forked worker: walk the subtrees below `folders` with the parent's source."""
    assert _FORKED is not None, "only called in workers forked by _walk_parallel"
    source, root = _FORKED
    source.options.progress = None  # the parent reports progress as chunks come back
    coverage = Coverage()
    artifacts: list[Artifact] = []
    stack = list(reversed(folders))
    visited: set[tuple[int, int]] = set()
    while stack:
        directory = stack.pop()
        try:
            artifacts.extend(source._visit(directory, root, stack.append, visited, coverage))
        except Exception as exc:  # a bug must not lose the rest of the chunk silently
            coverage.gaps.append(Gap(display_path(directory), "scan-error", f"{type(exc).__name__}: {exc}"))
    source._report_probe_notes(coverage)
    return artifacts, coverage


def _as_folder(path: str) -> str:
    """`path` with one trailing separator, so that a name can be appended to it ("/" stays "/")."""
    return path if path.endswith(os.sep) else path + os.sep


# Listing through a directory fd lets O_NOATIME leave the folder's atime alone. Windows can
# neither open a folder nor list by fd: there the folder is listed by path (fd -1).
_LIST_BY_FD = os.scandir in os.supports_fd


def _open_dir(directory: str) -> tuple[int, int]:
    """(fd or -1, st_dev) of a folder about to be listed; the device tells a mount point."""
    if not _LIST_BY_FD:
        return -1, os.stat(directory).st_dev
    fd = open_dir_readonly(directory)
    try:
        return fd, os.fstat(fd).st_dev
    except BaseException:
        os.close(fd)
        raise


def _list_dir(fd: int, directory: str) -> list[os.DirEntry[str]]:
    with os.scandir(fd if fd >= 0 else directory) as it:
        return list(it)


def _pseudo_detail(fstype: str | None) -> str:
    return f"{fstype} filesystem: kernel state, not stored files; never walked"


def _kind(entry: os.DirEntry[str]) -> str:
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return "unknown file type"
    if stat.S_ISFIFO(mode):
        return "FIFO (not opened)"
    if stat.S_ISSOCK(mode):
        return "socket (not opened)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device (not opened)"
    return "not a regular file"
