"""How well the daemon is watching, and the coverage gaps that follow: a degraded watch never looks healthy.

Standing problems (a subtree polled because inotify ran out of watches, a watched folder that is
missing, a rejected config, a sink that cannot take its events) last as long as they do.
Incidents that lost events (a queue overflow, an observer or the watch loop that died and was
restarted) stay open until a full rescan that started after them has finished: only then is the
picture whole again.

A file that makes a step fail (a sidecar nested 30,000 deep, say) fails only itself: it is a
coverage gap on that file and a note here, but the watch goes on and is not degraded by it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from auditor.models import Gap

GAP_POLLING = "watch-degraded-polling"
GAP_OVERFLOW = "watch-overflow-rescan"
GAP_RESTARTED = "watch-observer-restarted"
GAP_MISSING = "watch-path-missing"
GAP_UNREADABLE = "watch-path-unreadable"
GAP_NOT_CAUGHT_UP = "watch-catching-up"
GAP_LOOP_RESTARTED = "watch-loop-restarted"
GAP_FILE_FAILED = "watch-file-failed"  # one file made a step of the daemon fail: that file only

MAX_INCIDENTS_KEPT = 50
MAX_FILE_NOTES = 20


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


@dataclass
class Recovery:
    """Events may have been lost at `at`; a full rescan started after it closes the hole."""

    reason: str  # GAP_OVERFLOW | GAP_RESTARTED
    location: str
    detail: str
    at: datetime
    recovered_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"], out["recovered_at"] = iso(self.at), iso(self.recovered_at)
        return out


@dataclass
class FileNote:
    """A file that made a step fail (examining, judging): a gap on that file, and a note here."""

    location: str
    step: str
    error: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "step": self.step, "error": self.error, "at": iso(self.at)}


@dataclass
class WatchHealth:
    mechanisms: list[dict[str, Any]] = field(default_factory=list)  # from WatchSupervisor.describe()
    degraded_polling: dict[str, str] = field(default_factory=dict)  # path -> why
    missing: dict[str, str] = field(default_factory=dict)  # watched folder -> what happened
    unreadable: dict[str, str] = field(default_factory=dict)  # polled folder whose polls fail -> why
    refused: dict[str, str] = field(default_factory=dict)  # watched folder never watched (pseudo fs) -> why
    overflows: int = 0
    restarts: int = 0
    loop_restarts: int = 0
    delivery: list[str] = field(default_factory=list)  # why alerts are not getting out (Outbox.reasons())
    files_failed: int = 0
    file_notes: list[FileNote] = field(default_factory=list)  # the latest, newest last
    open_recoveries: list[Recovery] = field(default_factory=list)
    history: list[Recovery] = field(default_factory=list)  # recovered incidents, newest last
    config_error: dict[str, Any] | None = None  # the last rejected reload, until one succeeds
    last_reload: datetime | None = None
    caught_up: bool = False  # the start-up catch-up scan has finished

    def lost_events(self, reason: str, location: str, detail: str) -> None:
        if reason == GAP_OVERFLOW:
            self.overflows += 1
        elif reason == GAP_RESTARTED:
            self.restarts += 1
        elif reason == GAP_LOOP_RESTARTED:
            self.loop_restarts += 1
        self.open_recoveries.append(Recovery(reason, location, detail, utc_now()))

    def file_failed(self, location: str, step: str, error: str) -> None:
        self.files_failed += 1
        self.file_notes.append(FileNote(location, step, error, utc_now()))
        del self.file_notes[:-MAX_FILE_NOTES]

    def rescan_finished(self, started: datetime) -> None:
        """A full rescan started at `started` is complete: every hole opened before then is closed."""
        still_open = []
        for recovery in self.open_recoveries:
            if recovery.at <= started:
                recovery.recovered_at = utc_now()
                self.history.append(recovery)
            else:
                still_open.append(recovery)
        self.open_recoveries = still_open
        del self.history[:-MAX_INCIDENTS_KEPT]

    def reasons(self) -> list[str]:
        """Why the watch is degraded; empty when it is healthy."""
        out = []
        if not self.caught_up:
            out.append("catch-up scan not finished")
        out += [f"polling {path}: {why}" for path, why in sorted(self.degraded_polling.items())]
        out += [f"not watching {path}: {why}" for path, why in sorted(self.missing.items())]
        out += [f"not watching {path}: {why}" for path, why in sorted(self.unreadable.items())]
        out += [f"{r.reason} at {iso(r.at)} ({r.detail}); rescan pending" for r in self.open_recoveries]
        if self.config_error:
            out.append(f"config reload rejected at {self.config_error['at']}: the previous config is in use")
        out += self.delivery
        return out

    @property
    def state(self) -> str:
        if self.reasons() == ["catch-up scan not finished"]:
            return "starting"
        return "degraded" if self.reasons() else "healthy"

    def gaps(self) -> list[Gap]:
        """The watch's holes as coverage gaps, for the report's coverage section."""
        gaps = [
            Gap(path, GAP_POLLING, f"watched by polling, not inotify: {why}")
            for path, why in sorted(self.degraded_polling.items())
        ]
        gaps += [Gap(path, GAP_MISSING, why) for path, why in sorted(self.missing.items())]
        gaps += [Gap(path, GAP_UNREADABLE, why) for path, why in sorted(self.unreadable.items())]
        gaps += [
            Gap(
                r.location,
                r.reason,
                f"{r.detail} at {iso(r.at)}; events may have been lost until the next full rescan",
            )
            for r in self.open_recoveries
        ]
        return gaps

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reasons": self.reasons(),
            "watching": self.mechanisms,
            "degraded_polling": dict(self.degraded_polling),
            "missing": dict(self.missing),
            "unreadable": dict(self.unreadable),
            "refused": dict(self.refused),
            "overflows": self.overflows,
            "restarts": self.restarts,
            "loop_restarts": self.loop_restarts,
            "files_failed": self.files_failed,
            "file_notes": [n.to_dict() for n in self.file_notes],
            "open_recoveries": [r.to_dict() for r in self.open_recoveries],
            "recent_incidents": [r.to_dict() for r in self.history[-10:]],
            "config_error": self.config_error,
            "last_reload": iso(self.last_reload),
            "caught_up": self.caught_up,
        }
