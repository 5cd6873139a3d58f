"""Ending the `auditor` process quickly once everything is written and flushed.

A scan of a large tree leaves millions of objects behind. Freeing them one at a time just before
the process ends takes 0.1-0.2 s for nothing, so the console entry point ends the process with
os._exit instead, as mypy does. Commands hand their large results to keep_until_exit(). Only while
the entry point runs a command are they kept: called in-process otherwise (tests, library use),
nothing is kept and everything is freed as usual.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

_kept: list[object] = []
_enabled = False


@contextlib.contextmanager
def keeping() -> Iterator[None]:
    """While the entry point runs a command, keep_until_exit() keeps; never outside it."""
    global _enabled
    _enabled = True
    try:
        yield
    finally:
        _enabled = False


def keep_until_exit(*objects: object) -> None:
    """Leave `objects` to the end of the process rather than free them when the command returns."""
    if _enabled:
        _kept.extend(objects)


def exit_process(code: int) -> NoReturn:
    if _kept:
        logging = sys.modules.get("logging")
        if logging is not None:  # flush its handlers as the interpreter's exit would; never imported for it
            logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
                stream.flush()
        os._exit(code)
    sys.exit(code)


def discard_stream(stream: object) -> None:
    """Point a standard stream whose reader is gone (EPIPE) at /dev/null: what it still buffers
    would fail again when the process flushes it at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no descriptor (captured output), or closed
        pass
