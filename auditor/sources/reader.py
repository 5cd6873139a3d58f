"""Discreet, read-only file access: open without touching atime, never block on a FIFO, read little."""

from __future__ import annotations

import errno
import os
import stat

# O_NOATIME leaves the access time alone (Linux; only for the file's owner or root).
# O_NONBLOCK makes open() return at once if a FIFO raced in between listing and opening.
_O_NOATIME = getattr(os, "O_NOATIME", 0)
_BASE_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


class NotRegularFile(OSError):
    """The path turned out not to be a regular file when opened (FIFO, device, socket...)."""


def open_readonly(path: str, *, follow_symlinks: bool = False) -> tuple[int, os.stat_result]:
    """Open `path` read-only and return (fd, fstat). Raises OSError; closes the fd on failure."""
    flags = _BASE_FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags | _O_NOATIME)
    except PermissionError:
        if not _O_NOATIME:
            raise
        fd = os.open(path, flags)  # not the owner: O_NOATIME is refused, plain read-only is not
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise NotRegularFile(errno.ELOOP, "is a symlink", path) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_dir_readonly(path: str) -> int:
    """An fd for listing a directory (os.scandir(fd)) without updating its atime where permitted."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | _O_NOATIME)
    except PermissionError:
        if not _O_NOATIME:
            raise
        return os.open(path, flags)


def list_dir_readonly(path: str) -> list[os.DirEntry[str]]:
    """A folder's entries, listed through open_dir_readonly so that its atime stays as it was (by
    path where folders cannot be opened, as on Windows). Entries listed by fd carry names only."""
    if os.scandir not in os.supports_fd:
        with os.scandir(path) as it:
            return list(it)
    fd = open_dir_readonly(path)
    try:
        with os.scandir(fd) as it:
            return list(it)
    finally:
        os.close(fd)


class FdRangeReader:
    """Positional reads from an open fd, counting every byte (RangeReader protocol of auditor.classify)."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size
        self.bytes_read = 0

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        data = os.pread(self.fd, length, offset)
        self.bytes_read += len(data)
        return data
