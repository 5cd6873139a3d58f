"""What `auditor watch` was asked to do: one plain dataclass the CLI fills and tests build directly."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

STATE_DIR_NAME = "recording-auditor"
# Environment knob for fault injection and diagnostics: behave as if the inotify watch limit were N.
WATCH_LIMIT_ENV = "AUDITOR_WATCH_INOTIFY_LIMIT"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'6h', '30m', '90s', '1d' or plain seconds; raises ValueError for anything else or zero."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 90s, 30m, 6h, 1d)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    return seconds


def default_state_dir(environ: dict[str, str] | None = None) -> Path:
    """systemd's StateDirectory= ($STATE_DIRECTORY), else $XDG_STATE_HOME, else ~/.local/state."""
    env = os.environ if environ is None else environ
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    base = Path(env["XDG_STATE_HOME"]) if env.get("XDG_STATE_HOME") else Path.home() / ".local" / "state"
    return base / STATE_DIR_NAME


@dataclass
class WatchSettings:
    paths: list[str]
    config_path: Path | None = None
    consent_path: Path | None = None
    rule_packs: tuple[Path, ...] = ()
    state_dir: Path = field(default_factory=default_state_dir)
    excludes: list[str] = field(default_factory=list)
    deep: bool = False
    one_file_system: bool = False  # stay on each watched folder's filesystem (find -xdev)
    ignore_path: Path | None = None  # --ignore; else ./.auditor-ignore.yaml if present
    # Timing
    settle: float = 1.0  # seconds a file must be quiet (size and mtime) before it is judged
    rescan_interval: float = 6 * 3600.0
    health_interval: float = 5.0  # how often observers are checked (and restarted)
    state_save_interval: float = 2.0  # how soon a save that failed (a full disk) is tried again
    heartbeat_interval: float = 60.0
    stuck_after: float = 60.0  # the loop busy this long with one thing: the status says so (degraded)
    restart_backoff: tuple[float, float] = (1.0, 60.0)  # before restarting a crashed loop: first, longest
    # Watching
    force_polling: bool = False
    poll_interval: float = 2.0
    inotify_watch_limit: int | None = None  # fault injection: pretend the kernel limit is this
    # Alerts
    events_path: Path | None = None
    events_backoff: tuple[float, float] = (0.5, 30.0)  # retrying a write that failed: first, longest delay
    on_finding: str | None = None
    command_timeout: float = 30.0
    webhook_url: str | None = None
    webhook_timeout: float = 10.0
    webhook_backoff: tuple[float, float] = (1.0, 300.0)  # first delay, longest delay
    syslog: bool = True
    report_path: Path | None = None
    report_interval: float = 600.0  # seconds between report rewrites while findings change
