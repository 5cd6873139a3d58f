"""Path helpers every part shares: a path's printable form, "is it inside that folder", and the
--exclude globs. One of each, so the walk, the watch daemon and the S3 source agree."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable

from auditor.textsafe import lossless


def display_path(path: str) -> str:
    """A printable, JSON-safe form of a path, in the one lossless representation
    (auditor.textsafe.lossless): a byte that is not UTF-8 shows as \\xNN."""
    return lossless(path)


def within(path: str, folder: str) -> bool:
    """True when `path` is `folder` or below it; both absolute and normalised the same way."""
    if path == folder:
        return True
    prefix = folder if folder.endswith(os.sep) else folder + os.sep
    return path.startswith(prefix)


def compile_excludes(globs: Iterable[str]) -> re.Pattern[str] | None:
    """The --exclude globs as one pattern (None when there are none). An entry is excluded when
    the pattern matches its name or its path relative to the target (`match`, whole string)."""
    globs = list(globs)
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs))


def excluded_below(pattern: re.Pattern[str] | None, path: str, root: str) -> bool:
    """Whether the walk skips `path` below `root` by --exclude (`pattern` from compile_excludes):
    its own name, or that of a folder on the way, matches by name or by path relative to `root`."""
    if pattern is None or path == root:
        return False
    parts = os.path.relpath(path, root).split(os.sep)
    return any(
        pattern.match(parts[i]) or pattern.match(os.sep.join(parts[: i + 1])) for i in range(len(parts))
    )
