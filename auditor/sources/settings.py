"""Each source's own settings: its section of auditor.yaml (`sources: {<scheme>: {...}}`),
checked against the JSON Schema the source supplies, and its command-line options on top.

The config loader calls `section_errors` so that a bad section is reported with the file's
other problems (file:line:key); the engine calls `settings_for` when it builds a source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.errors import ConfigError, InputError, SourceError
from auditor.plugins import Plugin, registry
from auditor.sources.base import SourceSpec
from auditor.yamlsource import PositionIndex, schema_dict_errors

# A section for a source that supplies no schema takes no settings.
_NO_SETTINGS: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def spec_of(plugin: Plugin, target: str | None = None) -> SourceSpec:
    """The SourceSpec a source plugin registered; a SourceError when it cannot be loaded."""
    try:
        return SourceSpec.of(plugin.load())
    except Exception as exc:  # a broken plugin: say which, and go no further with it
        raise SourceError(
            target or f"{plugin.name}://",
            f"the {plugin.name} source from {plugin.provider} cannot be loaded: {type(exc).__name__}: {exc}",
        ) from exc


def section_errors(data: Any, positions: PositionIndex, display: str) -> list[InputError]:
    """Problems in the config's `sources` sections: a scheme no installed source serves, or a
    section its source's schema rejects. Empty when there is no `sources` key."""
    sections = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(sections, dict):
        return []  # absent, or not a mapping (the config schema reports that)
    properties: dict[str, Any] = {}
    problems: list[InputError] = []
    for scheme in registry().names("source"):
        plugin = registry().get("source", scheme)
        if plugin is None or scheme not in sections:
            properties[scheme] = {}
            continue
        try:
            spec = spec_of(plugin)
        except SourceError as exc:
            problems.append(
                ConfigError(
                    display, exc.message, line=positions.line(("sources", scheme)), key=f"sources.{scheme}"
                )
            )
            properties[scheme] = {}
            continue
        properties[scheme] = dict(spec.config_schema) if spec.config_schema is not None else _NO_SETTINGS
    wrapper = {
        "type": "object",
        "properties": {
            "sources": {"type": "object", "properties": properties, "additionalProperties": False}
        },
    }
    return problems + schema_dict_errors(data, wrapper, positions, display, ConfigError)


def settings_for(
    scheme: str, from_config: Mapping[str, Any] | None, from_cli: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One source's settings: its config section, with the options given on the command line
    (those not left out) on top."""
    merged = dict(from_config or {})
    for key, value in (from_cli or {}).items():
        if value is not None and value != () and value != []:
            merged[key] = list(value) if isinstance(value, tuple) else value
    return merged
