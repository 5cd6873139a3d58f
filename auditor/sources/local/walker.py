"""The local walk: list folders robustly, one at a time, and say which files each one holds.

The walk streams: one folder's entries at a time, never the whole tree. Folders are listed
through an O_NOATIME fd, so their atime stays as it was. Pseudo filesystems (/proc, /sys, ...)
are never entered, and with --one-file-system no other filesystem is. Every place that cannot be
listed, every link not followed and every special file becomes a coverage gap with its reason.

`Walker` is public: the local source walks targets with it, and the watch daemon walks the
folders it watches with the same checks, so both see the same tree.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from auditor.localfs.filesystems import PSEUDO_FILESYSTEMS, FilesystemTypes
from auditor.models import Coverage, Gap
from auditor.paths import compile_excludes, display_path, excluded_below
from auditor.shard import ROOT_FILES, Shard
from auditor.sources.reader import NotRegularFile, open_dir_readonly

Visited = set[tuple[int, int]]  # (dev, ino) of folders, to survive loops when following links


def gap_for(exc: OSError) -> str:
    """The coverage-gap reason for an OSError met while listing, opening or reading."""
    if isinstance(exc, NotRegularFile):
        return "special-file"
    if isinstance(exc, PermissionError):
        return "permission-denied"
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return "vanished"
    if exc.errno == errno.ELOOP:
        return "symlink-loop"
    return "os-error"


def os_gap(path: str, exc: OSError) -> Gap:
    return Gap(display_path(path), gap_for(exc), exc.strerror or str(exc))


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
class Folder:
    """One folder as the walk listed it."""

    path: str  # as reached under the root
    rel_prefix: str  # its path below the root with a trailing separator; "" for the root itself
    files: list[str]  # names of its regular files (and links to files, when following), not excluded
    names: _FolderNames  # every entry's name, excluded or not (`name in folder.names`)

    def file_path(self, name: str) -> str:
        return as_folder(self.path) + name


class Walker:
    """Lists folders under a root with the walk's rules: excludes, links, mount boundaries."""

    def __init__(
        self,
        *,
        excludes: Sequence[str] = (),
        follow_symlinks: bool = False,
        one_file_system: bool = False,
        filesystems: FilesystemTypes | None = None,
        shard: Shard | None = None,
    ) -> None:
        self.shard = shard
        self.follow_symlinks = follow_symlinks
        self.one_file_system = one_file_system
        self._exclude = compile_excludes(excludes)
        self._filesystems = filesystems or FilesystemTypes()
        self._root_dev = -1  # device of the root being walked; set by open_root()
        self._root_devs: dict[str, int] = {}
        self._crossings: dict[int, tuple[str, str] | None] = {}  # device -> (gap reason, detail) or None

    # -- roots ---------------------------------------------------------------------------------

    def open_root(self, root: str, coverage: Coverage) -> os.stat_result | None:
        """Stat a target and make its filesystem the walk's boundary. None, with its gap recorded,
        when it cannot be read or lies on a pseudo filesystem (even as a target: reading kernel
        state is not discreet)."""
        root = os.path.abspath(root)
        try:
            st = os.stat(root) if self.follow_symlinks else os.lstat(root)
        except OSError as exc:
            coverage.gaps.append(os_gap(root, exc))
            return None
        dev = st.st_dev
        if stat.S_ISLNK(st.st_mode):  # a link given as the target: its destination is what gets read
            with contextlib.suppress(OSError):
                dev = os.stat(root).st_dev
        fstype = self._filesystems.type_of(dev)
        if fstype in PSEUDO_FILESYSTEMS:
            coverage.gaps.append(Gap(display_path(root), "pseudo-filesystem", pseudo_detail(fstype)))
            return None
        self._root_dev = self._root_devs[root] = dev
        return st

    def boundary(self, directory: str) -> Gap | None:
        """The gap for a folder the walk would not enter because of its filesystem (a pseudo
        filesystem; another filesystem with --one-file-system), judged against the current root;
        None when it would be entered, or cannot be stat'ed (listing it will say why)."""
        try:
            st_dev = os.stat(directory).st_dev
        except OSError:
            return None
        return self.crossing(directory, st_dev) if st_dev != self._root_dev else None

    def crossing(self, directory: str, st_dev: int) -> Gap | None:
        """A folder on another filesystem than the root's: a pseudo filesystem is never walked,
        and with --one-file-system no other filesystem is. The answer is kept per device."""
        if st_dev not in self._crossings:
            fstype = self._filesystems.type_of(st_dev)
            if fstype in PSEUDO_FILESYSTEMS:
                self._crossings[st_dev] = ("pseudo-filesystem", pseudo_detail(fstype))
            elif self.one_file_system:
                what = f"a {fstype} filesystem" if fstype else "another filesystem"
                self._crossings[st_dev] = ("other-filesystem", f"{what} is mounted here; --one-file-system")
            else:
                self._crossings[st_dev] = None
        crossing = self._crossings[st_dev]
        return Gap(display_path(directory), *crossing) if crossing else None

    # -- walking -------------------------------------------------------------------------------

    def walk(
        self, root: str, coverage: Coverage, *, start: str | None = None, visited: Visited | None = None
    ) -> Iterator[Folder]:
        """Every folder below `start` (default: `root`), depth first, as the scan walks it; paths
        relative to `root`, whose filesystem is the boundary. Subfolders are taken as each folder
        is listed, so a consumer may examine a folder's files before the walk goes deeper."""
        root = os.path.abspath(root)
        if root not in self._root_devs and self.open_root(root, coverage) is None:
            return
        self._root_dev = self._root_devs[root]
        if visited is None:
            visited = set()
        top = os.path.abspath(start) if start else root
        if self.follow_symlinks:
            with contextlib.suppress(OSError):
                st = os.stat(top)
                visited.add((st.st_dev, st.st_ino))
        stack = [top]
        while stack:
            folder = self.visit(stack.pop(), root, stack.append, visited, coverage)
            if folder is not None:
                yield folder

    def visit(
        self,
        directory: str,
        root: str,
        push: Callable[[str], None],
        visited: Visited,
        coverage: Coverage,
    ) -> Folder | None:
        """List one folder: push its subfolders, return its files (None when it cannot be listed
        or is across a boundary; the gap is recorded). Runs once per folder of the tree, and its
        loop once per entry, so paths are built by concatenation, not path functions."""
        exclude = self._exclude
        coverage.dirs_seen += 1
        try:
            fd, st_dev = _open_dir(directory)
            try:
                # One integer comparison per folder; the mount table only at a mount point.
                crossing = self.crossing(directory, st_dev) if st_dev != self._root_dev else None
                entries = _list_dir(fd, directory) if crossing is None else []
            finally:
                if fd >= 0:
                    os.close(fd)
        except OSError as exc:
            coverage.gaps.append(os_gap(directory, exc))
            return None
        if crossing is not None:
            coverage.gaps.append(crossing)
            return None
        base = as_folder(directory)
        rel_prefix = base[len(as_folder(root)) :]  # "" for the root itself
        names = _FolderNames(entries)  # all of them: a sidecar is looked up whichever shard has it
        if self.shard is not None and not rel_prefix:
            entries = self._in_shard(entries, coverage)
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
                coverage.gaps.append(os_gap(base + name, exc))
        coverage.files_seen += len(files)
        return Folder(directory, rel_prefix, files, names)

    def _in_shard(self, entries: list[os.DirEntry[str]], coverage: Coverage) -> list[os.DirEntry[str]]:
        """A root's entries that belong to this shard (auditor.shard): each top-level entry is a
        unit by its name, and the root's own regular files one unit together. The root folder
        itself is counted by the shard that has its files, so merged shards count it once."""
        assert self.shard is not None
        own_files = self.shard.owns(ROOT_FILES)
        if not own_files:
            coverage.dirs_seen -= 1
        kept: list[os.DirEntry[str]] = []
        units = {ROOT_FILES: own_files}
        for entry in entries:
            try:
                is_file = entry.is_file(follow_symlinks=False)
            except OSError:
                is_file = False
            unit = ROOT_FILES if is_file else entry.name
            if unit not in units:
                units[unit] = self.shard.owns(unit)
            if units[unit]:
                kept.append(entry)
        mine = sum(units.values())
        coverage.shard_units += mine
        coverage.shard_other_units += len(units) - mine
        return kept

    def excluded(self, path: str, root: str) -> bool:
        """Whether the walk skips `path` below `root` by --exclude (paths.excluded_below)."""
        return excluded_below(self._exclude, path, root)

    def _symlink(
        self,
        path: str,
        visited: Visited,
        push: Callable[[str], None],
        files: list[str],
        coverage: Coverage,
    ) -> None:
        if not self.follow_symlinks:
            coverage.gaps.append(Gap(display_path(path), "symlink-not-followed", "use --follow-symlinks"))
            return
        try:
            st = os.stat(path)  # follows; ELOOP for a loop made of links
        except OSError as exc:
            coverage.gaps.append(os_gap(path, exc))
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


def as_folder(path: str) -> str:
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


def pseudo_detail(fstype: str | None) -> str:
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
