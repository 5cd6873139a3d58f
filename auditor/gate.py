"""The CI gate: which findings fail a run (exit 1). One predicate, used by the exit code and by
every output that shows pass or fail (JUnit), so that they can never disagree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor.models import SEVERITIES, severity_at_least

FAIL_ON_CHOICES = (*SEVERITIES, "none")


def fails_gate(finding: dict[str, Any], fail_on: str, new_only: bool = False) -> bool:
    """An active (not suppressed, not resolved) finding at or above `fail_on`.

    With `new_only`, only findings new since the baseline count; without a baseline every
    finding is new (the first run of a CI job has nothing to compare with)."""
    return (
        fail_on != "none"
        and severity_at_least(finding["severity"], fail_on)
        and not finding.get("suppressed")
        and finding.get("status") != "resolved"
        and (not new_only or finding.get("status", "new") == "new")
    )


def gate(findings: Iterable[dict[str, Any]], fail_on: str, new_only: bool = False) -> bool:
    """True when CI should fail."""
    return fail_on != "none" and any(fails_gate(f, fail_on, new_only) for f in findings)
