"""Judging what the events report: the settled paths of one batch, a directory at a time.

A file is examined as the walk would examine it (examine.py); a folder that was created or
moved in is walked with the local source's walker, everything in it examined. What was open
at a path the batch looked at and no longer holds is resolved, unless a gap says we could not
look. The gaps the events found are kept until the next rescan, for the report.
"""

from __future__ import annotations

import os
import stat

from auditor.models import Gap
from auditor.paths import display_path, within
from auditor.sources.local import Examiner, Walker
from auditor.watch.examine import Examined, Scope, examine_files, examine_folder
from auditor.watch.judge import Judge
from auditor.watch.rescan import Rescanner
from auditor.watch.settings import WatchSettings
from auditor.watch.settle import Settled


class LiveJudging:
    def __init__(self, scope: Scope, settings: WatchSettings, judge: Judge, rescanner: Rescanner) -> None:
        self.scope = scope
        self.settings = settings
        self.judge = judge
        self.rescanner = rescanner
        self.gaps: dict[str, Gap] = {}  # by location: what events could not examine since the last rescan

    def process(self, items: list[Settled]) -> None:
        out = Examined()
        settings = self.settings
        # Fresh per batch: the examiner's permission and folder caches must not outlive a chmod.
        examiner = Examiner(self.judge.inputs.config, deep=settings.deep)
        walker = Walker(excludes=settings.excludes, one_file_system=settings.one_file_system)
        dirs = sorted({i.path for i in items if i.is_dir}, key=len)
        top_dirs = [d for n, d in enumerate(dirs) if not any(within(d, outer) for outer in dirs[:n])]
        files = [i.path for i in items if not i.is_dir and not any(within(i.path, d) for d in top_dirs)]
        for folder in top_dirs:
            shown = display_path(folder)
            out.looked_at.update(loc for loc in self.judge.ledger.locations() if within(loc, shown))
            root = self.scope.root_of(folder)
            if root is None or self.scope.excluded(folder, root) or not _is_real_dir(folder):
                continue
            for walked in walker.walk(root, out.coverage, start=folder):
                artifacts, failed = examine_folder(examiner, walked, root, out.coverage)
                out.artifacts += artifacts
                out.failed += failed
                out.looked_at.update(display_path(walked.file_path(n)) for n in walked.files)
        examine_files(examiner, self.scope, files, settings.deep, out)
        examiner.report_probe_notes(out.coverage)
        for location, exc in out.failed:
            self.judge.failed(location, "examining", exc, out.coverage)
        bound = self.judge.bind()
        for artifact in out.artifacts:
            self.judge.judge(artifact, bound, out.coverage)
        found = {a.location for a in out.artifacts}
        for location in out.looked_at - found:
            if not out.unknown(location):
                self.judge.clear(location)
        for location in out.looked_at:
            self.gaps.pop(location, None)
        for gap in out.coverage.gaps:
            self.gaps[gap.location] = gap
        self.rescanner.note_touched(out.looked_at | found)

    def rescan_finished(self) -> None:
        """The rescan saw everything; only gaps events found while it ran are still news."""
        self.gaps = {k: g for k, g in self.gaps.items() if k in self.rescanner.touched}


def _is_real_dir(path: str) -> bool:
    """A folder, and not a link to one (lstat: a link's target is not followed, nor its atime touched)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
