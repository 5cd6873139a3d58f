"""The ledger of open findings: it decides what alerts, a finding once when it opens and once when it resolves.

It lives in memory; what changed since the last commit is handed to the store together with
the events it caused (see store.py), so the two are saved as one.

A suppressed finding (`.auditor-ignore.yaml`, `--ignore`) is kept here too, but it alerts only
if its suppression lapses (expires, or is removed) while the finding is still there; and its
resolution alerts only if its opening did.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.models import Finding
from auditor.watch.health import iso, utc_now

Event = dict[str, Any]
Record = dict[str, Any]


def new_event(kind: str, record: Record, fingerprint: str) -> Event:
    """One event: what happened, to which finding, when (UTC); `id` is unique, for deduplication."""
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
    def __init__(self) -> None:
        self.open: dict[str, Record] = {}
        self._by_location: dict[str, set[str]] = {}
        self._changes: dict[str, Record | None] = {}  # since the last commit; None: no longer open

    def load(self, records: Mapping[str, Record]) -> None:
        for fingerprint, record in records.items():
            self._index(fingerprint, dict(record))

    # -- what the store saves ------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return bool(self._changes)

    def take_changes(self) -> dict[str, Record | None]:
        changes, self._changes = self._changes, {}
        return changes

    def restore_changes(self, changes: Mapping[str, Record | None]) -> None:
        """A commit failed: its changes are due again, under any made since (which are newer)."""
        self._changes = {**changes, **self._changes}

    # -- reading -------------------------------------------------------------------------------

    def at(self, location: str) -> set[str]:
        return set(self._by_location.get(location, ()))

    def locations(self) -> list[str]:
        return list(self._by_location)

    def summary(self) -> dict[str, Any]:
        by_severity: dict[str, int] = {}
        suppressed = 0
        for record in self.open.values():
            if record.get("suppressed"):
                suppressed += 1
                continue
            by_severity[record["severity"]] = by_severity.get(record["severity"], 0) + 1
        return {"open": len(self.open) - suppressed, "by_severity": by_severity, "suppressed": suppressed}

    # -- judging -------------------------------------------------------------------------------

    def apply(
        self,
        location: str,
        findings: Iterable[Finding],
        keep_rules: frozenset[str] = frozenset(),
        suppressed: Mapping[str, dict[str, Any]] | None = None,
    ) -> list[Event]:
        """`findings` is everything now wrong at `location`: open the new, resolve the gone, alert on both.

        Findings of rules in `keep_rules` (rules that failed this time) stay open: a crash is not a fix.
        `suppressed` maps the fingerprints under a live suppression to what suppresses them.
        """
        suppressed = suppressed or {}
        current = {f.fingerprint: f for f in findings}
        events = []
        for fingerprint, finding in current.items():
            record: Record = {
                "rule": finding.rule,
                "category": finding.category,
                "severity": finding.severity,
                "location": finding.location,
                "message": finding.message,
                "client": finding.client,
                "suppressed": suppressed.get(fingerprint),
            }
            old = self.open.get(fingerprint)
            if old is None:
                record["opened"] = iso(utc_now())
                record["alerted"] = record["suppressed"] is None
            else:  # still open: details may change (a message, a severity) without a new alert
                record["opened"] = old.get("opened")
                record["alerted"] = old.get("alerted", True) or record["suppressed"] is None
            if record["alerted"] and not (old or {}).get("alerted", False):
                events.append(new_event("finding", record, fingerprint))
            if record != old:
                self._index(fingerprint, record)
                self._changes[fingerprint] = record
        for fingerprint in self.at(location) - current.keys():
            if self.open[fingerprint]["rule"] not in keep_rules:
                event = self.resolve(fingerprint)
                if event is not None:
                    events.append(event)
        return events

    def resolve(self, fingerprint: str) -> Event | None:
        """No longer open; the event, unless it never alerted (suppressed all along)."""
        record = self._drop(fingerprint)
        return new_event("resolved", record, fingerprint) if record.get("alerted", True) else None

    def forget(self, fingerprint: str) -> None:
        """Drop without an alert (a folder no longer watched: we cannot say it was fixed)."""
        self._drop(fingerprint)

    def _index(self, fingerprint: str, record: Record) -> None:
        old = self.open.get(fingerprint)
        if old is not None and old["location"] != record["location"]:
            self._unindex(fingerprint, old["location"])
        self.open[fingerprint] = record
        self._by_location.setdefault(record["location"], set()).add(fingerprint)

    def _drop(self, fingerprint: str) -> Record:
        record = self.open.pop(fingerprint)
        self._unindex(fingerprint, record["location"])
        self._changes[fingerprint] = None
        return record

    def _unindex(self, fingerprint: str, location: str) -> None:
        fingerprints = self._by_location.get(location, set())
        fingerprints.discard(fingerprint)
        if not fingerprints:
            self._by_location.pop(location, None)
