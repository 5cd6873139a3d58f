"""The daemon's report file: rewritten while findings change, but at most once every `interval` seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.outputs.base import OutputOptions, writer_for
from auditor.publish import PublishSettings, publish

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

    def write(self, result: dict[str, Any], title: str | None) -> None:
        try:
            publish(
                result,
                PublishSettings(
                    outputs=[self.path], fail_on="none", output_options=OutputOptions(title=title)
                ),
            )
        except Exception:  # a failing report must not stop the watch; it is retried at the next change
            log.exception("could not write the report %s", self.path)
            return
        finally:
            self._last_written = self._clock()
        self._dirty = False
        self.writes += 1
