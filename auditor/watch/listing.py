"""How the observers list folders: as the scan's walker does, so that watching is as discreet as scanning.

watchdog lists folders with os.walk and os.scandir by path, and its poller stats through
links: on a strictatime mount every one of those listings changes the folder's atime, and
following a link changes the link's. Here folders are listed through an O_NOATIME descriptor
(as the walk lists them), links are never followed, and the observers never go onto a pseudo
filesystem (/proc, /sys...) nor, with --one-file-system, off the watched folder's own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.localfs.filesystems import PSEUDO_FILESYSTEMS, FilesystemTypes
from auditor.sources.reader import open_dir_readonly

_LIST_BY_FD = os.scandir in os.supports_fd


@dataclass
class Fence:
    """Which filesystems the observers may enter, below a watched folder on device `root_dev`."""

    root_dev: int
    one_file_system: bool = False
    filesystems: FilesystemTypes = field(default_factory=FilesystemTypes)

    @classmethod
    def for_root(cls, root: str, *, one_file_system: bool, filesystems: FilesystemTypes) -> Fence:
        return cls(os.lstat(root).st_dev, one_file_system, filesystems)

    def allows(self, st_dev: int) -> bool:
        if st_dev == self.root_dev:
            return True
        if self.one_file_system:
            return False
        return self.filesystems.type_of(st_dev) not in PSEUDO_FILESYSTEMS


def list_dir(path: str, fence: Fence | None = None) -> list[os.DirEntry[str]]:
    """A folder's entries (names only), listed without touching its atime where the OS allows; no
    entries for a folder the fence keeps the observers out of."""
    if not _LIST_BY_FD:  # Windows: no folder descriptors
        with os.scandir(path) as it:
            return list(it)
    fd = open_dir_readonly(path)
    try:
        if fence is not None and not fence.allows(os.fstat(fd).st_dev):
            return []
        with os.scandir(fd) as it:
            return list(it)
    finally:
        os.close(fd)


def walk_tree(top: bytes, fence: Fence) -> Iterator[tuple[bytes, list[bytes], list[bytes]]]:
    """(folder, subfolder names, other names) for `top` and every folder below it that the fence
    lets in, depth first, like os.walk without following links; folders that vanish or cannot be
    listed are left out (the rescan reports them)."""
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            fd = open_dir_readonly(os.fsdecode(directory))
        except OSError:
            continue
        try:
            if not fence.allows(os.fstat(fd).st_dev):
                continue
            with os.scandir(fd) as it:
                entries = list(it)
        except OSError:
            continue
        finally:
            os.close(fd)
        dirs: list[bytes] = []
        others: list[bytes] = []
        for entry in entries:
            name = os.fsencode(entry.name)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            (dirs if is_dir else others).append(name)
        yield directory, dirs, others
        stack.extend(os.path.join(directory, name) for name in reversed(dirs))


def is_real_dir(path: str | bytes) -> bool:
    """A folder, and not a link to one (lstat: the link is not followed, nor its atime touched)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
