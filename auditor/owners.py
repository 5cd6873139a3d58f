"""Who owns each fix: `owners:` in auditor.yaml gives findings an `owner` and a `due` day.

    owners:
      - path: Clinic/Recordings        # a folder (relative to auditor.yaml, or absolute) and all below it
        owner: Dr. Rivera (clinical lead)
        due_days: 14                   # due 14 days after the audit day
      - bucket: riverside-recordings   # the bucket and every object in it
        owner: IT, J. Chen
        due: 2027-01-31

The most specific entry wins (the longest path or bucket that holds the location; the first in
the file on a tie). A finding no entry covers has no owner, and the report says so. Owners are
set when a result is published (`auditor scan`, and `auditor report` with a config that has
`owners:`), before `--redact`, so they match real paths; they are staff, not clients, and stay
readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class OwnerRule:
    """Who answers for the findings under a folder or in a bucket, and by when (`owners`)."""

    owner: str
    path: str | None = None  # an absolute folder or file
    bucket: str | None = None
    due: date | None = None
    due_days: int | None = None

    @property
    def prefix(self) -> str:
        if self.bucket is not None:
            return f"s3://{self.bucket}"
        return str(self.path).rstrip("/") or "/"

    def reach(self, location: str) -> int:
        """How specific this entry is for `location` (the prefix's length), or -1 if it does not cover it."""
        prefix = self.prefix
        if location == prefix or location.startswith(prefix if prefix.endswith("/") else prefix + "/"):
            return len(prefix)
        return -1

    def due_on(self, as_of: date) -> date | None:
        if self.due is not None:
            return self.due
        if self.due_days is not None:
            return as_of + timedelta(days=self.due_days)
        return None


def owner_for(location: str, rules: Sequence[OwnerRule]) -> OwnerRule | None:
    best: OwnerRule | None = None
    best_reach = -1
    for rule in rules:
        reach = rule.reach(location)
        if reach > best_reach:
            best, best_reach = rule, reach
    return best


def assign_owners(result: dict[str, Any], rules: Sequence[OwnerRule]) -> None:
    """Set `owner` and `due` on every finding an entry covers (resolved ones keep what they had).
    With no entries, the marks already in the result stay (a re-render without owners: in the config)."""
    if not rules:
        return
    as_of = date.fromisoformat(str(result["as_of"]))
    cache: dict[str, OwnerRule | None] = {}
    for finding in result.get("findings", []):
        if finding.get("status") == "resolved":
            continue
        finding.pop("owner", None)
        finding.pop("due", None)
        location = str(finding.get("location", ""))
        if location not in cache:
            cache[location] = owner_for(location, rules)
        rule = cache[location]
        if rule is None:
            continue
        finding["owner"] = rule.owner
        due = rule.due_on(as_of)
        if due is not None:
            finding["due"] = due.isoformat()
