"""`auditor status`: read the state directory and say whether the watch is running, healthy, and what is open.

Exit codes (documented in docs/watch.md): 0 running and healthy; 1 running but degraded (or still
catching up); 3 not running (never started, stopped, crashed); 2 the state cannot be read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.models import SEVERITIES, SEVERITY_RANK
from auditor.watch.state import STATUS_FILE, StateError, process_start_time, read_json
from auditor.watch.store import read_open_findings

EXIT_HEALTHY, EXIT_DEGRADED, EXIT_UNREADABLE, EXIT_NOT_RUNNING = 0, 1, 2, 3


@dataclass
class StatusReport:
    running: bool
    state: str  # healthy | degraded | starting | not running
    status: dict[str, Any]
    open_findings: list[dict[str, Any]]

    @property
    def exit_code(self) -> int:
        if not self.running:
            return EXIT_NOT_RUNNING
        return EXIT_HEALTHY if self.state == "healthy" else EXIT_DEGRADED

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "state": self.state,
            "daemon": self.status,
            "open_findings": self.open_findings,
        }


def pid_alive(pid: int, start_time: str | None) -> bool:
    """Alive, and the same process (where the start time can be checked), not a later one given its pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start_time is not None:
        now = process_start_time(pid)
        return now is None or now == start_time
    return True


def _heartbeat_stale(status: dict[str, Any]) -> bool:
    try:
        beat = datetime.fromisoformat(status["heartbeat"])
    except (KeyError, TypeError, ValueError):
        return False
    allowed = 3 * float(status.get("heartbeat_interval_seconds", 60)) + 30
    return (datetime.now(UTC) - beat).total_seconds() > allowed


def read_status(state_dir: Path) -> StatusReport:
    """Raises StateError when the files exist but cannot be read."""
    status = read_json(state_dir / STATUS_FILE) or {}
    findings = read_open_findings(state_dir)
    running = (
        bool(status.get("pid"))
        and not status.get("stopped")
        and pid_alive(int(status["pid"]), status.get("pid_start"))
    )
    health = status.get("health", {})
    state = health.get("state", "not running") if running else "not running"
    if running and _heartbeat_stale(status):
        state = "degraded"
        health.setdefault("reasons", []).append(
            f"no heartbeat since {status.get('heartbeat')}: the daemon may be hung"
        )
    records = [{"fingerprint": fp, **record} for fp, record in findings.items()]
    records.sort(
        key=lambda r: (
            -SEVERITY_RANK.get(r.get("severity", "info"), 0),
            r.get("location", ""),
            r.get("rule", ""),
        )
    )
    return StatusReport(running, state, status, records)


def render(report: StatusReport, limit: int | None = 20) -> str:
    s = report.status
    health = s.get("health", {})
    lines = []
    if not s:
        lines.append("auditor watch: not running (no status in the state directory: never started here?)")
    elif report.running:
        lines.append(
            f"auditor watch: running (pid {s['pid']} on {s.get('host')}, since {s.get('started')}): {report.state.upper()}"
        )
    else:
        why = (
            "crashed"
            if s.get("crashed")
            else ("stopped " + s["stopped"] if s.get("stopped") else "not running (process gone)")
        )
        lines.append(f"auditor watch: {why}; last heartbeat {s.get('heartbeat')}")
    if report.running:  # a stopped daemon's last health would read as if it were still watching
        lines += [f"  ! {reason}" for reason in health.get("reasons", [])]
        for tree in health.get("watching", []):
            how = tree["mechanism"] + (f" ({tree['why']})" if tree.get("why") else "")
            flag = "" if tree.get("alive", True) else "  [not running]"
            lines.append(f"  watching {tree['path']}: {how}{flag}")
        for path, why in sorted(health.get("refused", {}).items()):
            lines.append(f"  not watching {path}: {why}")
        for sink in s.get("sinks", []):
            waiting = f", {sink['backlog']} waiting" if sink.get("backlog") else ""
            lines.append(f"  alerts to the {sink['what']}: {sink['delivered']} delivered{waiting}")
        lines.append(
            f"  queue overflows: {health.get('overflows', 0)}, observer restarts: {health.get('restarts', 0)}, "
            f"loop restarts: {health.get('loop_restarts', 0)}"
        )
        if health.get("files_failed"):
            lines.append(
                f"  files that could not be examined or judged: {health['files_failed']} (coverage gaps)"
            )
            for note in health.get("file_notes", [])[-5:]:
                lines.append(f"    {note['location']}: {note['step']} failed ({note['error']})")
    if health.get("config_error"):
        err = health["config_error"]
        lines.append(
            f"  config reload rejected at {err['at']} (previous config in use): {err['error'].splitlines()[0]}"
        )
    last = s.get("last_rescan")
    if last:
        lines.append(
            f"last full rescan: {last['finished']} ({last['reason']}, {last['seconds']} s): "
            f"{last['files_seen']} files, {last['recordings']} recordings, {last['gaps']} gap(s)"
        )
    elif s:
        lines.append("last full rescan: none finished yet")
    active = [r for r in report.open_findings if not r.get("suppressed")]
    suppressed = len(report.open_findings) - len(active)
    by_severity: dict[str, int] = {}
    for record in active:
        by_severity[record["severity"]] = by_severity.get(record["severity"], 0) + 1
    counts = ", ".join(f"{by_severity[k]} {k}" for k in SEVERITIES if by_severity.get(k))
    lines.append(
        f"open findings: {len(active)}"
        + (f" ({counts})" if counts else "")
        + (f", and {suppressed} suppressed (not alerted)" if suppressed else "")
    )
    shown = active if limit is None else active[:limit]
    for record in shown:
        lines.append(f"  {record['severity']:<8} {record['rule']:<32} {record['location']}")
    if len(shown) < len(active):
        lines.append(f"  ... and {len(active) - len(shown)} more (--all)")
    return "\n".join(lines)


__all__ = [
    "EXIT_DEGRADED",
    "EXIT_HEALTHY",
    "EXIT_NOT_RUNNING",
    "EXIT_UNREADABLE",
    "StateError",
    "StatusReport",
    "read_status",
    "render",
]
