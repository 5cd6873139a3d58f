"""Discover rules (entry points) and apply rule packs (YAML) and config on top of them.

Precedence, lowest first: the rule's own defaults, the built-in pack(s), packs from the config,
packs from --rules, then config `rules.severity` / `rules.disable`. Every rule id named anywhere
must exist: a typo in a compliance policy must not pass silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from auditor.config import Config
from auditor.errors import ConfigError, InputError
from auditor.resources import data_dir
from auditor.rules.base import Rule

ENTRY_POINT_GROUP = "auditor.rules"


@dataclass(frozen=True)
class ActiveRule:
    rule: Rule
    severity: str
    controls: tuple[str, ...]
    params: Mapping[str, Any]
    pack: str  # which pack last configured it ("builtin" when none did)


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    path: str
    title: str = ""


@dataclass
class RuleSet:
    active: list[ActiveRule]
    packs: list[PackInfo]
    disabled: list[str] = field(default_factory=list)
    load_errors: list[tuple[str, str]] = field(default_factory=list)  # (entry point, error) -> coverage gaps

    def by_id(self) -> dict[str, ActiveRule]:
        return {a.rule.id: a for a in self.active}


def discover_rules() -> tuple[dict[str, Rule], list[tuple[str, str]]]:
    """All rules registered in the `auditor.rules` group. A plugin that fails to load is reported, not fatal."""
    rules: dict[str, Rule] = {}
    errors: list[tuple[str, str]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken third-party plugin must not stop the audit
            errors.append((f"{ep.name} = {ep.value}", f"{type(exc).__name__}: {exc}"))
            continue
        if not isinstance(obj, Rule):
            errors.append((f"{ep.name} = {ep.value}", "entry point is not an auditor.rules.base.Rule"))
            continue
        rules.setdefault(obj.id, obj)  # the same dist seen twice on sys.path is not a conflict
    return rules, errors


def builtin_pack_paths() -> list[Path]:
    return sorted(data_dir("rules").glob("*.yaml"))


def load_ruleset(config: Config, extra_packs: Sequence[Path] = ()) -> RuleSet:
    from auditor.rules.packs import load_pack  # local import: packs needs the YAML machinery

    rules, load_errors = discover_rules()
    state: dict[str, dict[str, Any]] = {
        rid: {
            "severity": r.severity,
            "controls": tuple(r.controls),
            "params": dict(r.params),
            "enabled": True,
            "pack": "builtin",
        }
        for rid, r in rules.items()
    }
    packs: list[PackInfo] = []
    for path in [*builtin_pack_paths(), *config.rules.packs, *extra_packs]:
        pack = load_pack(Path(path), known_rule_ids=set(rules))
        packs.append(PackInfo(pack.name, pack.version, str(path), pack.title))
        for rid, entry in pack.rules.items():
            st = state[rid]
            if entry.severity is not None:
                st["severity"] = entry.severity
            if entry.controls is not None:
                st["controls"] = tuple(entry.controls)
            if entry.params:
                unknown = set(entry.params) - set(rules[rid].params)
                if unknown:
                    raise InputError(
                        path,
                        f"unknown parameter(s) {sorted(unknown)} for rule {rid}; it takes {sorted(rules[rid].params)}",
                        line=entry.line,
                        key=f"rules.{rid}.params",
                    )
                st["params"] = {**st["params"], **entry.params}
            if entry.enabled is not None:
                st["enabled"] = entry.enabled
            st["pack"] = pack.name

    _apply_config_overrides(config, state)
    active = [
        ActiveRule(rules[rid], st["severity"], st["controls"], st["params"], st["pack"])
        for rid, st in sorted(state.items())
        if st["enabled"]
    ]
    disabled = sorted(rid for rid, st in state.items() if not st["enabled"])
    return RuleSet(active=active, packs=packs, disabled=disabled, load_errors=load_errors)


def _apply_config_overrides(config: Config, state: dict[str, dict[str, Any]]) -> None:
    source = config.source or Path("auditor.yaml")

    def line(*path: str | int) -> int | None:
        return config.positions.line(path) if config.positions is not None else None

    for index, rid in enumerate(config.rules.disable):
        _require_known(rid, state, source, "rules.disable", line("rules", "disable", index))
        state[rid]["enabled"] = False
    for rid, severity in config.rules.severity.items():
        _require_known(rid, state, source, f"rules.severity.{rid}", line("rules", "severity", rid))
        state[rid]["severity"] = severity  # the config schema already restricts the values


def _require_known(rid: str, known: Iterable[str], source: Path, key: str, line: int | None) -> None:
    if rid not in set(known):
        import difflib

        hint = difflib.get_close_matches(rid, list(known), n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(source, f"unknown rule id {rid!r}{suggestion}", key=key, line=line)
