"""The merged report's scopes (`auditor merge`, docs/scale.md): one row per machine, account or
shard merged, with its coverage and open findings, and one per expected scope that sent nothing.

Each row drills down: in a merged result every finding's group is its scope (rows.group_of), so
the findings table's group filter shows one scope's findings.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor.models import SEVERITIES
from auditor.posture import is_active


def scope_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Empty for a result that is not a merge."""
    scopes = [s for s in result.get("scopes") or [] if isinstance(s, dict)]
    if not scopes:
        return []
    open_by_scope: dict[str, Counter[str]] = {}
    for finding in result.get("findings", []):
        if is_active(finding):
            open_by_scope.setdefault(str(finding.get("scope")), Counter())[str(finding.get("severity"))] += 1
    gaps = Counter(str(g.get("scope")) for g in (result.get("coverage") or {}).get("skipped") or [])
    rows = []
    for scope in scopes:
        name = str(scope.get("name"))
        coverage = scope.get("coverage") or {}
        counts = open_by_scope.get(name, Counter())
        rows.append(
            {
                "name": name,
                "missing": False,
                "accounts": scope.get("accounts") or [],
                "targets": scope.get("targets") or [],
                "started": scope.get("started"),
                "as_of": scope.get("as_of"),
                "complete": bool(coverage.get("complete")),
                "gaps": gaps.get(name, 0),
                "recordings": coverage.get("recordings", scope.get("recordings")),
                "open": sum(counts.values()),
                "by_severity": [(s, counts[s]) for s in SEVERITIES if counts.get(s)],
                "file": scope.get("file"),
            }
        )
    for gap in (result.get("coverage") or {}).get("skipped") or []:
        if gap.get("reason") in ("scope-missing", "shard-missing"):
            rows.append({"name": str(gap.get("scope")), "missing": True, "detail": str(gap.get("detail"))})
    return rows
