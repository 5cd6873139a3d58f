"""What `scan` and `report` say on the terminal, and on which stream.

- The summary goes to stdout, unless a report is going there (`--format`, `-o -`): then to
  stderr, so the report on stdout stays clean for a pipe.
- `--quiet` leaves only errors and warnings (a warning means something was left out of an
  output), both on stderr.
- Which config and which ignore file were picked up is said on stderr before the scan: a
  suppression file found by itself should never act unseen.

Every line goes through textsafe.for_terminal: paths and messages quote what is on disk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import STDOUT
from auditor.publish import PublishSettings
from auditor.textsafe import for_terminal


def count(n: int) -> str:
    """Every number on the terminal the same way: thousands separated by commas."""
    return f"{n:,}"


@dataclass
class Console:
    quiet: bool = False
    report_on_stdout: bool = False

    @classmethod
    def for_outputs(cls, outputs: Sequence[Path], quiet: bool) -> Console:
        return cls(quiet=quiet, report_on_stdout=STDOUT in outputs)

    def info(self, line: str) -> None:
        """The summary and `wrote ...`: stdout, or stderr when a report takes stdout."""
        if not self.quiet:
            click.echo(for_terminal(line), err=self.report_on_stdout)

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
        for line in summary_lines(result):
            self.info(line)
        for path in written:
            if path != STDOUT:
                self.info(f"wrote {path}")


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
    gaps = [g for g in cov["skipped"] if g["reason"] not in INTENTIONAL_SKIPS]
    if gaps:
        reasons = Counter(g["reason"] for g in gaps)
        why = ", ".join(f"{reason} {count(n)}" for reason, n in reasons.most_common())
        lines.append(f"INCOMPLETE: {count(len(gaps))} gap(s) in the audit ({why}); see the coverage section.")
    return lines
