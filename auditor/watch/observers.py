"""watchdog observers for the watched folders, their known failure modes, and the supervision around them.

What goes wrong with filesystem watching, and what happens here:
  * inotify's watch limit (ENOSPC when adding a watch). watchdog raises it for the watched root
    but silently skips a subfolder it cannot watch; the watch group below reports both, and the
    supervisor polls that subtree instead (a degraded watch, which the status and report say).
  * the kernel's event queue overflowing (IN_Q_OVERFLOW). watchdog 7 rebuilds its watches and
    logs a warning, but tells no handler; the watch group below reports it, and the daemon
    answers with a full rescan, because events were lost.
  * an observer or emitter thread dying (a poller on a network share that went away, a watched
    root deleted). The supervisor notices on its next check and starts a fresh observer.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from watchdog.events import (
    DirAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from auditor.localfs.filesystems import PSEUDO_FILESYSTEMS, FilesystemTypes
from auditor.localfs.volumes_linux import find_mount, read_mountinfo
from auditor.paths import within
from auditor.watch.listing import Fence, list_dir
from auditor.watch.settle import ARRIVED, ATTRIB, CLOSED, GONE, WRITTEN

log = logging.getLogger(__name__)

# The events worth waking for. The filter also narrows the kernel's inotify mask: without it our
# own reads of a file (IN_OPEN, IN_CLOSE_NOWRITE) would come back to us as events.
EVENT_TYPES: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    DirAttribEvent,
]

# Filesystems where inotify does not see changes made by other machines: poll them instead.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "davfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.glusterfs",
    }
)

WATCH_LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE)
MOUNTINFO = Path("/proc/self/mountinfo")


class WatchListener(Protocol):
    """What the observers report; every method is called from a watchdog thread and must not block."""

    def on_change(self, path: str, how: str, is_dir: bool) -> None: ...

    def on_overflow(self, root: str) -> None: ...

    def on_watch_limit(self, root: str, path: str, error: OSError) -> None: ...


class ChangeHandler(FileSystemEventHandler):
    """watchdog events to (path, how) changes. Never raises: an exception would kill the observer thread."""

    def __init__(self, listener: WatchListener) -> None:
        self.listener = listener

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._translate(event)
        except Exception:
            log.exception("could not handle %r", event)

    def _translate(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        change = self.listener.on_change
        if isinstance(event, FileMovedEvent | DirMovedEvent):
            is_dir = isinstance(event, DirMovedEvent)
            if src:
                change(src, GONE, is_dir)
            if dest:
                change(dest, ARRIVED, is_dir)
        elif isinstance(event, FileClosedEvent):
            change(src, CLOSED, False)
        elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
            change(src, WRITTEN, False)
        elif isinstance(event, FileAttribEvent):
            change(src, ATTRIB, False)
        elif isinstance(event, FileDeletedEvent):
            change(src, GONE, False)
        elif isinstance(event, DirCreatedEvent | DirAttribEvent):
            change(src, ARRIVED, True)
        elif isinstance(event, DirDeletedEvent):
            change(src, GONE, True)
        elif isinstance(event, DirModifiedEvent):
            pass  # an entry inside changed; that entry has its own event


class WatchLimiter:
    """Fault injection: refuse new inotify watches once `limit` paths are watched, as the kernel would."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._paths: set[bytes] = set()
        self._lock = threading.Lock()

    def admit(self, path: bytes) -> None:
        with self._lock:
            if path not in self._paths and len(self._paths) >= self.limit:
                raise OSError(errno.ENOSPC, f"inotify watch limit reached (simulated limit {self.limit})")
            self._paths.add(path)


@dataclass
class _Hooks:
    root: str
    listener: WatchListener
    limiter: WatchLimiter | None
    fence: Fence


_InotifyObserver: Callable[[_Hooks], BaseObserver] | None = None
if sys.platform.startswith("linux"):
    try:
        from auditor.watch._inotify import make_reporting_observer

        _InotifyObserver = make_reporting_observer
    except ImportError:  # a watchdog whose inotify internals differ: plain observer, overflow not reported
        log.warning("watchdog's inotify internals are not as expected; queue overflows will not be reported")


def filesystem_type(path: str, mountinfo: Path = MOUNTINFO) -> str | None:
    """The type of the filesystem `path` is on, from the mount table (Linux); None where unknown."""
    try:
        st = os.stat(path)
        mount = find_mount(read_mountinfo(mountinfo), os.path.realpath(path), st.st_dev)
    except OSError:
        return None
    return mount.fstype if mount is not None else None


