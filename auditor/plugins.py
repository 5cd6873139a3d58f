"""One registry of the installed plugins: sources, output formats, rules and rule packs.

Every kind registers through an entry-point group, the built-in ones exactly as a third-party
package would (pyproject.toml). The groups are read once per process, here, and each entry
keeps the distribution that declared it, so that

- no plugin silently replaces another: two distributions claiming one name (a URL scheme, a
  file extension, a rule id, a pack name) are a `PluginConflict` naming both, whenever that
  name is used; a contested rule may be settled by a rule pack (`provider:`, see rules/registry);
- `auditor plugins` and `auditor rules` can say which distribution provides what, and the
  result's `tool.plugins` records the ones that took part in an audit.

Loading a plugin's object (`Plugin.load`) is left to the seam that uses it: the rule registry
checks that a rule's entry-point name is its id, the engine builds sources, `outputs.base`
finds writers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditor import installed
from auditor.errors import PluginConflict

# kind -> entry-point group
GROUPS: dict[str, str] = {
    "source": "auditor.sources",
    "output": "auditor.outputs",
    "rule": "auditor.rules",
    "pack": "auditor.packs",
}
# What a name means in each kind, for messages.
NAME_MEANS = {"source": "URL scheme", "output": "output format", "rule": "rule id", "pack": "rule pack"}


@dataclass(frozen=True)
class Plugin:
    """One entry point, with the distribution that declared it."""

    kind: str  # source | output | rule | pack
    name: str  # the entry point's name: scheme, extension, rule id, pack name
    value: str  # "module:attribute"
    distribution: str  # e.g. "recording-auditor"; "unknown" when it came without metadata
    version: str

    def load(self) -> Any:
        return installed.load(self.value)

    @property
    def provider(self) -> str:
        """`distribution version`, as reports and messages show it."""
        return f"{self.distribution} {self.version}"

    def describe(self) -> str:
        return f"{self.provider} ({self.value})"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "value": self.value,
            "distribution": self.distribution,
            "version": self.version,
        }


def conflict_error(kind: str, name: str, claims: Iterable[Plugin], hint: str = "") -> PluginConflict:
    claimed = " and ".join(p.describe() for p in claims)
    text = f"{NAME_MEANS[kind]} {name!r} is claimed by two distributions: {claimed}"
    return PluginConflict(kind, name, text + (f"; {hint}" if hint else "; uninstall one of them"))


class PluginRegistry:
    """The entry points of every plugin group, grouped by kind and name."""

    def __init__(self, found: Iterable[installed.Found]) -> None:
        self._by_name: dict[str, dict[str, list[Plugin]]] = {kind: defaultdict(list) for kind in GROUPS}
        kinds = {group: kind for kind, group in GROUPS.items()}
        for ep in found:
            kind = kinds.get(ep.group)
            if kind is None:
                continue
            plugin = Plugin(kind, ep.name, ep.value, ep.distribution or "unknown", ep.version or "?")
            claims = self._by_name[kind][ep.name]
            # The same distribution seen twice on sys.path (an editable install and a copy) is one claim.
            if not any(c.distribution == plugin.distribution for c in claims):
                claims.append(plugin)

    @classmethod
    def from_environment(cls) -> PluginRegistry:
        # One pass over the installed distributions for all the groups, without importing
        # importlib.metadata (auditor/installed.py) unless sys.path holds what only it reads.
        found = installed.read(frozenset(GROUPS.values()))
        return cls(found if found is not None else _from_importlib_metadata())

    def all(self, kind: str) -> list[Plugin]:
        """Every claim of this kind, sorted by name then distribution."""
        return sorted(
            (p for claims in self._by_name[kind].values() for p in claims),
            key=lambda p: (p.name, p.distribution),
        )

    def names(self, kind: str) -> list[str]:
        return sorted(self._by_name[kind])

    def claims(self, kind: str, name: str) -> list[Plugin]:
        return list(self._by_name[kind].get(name, ()))

    def get(self, kind: str, name: str) -> Plugin | None:
        """The one plugin of `kind` called `name`; None when there is none, PluginConflict when
        two distributions claim it."""
        claims = self.claims(kind, name)
        if len(claims) > 1:
            raise conflict_error(kind, name, claims)
        return claims[0] if claims else None

    def conflicts(self) -> list[tuple[str, str, list[Plugin]]]:
        """(kind, name, claims) for every name more than one distribution claims."""
        return [
            (kind, name, list(claims))
            for kind in GROUPS
            for name, claims in sorted(self._by_name[kind].items())
            if len(claims) > 1
        ]


def _from_importlib_metadata() -> list[installed.Found]:
    from importlib.metadata import entry_points

    found = []
    # A distribution's name and version come from parsing its METADATA: once per distribution,
    # not twice per entry point (the built-in ones alone are thirty).
    identities: dict[int, tuple[str | None, str | None]] = {}
    everything = entry_points()
    for ep in (ep for group in GROUPS.values() for ep in everything.select(group=group)):
        dist = ep.dist
        if dist is not None and id(dist) not in identities:
            meta = dist.metadata
            identities[id(dist)] = (meta["Name"], meta["Version"])
        name, version = identities[id(dist)] if dist is not None else (None, None)
        found.append(installed.Found(ep.group, ep.name, ep.value, name, version))
    return found


_registry: PluginRegistry | None = None


def registry() -> PluginRegistry:
    """The process's registry, read from the installed distributions on first use."""
    global _registry
    if _registry is None:
        _registry = PluginRegistry.from_environment()
    return _registry


def reset_registry() -> None:
    """Forget what was read (a test that installs or removes a plugin in-process)."""
    global _registry
    _registry = None
