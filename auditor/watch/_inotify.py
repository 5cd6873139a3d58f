"""An inotify observer that reports what watchdog 7 keeps to itself: watches it could not add, and overflows.

watchdog's InotifyWatchGroup swallows OSError for subfolders (so ENOSPC from the watch limit
leaves a subtree silently unwatched) and handles IN_Q_OVERFLOW internally (rebuilding its
watches, telling no event handler that events were lost). These subclasses keep watchdog's
behaviour and add the two reports. They lean on watchdog internals (`_add_callback`,
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
from watchdog.observers.inotify_c import InotifyFD

if TYPE_CHECKING:
    from auditor.watch.observers import _Hooks

log = logging.getLogger(__name__)


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
