"""The state directory: the open findings (so a restart does not re-alert), the status file, a lock.

Layout (directory 0700, files 0600, every write atomic):
  findings.json   open findings by fingerprint: what was alerted and not yet resolved
  status.json     pid, health, last rescan, counts: what `auditor status` reads
  watch.lock      held (flock) by the running daemon, so two daemons never share a state
  webhook-spool.* the webhook's persistent queue (see sinks.py)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.models import Finding
from auditor.watch.health import iso, utc_now

log = logging.getLogger(__name__)

FINDINGS_FILE = "findings.json"
STATUS_FILE = "status.json"
LOCK_FILE = "watch.lock"
STATE_VERSION = 1


class StateError(Exception):
    """The state directory cannot be used (unwritable, locked by another daemon, corrupt)."""


def ensure_state_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # not ours to tighten (e.g. a shared StateDirectory): still usable
        os.chmod(path, 0o700)
    return path


def write_atomic(path: Path, data: str | bytes) -> None:
    """0600, fsync'd, renamed into place: a crash leaves the old file or the new one, never half of one."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(data, dict):
        raise StateError(f"{path}: not a state file")
    return data


class StateLock:
    """An exclusive flock on the state directory, released when the process ends (even by a crash)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # Windows: no flock; one daemon per state directory is then up to the user
            self._fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StateError(f"another auditor watch (pid {holder}) is using {self.path.parent}") from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def new_event(kind: str, record: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """One line of the events file: what happened, to which finding, when (UTC)."""
    return {
        "event": kind,
        "time": utc_now().isoformat(timespec="milliseconds"),
        "id": uuid.uuid4().hex,
        "fingerprint": fingerprint,
        "rule": record["rule"],
        "category": record["category"],
        "severity": record["severity"],
        "location": record["location"],
        "message": record["message"],
        "client": record.get("client"),
    }


class Ledger:
    """Open findings by fingerprint. It decides what alerts: a finding once when it opens, once when it resolves."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FINDINGS_FILE
        self.open: dict[str, dict[str, Any]] = {}
        self._by_location: dict[str, set[str]] = {}
        self.dirty = False

    def load(self) -> None:
        data = read_json(self.path)
        if data is None:
            return
        if data.get("version") != STATE_VERSION or not isinstance(data.get("open"), dict):
            raise StateError(f"{self.path}: unknown state format (version {data.get('version')!r})")
        for fingerprint, record in data["open"].items():
            self._add(fingerprint, record)

    def save(self) -> None:
        payload = {"version": STATE_VERSION, "saved": iso(utc_now()), "open": self.open}
        write_atomic(self.path, json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        self.dirty = False

    def at(self, location: str) -> set[str]:
        return set(self._by_location.get(location, ()))

    def locations(self) -> list[str]:
        return list(self._by_location)

    def apply(
        self, location: str, findings: Iterable[Finding], keep_rules: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """`findings` is everything now wrong at `location`: open the new, resolve the gone, alert on both.

        Findings of rules in `keep_rules` (rules that failed this time) stay open: a crash is not a fix.
        """
        current = {f.fingerprint: f for f in findings}
        events = []
        for fingerprint, finding in current.items():
            record = {
                "rule": finding.rule,
                "category": finding.category,
                "severity": finding.severity,
                "location": finding.location,
                "message": finding.message,
                "client": finding.client,
            }
            if fingerprint not in self.open:
                record["opened"] = iso(utc_now())
                self._add(fingerprint, record)
                events.append(new_event("finding", record, fingerprint))
            else:  # still open: details may change (a message, a severity) without a new alert
                record["opened"] = self.open[fingerprint].get("opened")
                if record != self.open[fingerprint]:
                    self.open[fingerprint] = record
                    self.dirty = True
        for fingerprint in self.at(location) - current.keys():
            if self.open[fingerprint]["rule"] not in keep_rules:
                events.append(self.resolve(fingerprint))
        return events

    def resolve(self, fingerprint: str) -> dict[str, Any]:
        record = self.open.pop(fingerprint)
        fingerprints = self._by_location.get(record["location"], set())
        fingerprints.discard(fingerprint)
        if not fingerprints:
            self._by_location.pop(record["location"], None)
        self.dirty = True
        return new_event("resolved", record, fingerprint)

    def forget(self, fingerprint: str) -> None:
        """Drop without an alert (a folder no longer watched: we cannot say it was fixed)."""
        record = self.open.pop(fingerprint)
        self._by_location.get(record["location"], set()).discard(fingerprint)
        if not self._by_location.get(record["location"]):
            self._by_location.pop(record["location"], None)
        self.dirty = True

    def _add(self, fingerprint: str, record: dict[str, Any]) -> None:
        self.open[fingerprint] = record
        self._by_location.setdefault(record["location"], set()).add(fingerprint)
        self.dirty = True

    def summary(self) -> dict[str, Any]:
        by_severity: dict[str, int] = {}
        for record in self.open.values():
            by_severity[record["severity"]] = by_severity.get(record["severity"], 0) + 1
        return {"open": len(self.open), "by_severity": by_severity}


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), to tell our daemon from a later process with its pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[19]  # field 22 of stat(5), counting from after the command name
    except (OSError, IndexError):
        return None
