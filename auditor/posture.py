"""Posture per framework: for each control the active rules enforce, did it pass, and for how many recordings.

Controls are written "FRAMEWORK section" (e.g. "HIPAA 164.312(a)(2)(iv)", "GDPR Art 32", "APA 6.02").
A control fails when any active finding (not suppressed, not resolved) carries it; the count is
of distinct recordings (or buckets) with such a finding.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

# Report groups: APA and ACA are the two professional codes and are shown together.
FRAMEWORKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HIPAA", ("HIPAA",)),
    ("GDPR", ("GDPR",)),
    ("APA/ACA", ("APA", "ACA")),
)
OTHER = "Other"


def framework_of(control: str) -> str:
    prefix = control.split(" ", 1)[0]
    for name, prefixes in FRAMEWORKS:
        if prefix in prefixes:
            return name
    return OTHER


def _label(control: str) -> str:
    """The control without its framework word where the card already names it ("HIPAA 164.402" -> "164.402")."""
    prefix, _, rest = control.partition(" ")
    return rest if rest and prefix in ("HIPAA", "GDPR") else control


def _natural(text: str) -> list[Any]:
    """'GDPR Art 5' before 'GDPR Art 32'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def is_active(finding: dict[str, Any]) -> bool:
    return not finding.get("suppressed") and finding.get("status") != "resolved"


def framework_posture(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per framework that has controls: its controls with passed/failed and counts."""
    rules_for: dict[str, set[str]] = defaultdict(set)
    for rule in result.get("rules", []):
        for control in rule.get("controls", []):
            rules_for[control].add(rule["id"])
    failing: dict[str, set[str]] = defaultdict(set)
    findings_for: dict[str, int] = defaultdict(int)
    for finding in result.get("findings", []):
        if not is_active(finding):
            continue
        for control in finding.get("controls", []):
            failing[control].add(finding["location"])
            findings_for[control] += 1
            rules_for[control].add(finding["rule"])
    evaluated = len(result.get("recordings", [])) + len(result.get("buckets", []))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for control in sorted(rules_for, key=_natural):
        failed = len(failing.get(control, ()))
        groups[framework_of(control)].append(
            {
                "control": control,
                "label": _label(control),
                "status": "failed" if failed else "passed",
                "failed": failed,
                "passed": max(evaluated - failed, 0),
                "evaluated": evaluated,
                "findings": findings_for.get(control, 0),
                "rules": sorted(rules_for[control]),
            }
        )
    order = [name for name, _ in FRAMEWORKS] + [OTHER]
    return [
        {
            "framework": name,
            "controls": groups[name],
            "failed": sum(1 for c in groups[name] if c["status"] == "failed"),
            "passed": sum(1 for c in groups[name] if c["status"] == "passed"),
        }
        for name in order
        if groups.get(name)
    ]
