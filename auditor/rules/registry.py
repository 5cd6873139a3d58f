"""Discover rules (entry points) and apply rule packs (YAML) and config on top of them.

Precedence, lowest first: the rule's own defaults, the built-in pack(s), packs from the config,
packs from --rules, then config `rules.severity` / `rules.disable`. Every rule id named anywhere
must exist: a typo in a compliance policy must not pass silently.

No rule silently replaces another. An entry point's name must be its rule's id (RuleError
otherwise). When two distributions register one rule id, the audit stops (PluginConflict)
unless a rule pack chooses between them with `provider: <distribution>` in that rule's entry;
the last pack to choose wins, as for every other setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.config import Config
from auditor.errors import ConfigError, InputError, RuleError
from auditor.plugins import Plugin, conflict_error, registry
from auditor.resources import data_dir
from auditor.rules.base import Rule, param_specs

if TYPE_CHECKING:  # pragma: no cover - typing only; packs needs the YAML machinery
    from auditor.rules.packs import PackEntry


@dataclass(frozen=True)
class ActiveRule:
    """A rule as this scan runs it: its severity, controls and parameters after the packs."""

    rule: Rule
    severity: str
    controls: tuple[str, ...]
    params: Mapping[str, Any]
    pack: str  # which pack last configured it ("builtin" when none did)
    plugin: Plugin | None = None  # the entry point (and distribution) it came from


@dataclass(frozen=True)
class PackInfo:
    """A rule pack this scan loaded, for the result's record."""

    name: str
    version: str
    path: str
    title: str = ""


@dataclass
class RuleSet:
    """The rules a scan runs, the packs they came from, and what could not be loaded."""

    active: list[ActiveRule]
    packs: list[PackInfo]
    disabled: list[str] = field(default_factory=list)
    load_errors: list[tuple[str, str]] = field(default_factory=list)  # (entry point, error) -> coverage gaps

    def by_id(self) -> dict[str, ActiveRule]:
        return {a.rule.id: a for a in self.active}


