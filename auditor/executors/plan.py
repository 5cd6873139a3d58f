"""Plan a scan as units, one task each (auditor.shard names the units).

Each source that can list its units without scanning has `units(target, coverage)`: the S3
source lists buckets (`s3://`, every `--role-arn` account's) or a bucket's top-level prefixes;
the local source a folder target's top-level entries. Planning is best effort by design: one
more task owns every unit not planned (created since, or of a source without `units()`), so a
plan that misses a unit costs balance, never coverage.

The seam for S3 Inventory: a source scanning from an inventory returns the manifest's data
files as its units (and honours `options.shard.owns(name)` for each), and they become tasks
like any other unit; nothing here needs to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.config import Config
from auditor.engine import open_sources, source_plugin
from auditor.models import Coverage
from auditor.shard import Shard
from auditor.sources.base import SourceOptions


def plan_units(
    targets: Sequence[str],
    config: Config,
    options: SourceOptions,
    source_settings: Mapping[str, Mapping[str, Any]] | None = None,
    coverage: Coverage | None = None,
) -> list[str]:
    """The units of `targets`, in a stable order, each once. Targets are checked first (a bad
    one is a SourceError, exit 2, before any task runs), as a scan checks them. `coverage`
    counts the planning's API calls; its gaps are left out (the tasks meet and report them)."""
    sources = open_sources(targets, config, options, source_settings)
    coverage = coverage if coverage is not None else Coverage()
    units: dict[str, None] = {}
    for target in targets:
        _, source = sources[source_plugin(target).name]
        lister = getattr(source, "units", None)
        if lister is not None:
            units.update(dict.fromkeys(lister(target, coverage)))
    return list(units)


def shards_of(units: Sequence[str]) -> list[Shard]:
    """One shard per unit, and a last one for every unit not planned."""
    count = len(units) + 1
    planned = frozenset(units)
    return [
        *(Shard.planned(i, count, frozenset({unit})) for i, unit in enumerate(units, 1)),
        Shard.planned(count, count, planned, rest=True),
    ]
