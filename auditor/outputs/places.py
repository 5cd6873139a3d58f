"""Where a location belongs: its scan target, and the group a report shows it under.

Shared by the outputs that arrange findings by place (the HTML report's groups, JUnit's one test
suite per target); it reads only the result dict.
"""

from __future__ import annotations

from typing import Any


class Places:
    """Which target a location belongs to, and its group: the target plus top folder, or the bucket."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.target_of: dict[str, str] = {}
        for item in (*result.get("recordings", []), *result.get("buckets", [])):
            if item.get("target"):
                self.target_of[item["location"]] = str(item["target"])
        targets = set(self.target_of.values()) | {t for t in result.get("targets", []) if t}
        self.targets = sorted(targets, key=len, reverse=True)

    def target(self, location: str) -> str:
        known = self.target_of.get(location)
        if known:
            return known
        for target in self.targets:
            if location.startswith(target.rstrip("/") + "/") or location == target:
                return target
        return location.rpartition("/")[0] or location

    def group(self, location: str) -> str:
        if location.startswith("s3://"):
            return "s3://" + location[5:].split("/", 1)[0]
        target = self.target(location).rstrip("/")
        rel = location[len(target) :].lstrip("/") if location.startswith(target) else ""
        if "/" in rel:
            return f"{target}/{rel.split('/', 1)[0]}/"
        return target + "/" if target else location
