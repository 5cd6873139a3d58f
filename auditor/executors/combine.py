"""The tasks' results as one scan result: merged by `auditor merge`'s code (findings by
fingerprint, artifacts by location, breach clocks kept earliest), then shaped as the result of
one scan (no scopes: the tasks are parts of one audit, not machines), with the run's coverage.

A task that failed after its retry is a coverage gap naming its shard and its units: the audit
says it is incomplete and keeps everything the other tasks found."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditor.errors import InputError
from auditor.merge import MergeInput, merge
from auditor.rules.breach import restamp
from auditor.shard import ROOT_FILES, Shard

TASK_FAILED = "task-failed"
# A bucket split by key range is yielded by each task with a part of it, counting that part.
_BUCKET_COUNTS = ("objects_seen", "recordings", "delete_markers")
_MERGE_KEYS = ("scope", "host", "seen_in")  # what the merge adds to each entry about its scopes


@dataclass(frozen=True)
class Failure:
    shard: Shard
    error: str  # "KilledWorker: ..." or the task's own exception


def unit_text(shard: Shard) -> str:
    """The units of a planned shard, as a gap's location."""
    if shard.rest or shard.units is None:
        return "every unit not planned (created since the plan, or not listable before the scan)"
    names = sorted(shard.units)
    return ", ".join("the folder targets' own files" if u == ROOT_FILES else u for u in names)


def combine(
    results: Sequence[tuple[Shard, dict[str, Any]]],
    failures: Sequence[Failure],
    *,
    run_by: str,
    started: str,
    finished: str,
    executor: dict[str, Any],
    planning_calls: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One result from the tasks' results; InputError when every task failed (nothing was scanned)."""
    if not results:
        first = failures[0].error if failures else "no task ran"
        if failures and all(f.error.startswith("InputError: ") for f in failures):
            # Every task met the same kind of bad input (a bucket that does not exist): that is
            # the answer, not the workers' installation.
            raise InputError("--executor dask", f"nothing was scanned: {first.removeprefix('InputError: ')}")
        raise InputError(
            "--executor",
            f"every Dask task failed, nothing was scanned (is recording-auditor installed on the "
            f"workers, and can they reach the targets?): {first}",
        )
    inputs = []
    for shard, data in results:
        data["run_by"] = run_by  # one run, whichever worker ran each part
        encoded = json.dumps(data, sort_keys=True, default=str).encode()
        inputs.append(
            MergeInput(f"dask task {shard.spec}", data, hashlib.sha256(encoded).hexdigest(), saved=False)
        )
    counts = _bucket_counts(data for _, data in results)
    merged = merge(inputs, run_by=run_by)
    for bucket in merged["buckets"]:
        bucket["facts"] = {**(bucket.get("facts") or {}), **counts.get(bucket["location"], {})}
    merged.pop("scopes", None)
    for key in ("findings", "recordings", "buckets"):
        for entry in merged[key]:
            for extra in _MERGE_KEYS:
                entry.pop(extra, None)
    coverage = merged["coverage"]
    gaps: dict[tuple[Any, ...], dict[str, Any]] = {}
    for gap in coverage["skipped"]:
        if gap.get("reason") == "shard-missing":
            continue  # a failed task: said below, with its units
        gap = {k: v for k, v in gap.items() if k not in _MERGE_KEYS}
        # Every task meets what concerns the whole run (no consent registry, an account's
        # settings): said once, as one scan says it.
        gaps.setdefault((gap.get("location"), gap.get("reason"), gap.get("detail")), gap)
    for failure in failures:
        gaps[(failure.shard.spec, TASK_FAILED)] = {
            "location": unit_text(failure.shard),
            "reason": TASK_FAILED,
            "detail": f"Dask task {failure.shard.spec} failed, and again when retried, so these units were "
            f"not scanned: {failure.error}",
        }
    coverage["skipped"] = list(gaps.values())
    coverage["complete"] = coverage["complete"] and not failures
    coverage.pop("merged", None)
    for operation, count in (planning_calls or {}).items():  # the plan's own calls count too
        coverage["api_calls"][operation] = coverage["api_calls"].get(operation, 0) + count
    coverage["api_calls"] = dict(sorted(coverage["api_calls"].items()))
    coverage["executor"] = {**executor, "tasks": len(results) + len(failures), "failed": len(failures)}
    merged["started"], merged["finished"] = started, finished
    _clocks_from(merged["findings"], datetime.fromisoformat(started))
    return merged


def _clocks_from(findings: Iterable[dict[str, Any]], started: datetime) -> None:
    """A single scan starts every breach clock when it starts; each task started its own a little
    later. The run's start, as one scan's: the earlier clock, never a later one."""
    for finding in findings:
        try:
            discovered = datetime.fromisoformat(str((finding.get("evidence") or {}).get("discovered_at")))
        except ValueError:
            continue
        if discovered.tzinfo is not None and discovered > started:
            restamp(finding, started)


def _bucket_counts(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, int | None]]:
    """Each bucket's counts over the tasks: their units are disjoint, so the sums are the bucket's.
    A count one task could not make (an unlistable bucket: None) leaves the total unknown."""
    totals: dict[str, dict[str, int | None]] = {}
    for data in results:
        for bucket in data.get("buckets") or []:
            facts = bucket.get("facts") or {}
            total = totals.setdefault(bucket["location"], dict.fromkeys(_BUCKET_COUNTS, 0))
            for key in _BUCKET_COUNTS:
                mine, sofar = facts.get(key), total[key]
                total[key] = None if mine is None or sofar is None else sofar + int(mine)
    return totals
