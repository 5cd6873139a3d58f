"""The audit's inputs: config, consent registry and rules, loaded and validated together.

Both `auditor scan` and the watch daemon (at start and on every reload) load them here, before
anything is scanned or written; every problem is an InputError naming file, line and key.
"""

from __future__ import annotations

from pathlib import Path

from auditor.config import Config, load_config
from auditor.consent.registry import ConsentRegistry, load_registry
from auditor.errors import InputError
from auditor.rules.registry import RuleSet, load_ruleset


def load_inputs(
    config_path: Path | None, consent_path: Path | None, extra_packs: tuple[Path, ...] = ()
) -> tuple[Config, ConsentRegistry | None, RuleSet]:
    """Config, consent registry and rules: all validated before anything is scanned or written."""
    if config_path is not None and not config_path.is_file():
        raise InputError(config_path, "config file not found")
    config = load_config(config_path)
    registry_path = consent_path or config.consent_registry
    registry = None
    if registry_path is not None:
        if not Path(registry_path).is_file():
            raise InputError(registry_path, "consent registry not found")
        registry = load_registry(Path(registry_path))
    ruleset = load_ruleset(config, extra_packs)
    return config, registry, ruleset
