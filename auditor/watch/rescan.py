"""Full rescans: the source of truth behind the event stream.

A rescan walks every watched root with the local source's walker (so it sees exactly the tree
`auditor scan` sees: excludes, links not followed, pseudo filesystems never entered, mount
points left alone with --one-file-system) and judges every recording. Then it reconciles: an
open finding whose location the rescan did not reach, and that no event looked at meanwhile,
is resolved, unless a gap says the rescan could not look there. The catch-up scan at start is
a rescan too, so what was fixed while the daemon was down resolves, and what appeared opens.

Each folder is examined on its own, and when that fails each of its files on its own: one
file can only fail itself (a coverage gap on it, a health note), never the rescan.

Between folders the rescan calls `pause()`, through which the daemon judges what has settled
meanwhile and notices a stop (by raising Aborted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from auditor.models import INTENTIONAL_SKIPS, Artifact, Coverage
from auditor.paths import within
from auditor.sources.local import Examiner, Folder, Walker
from auditor.watch.examine import UNKNOWN_STATE_GAPS, Scope, examine_folder
from auditor.watch.health import GAP_MISSING, WatchHealth, iso, utc_now
from auditor.watch.judge import Judge
from auditor.watch.settings import WatchSettings

log = logging.getLogger(__name__)


class Aborted(Exception):
    """A stop arrived during a rescan."""


class Rescanner:
    def __init__(
        self,
        scope: Scope,
        settings: WatchSettings,
        judge: Judge,
        health: WatchHealth,
        *,
        blind: Callable[[], Iterable[str]],
        pause: Callable[[], None],
    ) -> None:
        self.scope = scope
        self.settings = settings
        self.judge = judge
        self.health = health
        self._blind = blind  # folders the watch itself cannot see now (missing, unreadable)
        self._pause = pause
        self.requested: str | None = None
        self.running = False
        self.touched: set[str] = set()  # locations events looked at during the running rescan
        self.coverage = Coverage()  # of the last rescan that finished
        self.last: dict[str, Any] | None = None
        self.next_due = float("inf")  # monotonic; set when a rescan finishes

    def request(self, reason: str) -> bool:
        """Ask for a rescan; True when this asked first (then the daemon queues it)."""
        if self.requested is not None:
            return False
        self.requested = reason
        return True

    def note_touched(self, locations: Iterable[str]) -> None:
        if self.running:
            self.touched.update(locations)

    def run(self, reason: str) -> bool:
        """One full rescan; False when a stop interrupted it (nothing is reconciled then)."""
        self.requested = None
        started, t0 = utc_now(), time.monotonic()
        log.info("full rescan (%s)", reason)
        coverage = Coverage()
        seen: set[str] = set()
        self.touched = set()
        self.running = True
        settings = self.settings
        # Fresh per rescan: the walker's and examiner's caches (folders, volumes) must not outlive a change.
        walker = Walker(excludes=settings.excludes, one_file_system=settings.one_file_system)
        examiner = Examiner(self.judge.inputs.config, deep=settings.deep)
        bound = self.judge.bind()
        try:
            for root in self.scope.roots:
                for folder in walker.walk(root, coverage):
                    for artifact in self._examine(examiner, folder, root, coverage):
                        self.judge.judge(artifact, bound, coverage)
                        seen.add(artifact.location)
                    self._pause()
                examiner.report_probe_notes(coverage)
        except Aborted:
            log.info("rescan interrupted by stop")
            return False
        finally:
            self.running = False
        self._reconcile(seen, coverage)
        self.coverage = coverage
        self.health.rescan_finished(started)
        self.health.caught_up = True
        self.last = {
            "reason": reason,
            "started": iso(started),
            "finished": iso(utc_now()),
            "seconds": round(time.monotonic() - t0, 3),
            "files_seen": coverage.files_seen,
            "recordings": coverage.recordings,
            "gaps": len([g for g in coverage.gaps if g.reason not in INTENTIONAL_SKIPS]),
        }
        self.next_due = time.monotonic() + self._seconds_to_next_periodic_rescan()
        log.info(
            "rescan done in %.1f s: %d files, %d recordings, %d open findings",
            self.last["seconds"],
            coverage.files_seen,
            coverage.recordings,
            len(self.judge.ledger.open),
        )
        return True

    def _examine(self, examiner: Examiner, folder: Folder, root: str, coverage: Coverage) -> list[Artifact]:
        artifacts, failed = examine_folder(examiner, folder, root, coverage)
        for location, exc in failed:
            self.judge.failed(location, "examining", exc, coverage)
        return artifacts

    def _reconcile(self, seen: set[str], coverage: Coverage) -> None:
        """Resolve what the rescan no longer finds, except where it could not look."""
        blind = [
            g.location for g in coverage.gaps if g.reason in UNKNOWN_STATE_GAPS or g.reason == GAP_MISSING
        ]
        blind += self._blind()
        forgotten = 0
        for location in self.judge.ledger.locations():
            if location in seen or location in self.touched:
                continue
            if self.scope.root_of(location) is None:
                forgotten += self.judge.forget(location)
                continue
            if any(within(location, b) for b in blind):
                continue
            self.judge.clear(location)
        if forgotten:
            log.warning(
                "%d open finding(s) are outside the watched folders now; dropped without alert", forgotten
            )

    def _seconds_to_next_periodic_rescan(self) -> float:
        """The rescan interval, but also just after local midnight: retention and consent dates move then."""
        now = datetime.now().astimezone()
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=1, second=0, microsecond=0)
        return min(self.settings.rescan_interval, (midnight - now).total_seconds())
