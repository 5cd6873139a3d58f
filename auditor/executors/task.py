"""What one Dask task runs on a worker: the scan of one shard, returned as the JSON contract's dict.

The config, consent registry and rules come from the client, validated there once (a worker
reads no config file of its own, so every task judges by the same inputs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from auditor.config import Config
from auditor.consent.registry import ConsentRegistry
from auditor.engine import run_scan
from auditor.result import ResultParts, result_to_dict
from auditor.rules.registry import RuleSet
from auditor.shard import Shard
from auditor.sources.base import SourceOptions

Inputs = tuple[Config, ConsentRegistry | None, RuleSet]


@dataclass(frozen=True)
class ScanJob:
    """Everything of `auditor scan` a task needs but its shard; pickled to the workers."""

    targets: tuple[str, ...]
    as_of: date
    options: SourceOptions
    source_settings: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(
        cls,
        targets: tuple[str, ...],
        as_of: date,
        options: SourceOptions,
        source_settings: Mapping[str, Mapping[str, Any]],
    ) -> ScanJob:
        # No progress line on a worker, and no forking inside one (a Dask worker is a daemon
        # process, which may not have children; the cluster's processes are the parallelism).
        return cls(targets, as_of, replace(options, progress=None, jobs=1, fork_after=0), source_settings)


def scan_shard(job: ScanJob, inputs: Inputs, shard: Shard) -> dict[str, Any]:
    config, registry, ruleset = inputs
    parts = ResultParts()
    result = run_scan(
        list(job.targets),
        config=config,
        ruleset=ruleset,
        registry=registry,
        as_of=job.as_of,
        options=replace(job.options, shard=shard),
        on_judged=parts.add,
        source_settings=job.source_settings,
        keep=False,  # parts holds the result's lists: each artifact is freed once judged
    )
    return result_to_dict(result, parts, summary=False)  # the merge and publish() summarise