def network_filesystem(path: str, mountinfo: Path = MOUNTINFO) -> str | None:
    """The filesystem type when `path` lives on a network filesystem (Linux), else None."""
    fstype = filesystem_type(path, mountinfo)
    return fstype if fstype in NETWORK_FILESYSTEMS else None


class WatchedTree:
    """One folder under one observer: a watched root, or a subtree polled because inotify could not watch it."""

    def __init__(self, root: str, path: str, mechanism: str, observer: BaseObserver) -> None:
        self.root = root
        self.path = path
        self.mechanism = mechanism  # inotify | native | polling
        self.observer = observer

    @property
    def polling(self) -> bool:
        return self.mechanism == "polling"

    def alive(self) -> bool:
        observer = self.observer
        if not observer.is_alive() or not observer.emitters:
            return False
        if not all(emitter.is_alive() for emitter in list(observer.emitters)):
            return False
        inotify_thread = getattr(observer, "inotify_thread", None)
        return inotify_thread is None or inotify_thread.is_alive()

    def stop(self) -> None:
        try:
            self.observer.stop()
            if self.observer.is_alive():
                self.observer.join(timeout=5)
        except Exception:  # a half-dead observer may fail to stop; it is being replaced anyway
            log.debug("stopping the observer for %s failed", self.path, exc_info=True)


@dataclass
class Incident:
    kind: str  # restarted | missing | fallback
    path: str
    detail: str


