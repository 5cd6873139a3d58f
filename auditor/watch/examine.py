"""Examine changed paths exactly as `auditor scan` would have on its walk, a directory at a time.

Parity with the walk matters: the periodic rescan is the source of truth, so a file the walk
would skip (excluded, a symlink, a name that needs no sniffing) must be skipped here too, or a
finding would open on an event and resolve on the next rescan, over and over.

One file can only fail itself: a folder whose files fail to be examined together is examined
again file by file, and the file that still fails is reported in `Examined.failed`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.classify import needs_sniff
from auditor.classify.names import KEY_LIKE_NAME
from auditor.classify.reading import is_text_like
from auditor.models import Artifact, Coverage, Gap
from auditor.paths import compile_excludes, display_path, excluded_below, within
from auditor.sources.local import Examiner, Folder
from auditor.watch.health import GAP_FILE_FAILED

# Gaps that mean "we could not look", so what was found there before still stands.
UNKNOWN_STATE_GAPS = frozenset({"permission-denied", "os-error", "symlink-loop", GAP_FILE_FAILED})


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
    failed: list[tuple[str, Exception]] = field(default_factory=list)  # (location, what it raised)

    def unknown(self, location: str) -> bool:
        """True when a gap says we could not tell what is at `location` now."""
        return any(g.location == location and g.reason in UNKNOWN_STATE_GAPS for g in self.coverage.gaps)


def examine_files(examiner: Examiner, scope: Scope, paths: Sequence[str], deep: bool, out: Examined) -> None:
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
        if not (deep or needs_sniff(name) or is_text_like(name)):
            continue  # text-like names: the examiner applies the reading policy, as the walk does
        groups.setdefault((os.path.dirname(path), root), []).append(name)
    for (directory, root), names in groups.items():
        out.artifacts += _examine_group(examiner, directory, root, names, out)


def _examine_group(
    examiner: Examiner, directory: str, root: str, names: list[str], out: Examined
) -> list[Artifact]:
    """Many files of one folder (a burst) with one listing for all, as the walk does; when that
    fails, each file on its own, so that the one that fails fails only itself."""
    try:
        return list(examiner.examine_files(directory, names, out.coverage, root=root, text_by_policy=True))
    except Exception as exc:
        if len(names) == 1:
            out.failed.append((display_path(os.path.join(directory, names[0])), exc))
            return []
    return [artifact for name in names for artifact in _examine_group(examiner, directory, root, [name], out)]


def examine_folder(
    examiner: Examiner, folder: Folder, root: str, coverage: Coverage
) -> tuple[list[Artifact], list[tuple[str, Exception]]]:
    """A walked folder's recordings, and the files that failed (location, what they raised): when
    examining the folder's files together fails, each file is examined on its own."""
    try:
        return list(examiner.examine_folder(folder, root, coverage)), []
    except Exception:
        pass
    artifacts: list[Artifact] = []
    failed: list[tuple[str, Exception]] = []
    keys = [n for n in folder.files if KEY_LIKE_NAME.search(n)]  # still looked for beside each file
    for name in folder.files:
        location = display_path(folder.file_path(name))
        alone = Folder(folder.path, folder.rel_prefix, [name, *(k for k in keys if k != name)], folder.names)
        try:
            artifacts += [a for a in examiner.examine_folder(alone, root, coverage) if a.location == location]
        except Exception as exc:
            failed.append((location, exc))
    return artifacts, failed
