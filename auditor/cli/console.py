"""What `scan` and `report` say on the terminal, and on which stream.

- The summary goes to stdout, unless a report is going there (`--format`, `-o -`): then to
  stderr, so the report on stdout stays clean for a pipe.
- `--quiet` leaves only errors and warnings (a warning means something was left out of an
  output), both on stderr.
- Which config and which ignore file were picked up is said on stderr before the scan: a
  suppression file found by itself should never act unseen.

- A stream that cannot take the summary is an output error (exit 2, one line), never a crash:
  a full disk (ENOSPC) says so; a reader that went away (`| head`, EPIPE) is let go quietly,
  as Unix tools do, and the exit code still tells.

Every line goes through textsafe.for_terminal: paths and messages quote what is on disk.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from auditor.cli import process_exit
from auditor.errors import OutputError
from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import STDOUT
from auditor.publish import PublishSettings
from auditor.textsafe import for_terminal


def count(n: int) -> str:
    """Every number on the terminal the same way: thousands separated by commas."""
    return f"{n:,}"


@dataclass
class Console:
    """What the command prints to the terminal besides the report (nothing with -q)."""

    quiet: bool = False
    report_on_stdout: bool = False

    @classmethod
    def for_outputs(cls, outputs: Sequence[Path], quiet: bool) -> Console:
        return cls(quiet=quiet, report_on_stdout=STDOUT in outputs)

    def info(self, line: str) -> None:
        """The summary and `wrote ...`: stdout, or stderr when a report takes stdout."""
        if not self.quiet:
            _echo(for_terminal(line), err=self.report_on_stdout)

    def note(self, line: str) -> None:
        """Context on stderr (which files were picked up); not under --quiet."""
        if not self.quiet:
            click.echo(f"auditor: {for_terminal(line)}", err=True)

    def warn(self, line: str) -> None:
        click.echo(f"auditor: warning: {for_terminal(line)}", err=True)

    def inputs(
        self, config: Path | None, settings: PublishSettings, *, config_given: bool, ignore_given: bool
    ) -> None:
        """Which config (`config`: the file loaded, None for the defaults) and ignore file are used."""
        ignore = settings.suppressions.path if settings.suppressions else None
        self.note(
            f"config: {_picked(config, config_given, 'auditor.yaml')}; "
            f"ignore file: {_picked(ignore, ignore_given, '.auditor-ignore.yaml')}"
        )

    def summary(self, result: dict[str, Any], written: Sequence[Path]) -> None:
        files = [path for path in written if path != STDOUT]
        try:
            for line in summary_lines(result):
                self.info(line)
            for path in files:
                self.info(f"wrote {path}")
        except OutputError as exc:  # the reports are whole: say so in the one line
            done = ", ".join(map(str, files)) or "none"
            raise OutputError(exc.path, f"{exc.message} (the reports were written: {done})") from exc


def _echo(line: str, *, err: bool) -> None:
    try:
        click.echo(line, err=err)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to tell it
        process_exit.discard_stream(sys.stderr if err else sys.stdout)
    except OSError as exc:
        raise OutputError(
            "stderr" if err else "stdout", f"could not write the summary: {exc.strerror or exc}"
        ) from exc


def _picked(path: Path | None, given: bool, default_name: str) -> str:
    if path is None:
        return f"none (no ./{default_name})"
    return f"{path}" if given else f"./{path.name} (found in the working directory)"


def summary_lines(result: dict[str, Any]) -> list[str]:
    s = result["summary"]
    cov = result["coverage"]
    by_severity = s.get("by_severity") or {}
    sev = ", ".join(f"{count(by_severity[k])} {k}" for k in SEVERITIES if by_severity.get(k))
    lines = [
        f"recording-auditor {result['tool']['version']}: as of {result['as_of']}, "
        f"{count(cov['files_seen'])} files seen, {count(s['recordings'])} recordings, "
        f"{count(s['compliant_recordings'])} compliant.",
        f"findings: {count(s['findings'])}"
        + (f" ({sev})" if sev else "")
        + (f", {count(s['suppressed'])} suppressed" if s.get("suppressed") else ""),
    ]
    categories = s.get("by_category") or {}
    width = max((len(c) for c in categories), default=0)
    lines += [f"  {cat:<{width}}  {count(n)}" for cat, n in categories.items()]
    lines += _baseline_lines(result.get("baseline"))
    lines += _suppression_lines(result.get("suppressions"))
    lines += _inventory_lines(cov.get("inventories"))
    gaps = [g for g in cov["skipped"] if g["reason"] not in INTENTIONAL_SKIPS]
    if gaps:
        reasons = Counter(g["reason"] for g in gaps)
        why = ", ".join(f"{reason} {count(n)}" for reason, n in reasons.most_common())
        lines.append(f"INCOMPLETE: {count(len(gaps))} gap(s) in the audit ({why}); see the coverage section.")
    return lines


def _inventory_lines(inventories: list[dict[str, Any]] | None) -> list[str]:
    """--inventory: which snapshot each bucket was read from, or why it was listed instead (a
    scan that was asked for an inventory and did not use one must say so where it is read)."""
    lines = []
    for entry in inventories or []:
        if entry.get("used"):
            newer = entry.get("newer_than_snapshot") or {}
            if newer.get("complete"):  # --inventory-list-pages read every page: nothing left unseen
                since = f"objects written since: listed ({count(newer.get('objects') or 0)})."
            else:
                since = "objects written since: see the coverage section."
            lines.append(
                f"S3 Inventory: s3://{entry['bucket']} read from the inventory of {entry['snapshot']} "
                f"({count(entry.get('rows') or 0)} rows); {since}"
            )
        else:
            lines.append(
                f"S3 Inventory NOT used for s3://{entry['bucket']} (listed instead): {entry.get('reason')}"
            )
    return lines


def _baseline_lines(baseline: dict[str, Any] | None) -> list[str]:
    if not baseline:
        return []
    return [
        f"since the baseline of {baseline['as_of']}: {count(baseline['new'])} new, "
        f"{count(baseline['resolved'])} resolved, {count(baseline['unchanged'])} unchanged."
    ]


NAMED_AT_MOST = 10  # suppression entries named one by one; the rest are counted


def _suppression_lines(suppressions: dict[str, Any] | None) -> list[str]:
    """Entries that no longer do what they say: expired ones (their findings count again) and
    ones that matched nothing (the file was fixed or moved, or the entry has a typo)."""
    if not suppressions:
        return []
    expired, unmatched = [], []
    for entry in suppressions.get("entries", []):
        used = entry.get("matched", 0) + entry.get("recordings", 0)
        if entry.get("expired") and used:
            expired.append(
                f"{_entry_name(suppressions, entry)} expired on {entry['expires']} "
                f"({count(used)} no longer suppressed)"
            )
        elif not used:
            gone = f" (expired on {entry['expires']})" if entry.get("expired") else ""
            unmatched.append(f"{_entry_name(suppressions, entry)} matched nothing{gone}")
    lines = []
    for kind, named in (("expired", expired), ("unmatched", unmatched)):
        if not named:
            continue
        lines.append(f"suppressions {kind}: {count(len(named))}")
        lines += [f"  {line}" for line in named[:NAMED_AT_MOST]]
        if len(named) > NAMED_AT_MOST:
            lines.append(f"  and {count(len(named) - NAMED_AT_MOST)} more (see the report's suppressions)")
    return lines


def _entry_name(suppressions: dict[str, Any], entry: dict[str, Any]) -> str:
    """`.auditor-ignore.yaml:12 (rule-id at location)`: where to find it and what it says."""
    if entry.get("fingerprint"):
        what = f"fingerprint {entry['fingerprint']}"
    elif entry.get("not_a_session_recording"):
        what = f"not a session recording: {entry.get('location')}"
    else:
        what = f"{entry.get('rule')} at {entry.get('location') or 'any location'}"
    return f"{suppressions.get('file')}:{entry.get('line')} ({what})"
