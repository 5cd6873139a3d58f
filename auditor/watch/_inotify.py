"""An inotify observer that reports what watchdog 7 keeps to itself, and lists folders as the scan does.

watchdog's InotifyWatchGroup swallows OSError for subfolders (so ENOSPC from the watch limit
leaves a subtree silently unwatched) and handles IN_Q_OVERFLOW internally (rebuilding its
watches, telling no event handler that events were lost). These subclasses keep watchdog's
behaviour and add the two reports.

watchdog also walks each watched tree (and each folder created in it) with os.walk, which
changes every folder's atime on a strictatime mount and would put watches on /proc or /sys
below a watched folder. Here those walks list through O_NOATIME descriptors, never follow
links, and stop at the fence (listing.py): no pseudo filesystem, and with --one-file-system
no other filesystem either.

They lean on watchdog internals (`_add_callback`, `_add_all_callbacks`, `_recursive_simulate`,
`on_queue_overflow`, the emitter's `_inotify`), so an import error here makes the observers
module fall back to the plain observer.
"""

from __future__ import annotations

import errno
import logging
import os
from typing import TYPE_CHECKING, Any

from watchdog.observers.api import DEFAULT_OBSERVER_TIMEOUT, BaseObserver
from watchdog.observers.inotify import InotifyEmitter, InotifyWatchGroup
from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, InotifyFD, Mask

from auditor.watch.listing import is_real_dir, walk_tree

if TYPE_CHECKING:
    from auditor.watch.observers import _Hooks

log = logging.getLogger(__name__)

_CREATED_DIR = Mask(InotifyConstants.IN_CREATE | InotifyConstants.IN_ISDIR)


class ReportingWatchGroup(InotifyWatchGroup):
    def __init__(self, *args: Any, hooks: _Hooks, **kwargs: Any) -> None:
        self._hooks = hooks  # before super().__init__, which adds the watches straight away
        super().__init__(*args, **kwargs)

    def _add_callback(self, path: bytes) -> None:
        # watchdog's own version, except that a subfolder we cannot watch is reported, not skipped in silence.
        try:
            if self._hooks.limiter is not None:
                self._hooks.limiter.admit(path)
            wd = self._inotify_fd.add_callback(path, self.event_mask, self._callback, self._id)
            self._active_callbacks_by_path[path] = wd
            self._active_callbacks_by_watch[wd] = path
        except OSError as exc:
            if path == self.path:
                raise
            if exc.errno in (errno.ENOSPC, errno.EMFILE):  # the watch or instance limit
                try:
                    self._hooks.listener.on_watch_limit(self._hooks.root, os.fsdecode(path), exc)
                except Exception:
                    log.exception("watch-limit report failed")

    def _add_all_callbacks(self, path: bytes) -> None:
        # watchdog's own, with the scan's way of walking (see the module's docstring).
        if not (self.is_recursive and is_real_dir(path)):
            self._add_callback(path)
            return
        added = False
        for directory, _dirs, _others in walk_tree(path, self._hooks.fence):
            self._add_callback(directory)
            added = added or directory == path
        if not added and path == self.path:
            self._add_callback(path)  # the watched folder itself: a failure to watch it must reach the caller

    def _recursive_simulate(self, src_path: bytes) -> list[InotifyEvent]:
        # watchdog's own: the content of a folder that appeared, as created events, walked as above.
        events = []
        for directory, dirs, others in walk_tree(src_path, self._hooks.fence):
            wd = self._active_callbacks_by_path.get(directory)
            if wd is None:
                continue  # not watched: its own IN_CREATE will report its content
            events += [InotifyEvent(wd, _CREATED_DIR, 0, d) for d in dirs]
            events += [InotifyEvent(wd, InotifyConstants.IN_CREATE, 0, name) for name in others]
        return events

    def on_queue_overflow(self) -> None:
        super().on_queue_overflow()
        try:
            self._hooks.listener.on_overflow(self._hooks.root)
        except Exception:
            log.exception("overflow report failed")


class ReportingEmitter(InotifyEmitter):
    def __init__(self, *args: Any, hooks: _Hooks, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hooks = hooks

    def on_thread_start(self) -> None:
        self._inotify = ReportingWatchGroup(
            self._inotify_fd,
            os.fsencode(self.watch.path),
            is_recursive=self.watch.is_recursive,
            event_mask=self.get_event_mask_from_filter(),
            follow_symlink=self.watch.follow_symlink,
            hooks=self._hooks,
        )


class ReportingInotifyObserver(BaseObserver):
    """watchdog's InotifyObserver with the reporting emitter; `inotify_thread` is the reader to supervise."""

    def __init__(self, hooks: _Hooks, *, timeout: float = DEFAULT_OBSERVER_TIMEOUT) -> None:
        self.inotify_thread = InotifyFD()
        self.inotify_thread.start()
        super().__init__(ReportingEmitter, timeout=timeout, inotify_fd=self.inotify_thread, hooks=hooks)

    def on_thread_stop(self) -> None:
        super().on_thread_stop()
        self.inotify_thread.stop()
        self.inotify_thread.join()


def make_reporting_observer(hooks: _Hooks) -> BaseObserver:
    return ReportingInotifyObserver(hooks)