@dataclass
class DiscoveredRules:
    """Every rule plugin loaded: one candidate per (rule id, distribution)."""

    candidates: dict[str, list[tuple[Rule, Plugin]]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (entry point, error) -> coverage gaps

    def ids(self) -> set[str]:
        return set(self.candidates)

    def choose(self, chosen: Mapping[str, tuple[str, Path, int | None]]) -> dict[str, tuple[Rule, Plugin]]:
        """One rule per id: the only candidate, or the distribution a pack chose (`chosen`: rule id
        -> (distribution, pack file, line)). A contested id nobody chose is a PluginConflict."""
        rules: dict[str, tuple[Rule, Plugin]] = {}
        for rid, found in sorted(self.candidates.items()):
            if rid in chosen:
                dist, path, line = chosen[rid]
                match = [c for c in found if c[1].distribution == dist]
                if not match:
                    offered = ", ".join(p.distribution for _, p in found)
                    raise InputError(
                        path,
                        f"provider {dist!r} does not provide rule {rid} (installed: {offered})",
                        line=line,
                        key=f"rules.{rid}.provider",
                    )
                rules[rid] = match[0]
            elif len(found) > 1:
                hint = f"choose one in a rule pack: rules: {{{rid}: {{provider: <distribution>}}}}"
                raise conflict_error("rule", rid, [p for _, p in found], hint)
            else:
                rules[rid] = found[0]
        return rules


def discover_rules() -> DiscoveredRules:
    """All rules registered in the `auditor.rules` group. A plugin that fails to load is reported
    (a coverage gap), not fatal; one whose entry-point name is not its rule's id is a RuleError."""
    found = DiscoveredRules()
    for plugin in registry().all("rule"):
        where = f"{plugin.name} = {plugin.value}"
        try:
            obj = plugin.load()
        except Exception as exc:  # a broken third-party plugin must not stop the audit
            found.errors.append((where, f"{type(exc).__name__}: {exc}"))
            continue
        if not isinstance(obj, Rule):
            found.errors.append((where, "entry point is not an auditor.rules.base.Rule"))
            continue
        if obj.id != plugin.name:
            raise RuleError(
                f"rule plugin {where} from {plugin.provider} is registered as {plugin.name!r} but its "
                f"rule's id is {obj.id!r}: an entry point's name must be its rule's id"
            )
        found.candidates.setdefault(obj.id, []).append((obj, plugin))
    return found


def builtin_pack_paths() -> list[Path]:
    return sorted(data_dir("rules").glob("*.yaml"))


def is_pack_name(path: Path) -> bool:
    """`--rules hygiene` (no folder, no .yaml/.yml) names an installed pack; anything else is a file."""
    return len(path.parts) == 1 and path.suffix.lower() not in (".yaml", ".yml") and not path.is_file()


def pack_path(path: Path) -> Path:
    """A pack file as given, or the file an installed pack of that name (`auditor.packs`) ships."""
    if not is_pack_name(path):
        return path
    name = str(path)
    plugin = registry().get("pack", name)
    if plugin is None:
        installed = ", ".join(registry().names("pack")) or "none"
        raise InputError(
            path, f"no such file, and no installed rule pack of that name (installed: {installed})"
        )
    try:
        shipped = Path(str(plugin.load()))
    except Exception as exc:  # a broken plugin: say which
        raise InputError(
            path, f"the pack from {plugin.provider} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    if not shipped.is_file():
        raise InputError(path, f"the pack from {plugin.provider} names {shipped}, which is not a file")
    return shipped


def load_ruleset(config: Config, extra_packs: Sequence[Path] = ()) -> RuleSet:
    from auditor.rules.packs import load_pack  # local import: packs needs the YAML machinery
    from auditor.rules.snapshot import load_builtin_packs

    discovered = discover_rules()
    known = discovered.ids()
    added = [pack_path(Path(p)) for p in [*config.rules.packs, *extra_packs]]
    loaded = load_builtin_packs(builtin_pack_paths(), known)
    loaded += [(path, load_pack(path, known_rule_ids=known)) for path in added]
    chosen = {
        rid: (entry.provider, path, entry.line)
        for path, pack in loaded
        for rid, entry in pack.rules.items()
        if entry.provider is not None
    }
    chosen_rules = discovered.choose(chosen)
    rules = {rid: rule for rid, (rule, _) in chosen_rules.items()}
    state: dict[str, dict[str, Any]] = {
        rid: {
            "severity": r.severity,
            "controls": tuple(r.controls),
            "params": {name: spec.default for name, spec in param_specs(r.params).items()},
            "enabled": True,
            "pack": "builtin",
        }
        for rid, r in rules.items()
    }
    packs: list[PackInfo] = []
    for path, pack in loaded:
        packs.append(PackInfo(pack.name, pack.version, str(path), pack.title))
        for rid, entry in pack.rules.items():
            st = state[rid]
            if entry.severity is not None:
                st["severity"] = entry.severity
            if entry.controls is not None:
                st["controls"] = tuple(entry.controls)
            if entry.params:
                st["params"] = {**st["params"], **_checked_params(rules[rid], entry, path)}
            if entry.enabled is not None:
                st["enabled"] = entry.enabled
            st["pack"] = pack.name

    _apply_config_overrides(config, state)
    active = [
        ActiveRule(rules[rid], st["severity"], st["controls"], st["params"], st["pack"], chosen_rules[rid][1])
        for rid, st in sorted(state.items())
        if st["enabled"]
    ]
    disabled = sorted(rid for rid, st in state.items() if not st["enabled"])
    return RuleSet(active=active, packs=packs, disabled=disabled, load_errors=discovered.errors)


def _checked_params(rule: Rule, entry: PackEntry, path: Path) -> dict[str, Any]:
    """A pack's params for `rule`, each checked against the rule's declared Param: an unknown
    name or a value of the wrong type is an error at its line, not a rule-error at run time."""
    specs = param_specs(rule.params)
    problems = []
    for name, value in entry.params.items():
        line = entry.param_lines.get(name, entry.line)
        key = f"rules.{rule.id}.params.{name}"
        if name not in specs:
            takes = ", ".join(sorted(specs)) or "no parameters"
            problems.append(
                InputError(
                    path, f"unknown parameter {name!r} (rule {rule.id} takes {takes})", line=line, key=key
                )
            )
        elif (problem := specs[name].problem(value)) is not None:
            problems.append(InputError(path, problem, line=line, key=key))
    if problems:
        raise InputError.from_errors(problems)
    return dict(entry.params)


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
