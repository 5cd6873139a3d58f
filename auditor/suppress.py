"""Suppressions (`.auditor-ignore.yaml`): findings a practice has assessed and accepted.

A suppressed finding is marked, never dropped: it stays in every report with its reason and
expiry, and it never fails CI. An entry applies up to and including its `expires` day, judged
against the audit day (`as_of`), so re-rendering an old result gives the same answer.

    version: 1
    suppressions:
      - fingerprint: 7360c69f43c31a6ba3d5da99aac11a3c
        reason: Risk assessment RA-12 (low probability of compromise), approved by the privacy officer
        expires: 2027-01-31
      - rule: retention-exceeded
        location: /srv/therapy/legal/**
        reason: Kept for litigation; see legal hold register
      - location: /home/alice/Music/relaxation-*.mp3
        not_a_session_recording: true
        reason: Relaxation tracks for the waiting room, no client in them (checked by A. Officer)
        expires: 2027-06-30

The last kind says a file is not a session recording at all: every finding at those locations,
whatever the rule, is suppressed, and the inventory shows the file as "not a session recording".
It needs a reason and an expiry like any suppression: a folder's content changes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.yamlsource import load_yaml_validated, parse_date

IGNORE_FILENAME = ".auditor-ignore.yaml"


@dataclass(frozen=True)
class Suppression:
    """One entry of an ignore file: what it silences (fingerprint or rule and glob), why, until when."""

    line: int | None
    reason: str
    fingerprint: str | None = None
    rule: str | None = None
    location: str | None = None  # a glob
    expires: date | None = None
    not_a_recording: bool = False  # `not_a_session_recording: true`: every rule, at `location`

    def expired(self, as_of: date) -> bool:
        return self.expires is not None and as_of > self.expires

    @cached_property
    def _location_re(self) -> re.Pattern[str] | None:
        return glob_to_regex(self.location) if self.location is not None else None

    def mark(self, path: Path) -> dict[str, Any]:
        """What a finding this entry suppresses carries as its `suppressed`."""
        return {
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "file": str(path),
            "line": self.line,
            "by": self.kind,
        }

    @property
    def kind(self) -> str:
        if self.not_a_recording:
            return "not-a-session-recording"
        return "fingerprint" if self.fingerprint else "rule+location"

    def covers(self, location: str) -> bool:
        """A not-a-session-recording entry naming this location."""
        pattern = self._location_re
        return self.not_a_recording and pattern is not None and pattern.fullmatch(location) is not None

    def matches(self, finding: dict[str, Any]) -> bool:
        if self.fingerprint is not None:
            return finding.get("fingerprint") == self.fingerprint
        if self.not_a_recording:
            return self.covers(str(finding.get("location", "")))
        pattern = self._location_re
        return (
            finding.get("rule") == self.rule
            and pattern is not None
            and pattern.fullmatch(str(finding.get("location", ""))) is not None
        )


@dataclass(frozen=True)
class SuppressionFile:
    """An ignore file (`.auditor-ignore.yaml`, `--ignore`) and its entries, in file order."""

    path: Path
    entries: tuple[Suppression, ...]

    def suppressing(self, finding: dict[str, Any], as_of: date) -> Suppression | None:
        """The first entry in force on `as_of` that matches `finding`, if any."""
        return next((e for e in self.entries if not e.expired(as_of) and e.matches(finding)), None)


def find_ignore_file(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    """`--ignore FILE` if given (it must exist), else `.auditor-ignore.yaml` in `cwd` if present."""
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(explicit, "suppression file not found")
        return explicit
    candidate = (cwd or Path.cwd()) / IGNORE_FILENAME
    return candidate if candidate.is_file() else None


def load_suppressions(path: Path) -> SuppressionFile:
    """Parse and validate; every problem is reported with file, line and key (exit 2)."""
    data, positions = load_yaml_validated(path, "ignore")
    entries = []
    for number, raw in enumerate(data["suppressions"]):
        entries.append(
            Suppression(
                line=positions.line(("suppressions", number)),
                reason=raw["reason"].strip(),
                fingerprint=raw.get("fingerprint"),
                rule=raw.get("rule"),
                location=raw.get("location"),
                expires=parse_date(raw["expires"]) if raw.get("expires") else None,
                not_a_recording=bool(raw.get("not_a_session_recording")),
            )
        )
    # Absolute, as reports quote it: a report read elsewhere must still say which file it was.
    return SuppressionFile(Path(os.path.abspath(path)), tuple(entries))


def check_rule_ids(suppressions: SuppressionFile, known: Iterable[str]) -> None:
    """A rule id that matches nothing is a typo that would silently suppress nothing: refuse it."""
    known_ids = sorted(set(known))
    errors = []
    for number, entry in enumerate(suppressions.entries):
        if entry.rule is not None and entry.rule not in known_ids:
            import difflib  # here: only an error needs it, and start-up stays light

            close = difflib.get_close_matches(entry.rule, known_ids, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(
                InputError(
                    suppressions.path,
                    f"unknown rule id {entry.rule!r}{hint}",
                    line=entry.line,
                    key=f"suppressions[{number}].rule",
                )
            )
    if errors:
        raise InputError.from_errors(errors)


def apply_suppressions(result: dict[str, Any], suppressions: SuppressionFile) -> None:
    """Mark matching findings `suppressed` and record the entries (with use counts) in the result.

    Marks from an earlier run are replaced: the file given now is the one that counts.
    """
    as_of = date.fromisoformat(result["as_of"])
    matched = [0] * len(suppressions.entries)
    for finding in result["findings"]:
        finding.pop("suppressed", None)
        if finding.get("status") == "resolved":
            continue
        candidates = [i for i, entry in enumerate(suppressions.entries) if entry.matches(finding)]
        if not candidates:
            continue
        for i in candidates:
            matched[i] += 1
        live = [i for i in candidates if not suppressions.entries[i].expired(as_of)]
        if live:
            finding["suppressed"] = suppressions.entries[live[0]].mark(suppressions.path)
    marked = [0] * len(suppressions.entries)  # recordings each not-a-recording entry covers
    for recording in result.get("recordings", []):
        recording.pop("not_a_session_recording", None)
        location = str(recording.get("location", ""))
        covering = [i for i, e in enumerate(suppressions.entries) if e.covers(location)]
        for i in covering:
            marked[i] += 1
        live = [i for i in covering if not suppressions.entries[i].expired(as_of)]
        if live:
            recording["not_a_session_recording"] = suppressions.entries[live[0]].mark(suppressions.path)
    result["suppressions"] = {
        "file": str(suppressions.path),
        "entries": [
            {
                "line": entry.line,
                "fingerprint": entry.fingerprint,
                "rule": entry.rule,
                "location": entry.location,
                "not_a_session_recording": entry.not_a_recording,
                "reason": entry.reason,
                "expires": entry.expires.isoformat() if entry.expires else None,
                "expired": entry.expired(as_of),
                "matched": count,
                "recordings": covered,
            }
            for entry, count, covered in zip(suppressions.entries, matched, marked, strict=True)
        ],
    }


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """`*` and `?` stay within one folder, `**` crosses folders, `[...]` is a character class.

    A glob that does not start at a root (`/`, `s3://`) may match at any depth, like `**/glob`.
    """
    anchored = glob.startswith("/") or "://" in glob
    out = [] if anchored else ["(?:.*/)?"]
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := _class_end(glob, i)) != -1:
            body = glob[i + 1 : end]
            if body.startswith(("!", "^")):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _class_end(glob: str, start: int) -> int:
    """Index of the `]` closing the class opened at `start` (a leading `]` is a member), or -1."""
    j = start + 1
    if glob[j : j + 1] in ("!", "^"):
        j += 1
    if glob[j : j + 1] == "]":
        j += 1
    return glob.find("]", j)
