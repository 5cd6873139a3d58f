"""An unexpected exception (a bug) becomes one line on stderr and a traceback in a private file.

The line names the exception and the file; the file (mode 0600: a traceback can quote paths,
which name clients) holds the full traceback, the command line and the version, ready to attach
to a bug report. Where it goes: $AUDITOR_CRASH_DIR if set, else the temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback

from auditor import __version__
from auditor.textsafe import for_terminal

CRASH_DIR_ENV = "AUDITOR_CRASH_DIR"


def report(exc: BaseException) -> str:
    """Save the traceback and return the one line to print."""
    summary = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    try:
        path = _save(exc)
    except OSError as save_error:
        return for_terminal(
            f"auditor: internal error: {summary} (the traceback could not be saved: {save_error.strerror})"
        )
    return for_terminal(
        f"auditor: internal error: {summary}; the full traceback is in {path} (please attach it to a bug report)"
    )


def _save(exc: BaseException) -> str:
    directory = os.environ.get(CRASH_DIR_ENV) or tempfile.gettempdir()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"auditor-crash-{stamp}-", suffix=".txt", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(f"recording-auditor {__version__}\n")
        fh.write(f"command: {' '.join(sys.argv)}\n\n")
        fh.write("".join(traceback.format_exception(exc)))
    return path
