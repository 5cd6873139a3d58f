"""status.json: what `auditor status` reads. Written by the watch loop on every change of health and
at least every heartbeat; and by the warden, from another thread, when the loop is stuck.

The warden exists because a loop that hangs on one file (a parser taking minutes) cannot
write that it hangs: the warden then rewrites the last status as degraded, with the reason,
instead of leaving "healthy" in place until the heartbeat goes stale.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from auditor.watch.health import iso, utc_now
from auditor.watch.state import STATUS_FILE, write_atomic

log = logging.getLogger(__name__)


class StatusFile:
    def __init__(self, state_dir: Path, heartbeat_interval: float) -> None:
        self.path = state_dir / STATUS_FILE
        self.heartbeat_interval = heartbeat_interval
        self.next_heartbeat = time.monotonic() + heartbeat_interval
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self._loop_generation = 0  # counts the loop's writes: the warden never overwrites a newer one
        self.stuck_shown = False  # the file says the loop is stuck, until the loop writes again

    def write(self, status: dict[str, Any]) -> None:
        """The loop's write: the whole truth as of now."""
        with self._lock:
            self._loop_generation += 1
            self._last = status
            self._write(status)
            self.stuck_shown = False
        self.next_heartbeat = time.monotonic() + self.heartbeat_interval

    def write_stuck(self, reason: str, generation: int) -> bool:
        """The warden's write: the last status, degraded by `reason`, unless the loop wrote since
        `generation` (then it is not stuck). True when written."""
        with self._lock:
            if self._last is None or generation != self._loop_generation:
                return False
            status = copy.deepcopy(self._last)
            health = status.setdefault("health", {})
            health["state"] = "degraded"
            health["reasons"] = [*health.get("reasons", []), reason]
            status["heartbeat"] = iso(utc_now())
            self._write(status)
            self.stuck_shown = True
            return True

    @property
    def generation(self) -> int:
        return self._loop_generation

    def _write(self, status: dict[str, Any]) -> None:
        try:
            write_atomic(self.path, json.dumps(status, indent=2, ensure_ascii=True) + "\n")
        except OSError as exc:
            log.error("cannot write the status file: %s", exc)
