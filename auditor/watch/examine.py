"""Examine changed paths exactly as `auditor scan` would have on its walk, a directory at a time.

Parity with the walk matters: the periodic rescan is the source of truth, so a file the walk
would skip (excluded, a symlink, a name that needs no sniffing) must be skipped here too, or a
finding would open on an event and resolve on the next rescan, over and over.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from auditor.classify import needs_sniff
from auditor.models import Artifact, Coverage, Gap
from auditor.paths import compile_excludes, display_path, excluded_below, within
from auditor.sources.local import LocalSource

# Gaps that mean "we could not look", so what was found there before still stands.
UNKNOWN_STATE_GAPS = frozenset({"permission-denied", "os-error", "symlink-loop"})


class Scope:
    """The watched roots and the --exclude globs: which root a path belongs to, and whether it is audited."""

    def __init__(self, roots: Sequence[str], excludes: Sequence[str]) -> None:
        absolute = sorted({os.path.abspath(r) for r in roots}, key=len)
        # A root inside another root is already watched through the outer one.
        self.roots = [r for i, r in enumerate(absolute) if not any(within(r, o) for o in absolute[:i])]
        self._exclude = compile_excludes(excludes)

    def root_of(self, path: str) -> str | None:
        return next((r for r in sorted(self.roots, key=len, reverse=True) if within(path, r)), None)

    def excluded(self, path: str, root: str) -> bool:
        """As in the walk: an entry is skipped when its name or its path relative to the root matches."""
        return excluded_below(self._exclude, path, root)


@dataclass
class Examined:
    """What examining a set of paths found: recordings, places we could not look, and every file looked at."""

    artifacts: list[Artifact] = field(default_factory=list)
    looked_at: set[str] = field(default_factory=set)  # locations (display form) of files considered
    coverage: Coverage = field(default_factory=Coverage)

    def unknown(self, location: str) -> bool:
        """True when a gap says we could not tell what is at `location` now."""
        return any(g.location == location and g.reason in UNKNOWN_STATE_GAPS for g in self.coverage.gaps)


def examine_files(source: LocalSource, scope: Scope, paths: Sequence[str], deep: bool, out: Examined) -> None:
    """Examine regular files; each directory's listing is read once however many of its files changed."""
    groups: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        root = scope.root_of(path)
        location = display_path(path)
        out.looked_at.add(location)
        if root is None or scope.excluded(path, root):
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            out.coverage.gaps.append(Gap(location, "os-error", exc.strerror or str(exc)))
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # links, FIFOs, devices: the rescan's walk records them as it always does
        name = os.path.basename(path)
        if not (deep or needs_sniff(name)):
            continue
        groups.setdefault((os.path.dirname(path), root), []).append(name)
    for (directory, root), names in groups.items():
        out.artifacts += _examine_group(source, directory, root, names, out.coverage)


def _examine_group(
    source: LocalSource, directory: str, root: str, names: list[str], coverage: Coverage
) -> list[Artifact]:
    # Many files in one folder (a burst): one listing for all, as the walk does.
    return list(source.examine_files(directory, names, coverage, root=root))


def walk_files(scope: Scope, folder: str, out: Examined) -> Iterator[str]:
    """Regular files below `folder` as the walk would reach them (no symlinks followed, excludes applied)."""
    root = scope.root_of(folder)
    if root is None:
        return
    stack = [folder]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except FileNotFoundError:
            continue
        except OSError as exc:
            out.coverage.gaps.append(Gap(display_path(directory), "os-error", exc.strerror or str(exc)))
            continue
        for entry in entries:
            if scope.excluded(entry.path, root):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry.path
            except OSError:
                continue