class WatchSupervisor:
    """Starts the observers, falls back to polling where inotify cannot cope, and restarts dead ones."""

    def __init__(
        self,
        handler: ChangeHandler,
        listener: WatchListener,
        *,
        force_polling: bool = False,
        poll_interval: float = 2.0,
        watch_limit: int | None = None,
        one_file_system: bool = False,
        mountinfo: Path = MOUNTINFO,
    ) -> None:
        self.handler = handler
        self.listener = listener
        self.force_polling = force_polling
        self.poll_interval = poll_interval
        self.limiter = WatchLimiter(watch_limit) if watch_limit is not None else None
        self.one_file_system = one_file_system
        self.mountinfo = mountinfo
        self.filesystems = FilesystemTypes(mountinfo)
        self.refused: dict[str, str] = {}  # roots never watched (a pseudo filesystem) -> why
        self.trees: dict[str, WatchedTree] = {}  # by path
        self.why_polled: dict[str, str] = {}  # path -> why this tree is polled
        self.degraded: dict[str, str] = {}  # path -> why polling here is a fallback, not a choice
        self.missing: dict[str, str] = {}  # roots that are gone: watched again when they come back
        self.unreadable: dict[str, str] = {}  # polled folders whose snapshots fail (a share gone away)
        self._lock = threading.RLock()

    # -- starting ------------------------------------------------------------------------------

    def watch_root(self, root: str) -> list[Incident]:
        """Watch a root with the best mechanism available; returns the fallbacks taken."""
        with self._lock:
            if not os.path.isdir(root):
                self.missing[root] = "not a folder (any more)"
                return [Incident("missing", root, "the watched folder is missing")]
            self.missing.pop(root, None)
            fs_type = filesystem_type(root, self.mountinfo)
            if fs_type in PSEUDO_FILESYSTEMS:  # kernel state, not stored files: as the walk, never
                self.refused[root] = f"a {fs_type} filesystem: kernel state, not stored files; never watched"
                return []
            if self.force_polling:
                return self._poll(root, root, "polling requested (--poll)", degraded=False)
            if fs_type in NETWORK_FILESYSTEMS:
                return self._poll(
                    root,
                    root,
                    f"network filesystem ({fs_type}): inotify cannot see remote changes",
                    degraded=False,
                )
            try:
                self._watch_natively(root)
                return []
            except OSError as exc:
                if exc.errno not in WATCH_LIMIT_ERRNOS:
                    raise
                why = _limit_text(exc)
                log.error("cannot watch %s with inotify (%s); polling it instead", root, why)
                return self._poll(root, root, why, degraded=True)

    def poll_subtree(self, root: str, path: str, error: OSError) -> list[Incident]:
        """A subfolder inotify could not watch: poll it (once, at its topmost failing folder)."""
        with self._lock:
            if any(within(path, polled) for polled in self.trees if self.trees[polled].polling):
                return []
            for inner in [p for p in self.trees if p != path and within(p, path) and self.trees[p].polling]:
                self.trees.pop(inner).stop()
                self.why_polled.pop(inner, None)
                self.degraded.pop(inner, None)
            why = _limit_text(error)
            log.error("cannot watch %s with inotify (%s); polling that subtree instead", path, why)
            return self._poll(root, path, why, degraded=True)

    def _fence(self, root: str) -> Fence:
        return Fence.for_root(root, one_file_system=self.one_file_system, filesystems=self.filesystems)

    def _watch_natively(self, root: str) -> None:
        hooks = _Hooks(root, self.listener, self.limiter, self._fence(root))
        if _InotifyObserver is not None:
            observer, mechanism = _InotifyObserver(hooks), "inotify"
        else:
            observer, mechanism = Observer(), "native"
        observer.start()
        try:
            observer.schedule(self.handler, root, recursive=True, event_filter=EVENT_TYPES)
        except BaseException:
            observer.stop()
            raise
        self.trees[root] = WatchedTree(root, root, mechanism, observer)

    def _poll(self, root: str, path: str, why: str, *, degraded: bool) -> list[Incident]:
        fence = self._fence(root)
        # lstat: a link is neither followed nor its atime touched; folders listed as the walk lists them.
        observer = PollingObserverVFS(
            os.lstat,
            lambda folder: iter(list_dir(folder or path, fence)),
            polling_interval=self.poll_interval,
        )
        observer.schedule(self.handler, path, recursive=True, event_filter=EVENT_TYPES)
        observer.start()
        self.trees[path] = WatchedTree(root, path, "polling", observer)
        self.why_polled[path] = why
        if degraded:
            self.degraded[path] = why
            return [Incident("fallback", path, why)]
        return []

    # -- supervision ---------------------------------------------------------------------------

    def check(self) -> list[Incident]:
        """Restart every dead observer whose folder exists; a missing root is reported until it returns."""
        incidents: list[Incident] = []
        with self._lock:
            for path, tree in list(self.trees.items()):
                if tree.alive():
                    self._note_unreadable(tree)
                    continue
                self.unreadable.pop(path, None)
                tree.stop()
                del self.trees[path]
                is_root = path == tree.root
                if not os.path.isdir(path):
                    self.why_polled.pop(path, None)
                    self.degraded.pop(path, None)
                    if is_root:
                        self.missing[path] = "the watched folder disappeared"
                        incidents.append(Incident("missing", path, "the watched folder disappeared"))
                    continue  # a polled subfolder that was deleted: its parent's watch saw that
                detail = f"{tree.mechanism} observer for {path} stopped"
                log.error("%s; restarting it", detail)
                try:
                    if tree.polling:
                        why = self.why_polled.get(path, "polling")
                        self._poll(tree.root, path, why, degraded=path in self.degraded)
                        incidents.append(Incident("restarted", path, detail))
                    else:
                        incidents.append(Incident("restarted", path, detail))
                        incidents += self.watch_root(path)
                except OSError as exc:
                    incidents.append(Incident("missing", path, f"{detail}; restart failed: {exc}"))
                    if is_root:
                        self.missing[path] = f"restart failed: {exc}"
            for root in list(self.missing):
                if os.path.isdir(root) and root not in self.trees:
                    incidents.append(Incident("restarted", root, f"{root} is back; watching it again"))
                    incidents += self.watch_root(root)
        return incidents

    def _note_unreadable(self, tree: WatchedTree) -> None:
        # watchdog's poller keeps retrying a folder it cannot read (EIO, ESTALE, EHOSTDOWN), quietly:
        # while it does, that folder is not watched, and must not look as if it were.
        failing = any(getattr(e, "_snapshot_failing", False) for e in list(tree.observer.emitters))
        if failing and tree.path not in self.unreadable:
            log.error("cannot read %s: polling it fails (still retrying)", tree.path)
            self.unreadable[tree.path] = "cannot be read; the poller keeps retrying"
        elif not failing and tree.path in self.unreadable:
            del self.unreadable[tree.path]
            log.info("%s can be read again", tree.path)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "trees": [
                    {
                        "path": t.path,
                        "root": t.root,
                        "mechanism": t.mechanism,
                        "why": self.why_polled.get(t.path),
                        "degraded": t.path in self.degraded,
                        "alive": t.alive(),
                    }
                    for t in sorted(self.trees.values(), key=lambda t: t.path)
                ],
                "degraded": dict(self.degraded),
                "missing": dict(self.missing),
                "refused": dict(self.refused),
                "unreadable": dict(self.unreadable),
            }

    def stop(self) -> None:
        with self._lock:
            for tree in self.trees.values():
                tree.stop()
            self.trees.clear()


def _limit_text(exc: OSError) -> str:
    if exc.errno == errno.EMFILE:
        return "inotify instance limit reached (raise fs.inotify.max_user_instances)"
    return "inotify watch limit reached (raise fs.inotify.max_user_watches)"


__all__ = [
    "EVENT_TYPES",
    "ChangeHandler",
    "Incident",
    "WatchListener",
    "WatchSupervisor",
    "WatchedTree",
    "filesystem_type",
    "network_filesystem",
]
