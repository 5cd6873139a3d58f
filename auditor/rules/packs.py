"""Rule packs: officer-readable YAML that selects and tunes rules (see rules/*.yaml)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.yamlsource import load_yaml_validated


@dataclass(frozen=True)
class PackEntry:
    """What a rule pack says of one rule, with the lines it says it on."""

    line: int | None
    enabled: bool | None = None
    severity: str | None = None
    controls: list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None  # the distribution chosen for a rule id two of them register
    param_lines: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RulePack:
    """A rule pack as loaded: its name, version, title and entries."""

    name: str
    version: str
    title: str
    rules: dict[str, PackEntry]


def load_pack(path: Path, known_rule_ids: Set[str]) -> RulePack:
    data, positions = load_yaml_validated(path, "rulepack")
    entries: dict[str, PackEntry] = {}
    for rid, settings in data["rules"].items():
        line = positions.line(("rules", rid))
        if rid not in known_rule_ids:
            import difflib

            hint = difflib.get_close_matches(rid, sorted(known_rule_ids), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise InputError(path, f"unknown rule id {rid!r}{suggestion}", line=line, key=f"rules.{rid}")
        settings = settings or {}
        entries[rid] = PackEntry(
            line=line,
            enabled=settings.get("enabled"),
            severity=settings.get("severity"),
            controls=settings.get("controls"),
            params=settings.get("params") or {},
            provider=settings.get("provider"),
            param_lines={
                name: positions.line(("rules", rid, "params", name)) for name in settings.get("params") or {}
            },
        )
    return RulePack(str(data["pack"]), str(data["version"]), str(data.get("title", "")), entries)
