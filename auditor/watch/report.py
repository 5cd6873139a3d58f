"""The daemon's report file: the open findings, the recordings as last judged, and the coverage
(the last rescan's, the events' since, and the watch's own holes), with the daemon's status as
the result's `watch` section. Rewritten while findings change, at most once every `interval`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.engine import ScanResult, ruleset_gaps
from auditor.models import Artifact, Coverage, Finding, Gap
from auditor.outputs.base import OutputOptions, writer_for
from auditor.publish import PublishSettings, publish
from auditor.result import result_to_dict
from auditor.watch.health import utc_now
from auditor.watch.judge import Inputs

log = logging.getLogger(__name__)


class ReportSchedule:
    def __init__(self, path: Path, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        writer_for(path)  # an unknown format fails at start-up, not hours later
        self.path = path
        self.interval = interval
        self._clock = clock
        self._dirty = True  # the first report follows the catch-up scan
        self._last_written: float | None = None
        self.writes = 0

    def changed(self) -> None:
        self._dirty = True

    def seconds_until_due(self) -> float | None:
        """None when nothing changed; 0 when a write is due now."""
        if not self._dirty:
            return None
        if self._last_written is None:
            return 0.0
        return max(0.0, self._last_written + self.interval - self._clock())

    def write(self, result: dict[str, Any], inputs: Inputs) -> None:
        try:
            publish(
                result,
                PublishSettings(
                    outputs=[self.path],
                    fail_on="none",
                    output_options=OutputOptions(title=inputs.config.report.title),
                    suppressions=inputs.suppressions,  # marked as `auditor scan` marks them
                ),
            )
        except Exception:  # a failing report must not stop the watch; it is retried at the next change
            log.exception("could not write the report %s", self.path)
            return
        finally:
            self._last_written = self._clock()
        self._dirty = False
        self.writes += 1


def report_result(
    *,
    inputs: Inputs,
    roots: list[str],
    started: datetime,
    rescan_coverage: Coverage,
    findings: Iterable[list[Finding]],
    recordings: Iterable[Artifact],
    more_gaps: Iterable[Gap],
    status: dict[str, Any],
) -> dict[str, Any]:
    """The result dict of the watch as it stands: what `auditor scan` would say now, plus `watch`."""
    last = rescan_coverage
    recordings = list(recordings)
    coverage = Coverage(
        files_seen=last.files_seen,
        dirs_seen=last.dirs_seen,
        candidates=last.candidates,
        recordings=len(recordings),
        bytes_read=last.bytes_read,
        excluded=last.excluded,
        gaps=[*ruleset_gaps(inputs.ruleset, inputs.registry), *last.gaps, *more_gaps],
    )
    result = ScanResult(
        as_of=date.today(),
        started=started,
        finished=utc_now(),
        targets=list(roots),
        config=inputs.config,
        ruleset=inputs.ruleset,
        findings=[f for per_location in findings for f in per_location],
        recordings=recordings,
        coverage=coverage,
        registry_source=str(inputs.registry.source) if inputs.registry else None,
        extra={"watch": status},
    )
    return result_to_dict(result)
