"""`auditor scan TARGET...`: audit folders, files and buckets."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from auditor.cli import process_exit
from auditor.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    config_option,
    consent_option,
    input_errors_exit_2,
    no_cyclic_gc,
    output_options,
    parse_as_of,
    rules_option,
    with_stdout,
)
from auditor.cli.console import Console
from auditor.cli.progress import Progress
from auditor.cli.report import publishing_options
from auditor.cli.source_options import WithSourceOptions, source_settings
from auditor.cli.state import open_register, state_option
from auditor.engine import ScanResult, run_scan
from auditor.executors import ExecutorSpec
from auditor.inputs import load_inputs
from auditor.publish import FAIL_ON_CHOICES, publish, publish_settings
from auditor.result import ResultParts, result_to_dict
from auditor.shard import Shard
from auditor.sources.base import SourceOptions
from auditor.sources.local.source import AUTO_FORK_AFTER, default_cold_jobs, default_jobs, default_warm_jobs


def parse_shard(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def parse_executor(_ctx: click.Context, _param: click.Parameter, value: str) -> ExecutorSpec:
    try:
        return ExecutorSpec.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command(cls=WithSourceOptions)
@click.argument("targets", nargs=-1, required=True)
@config_option
@consent_option
@rules_option
@output_options
@click.option(
    "--as-of",
    callback=parse_as_of,
    metavar="YYYY-MM-DD",
    help="Evaluate the audit as of this day (default: today).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="high",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Skip names or relative paths matching GLOB (repeatable).",
)
@click.option(
    "--follow-symlinks", is_flag=True, help="Follow symlinked directories and files (loops are detected)."
)
@click.option(
    "--deep",
    is_flag=True,
    help="Sniff every file's content, not only files whose name leaves it open (and text files only "
    "named after a recording or under transcript-like names); list large archives in full.",
)
@click.option(
    "-x",
    "--one-file-system",
    is_flag=True,
    help="Stay on each target's filesystem, like find -xdev; mount points left out are listed in the "
    "coverage. Pseudo filesystems (/proc, /sys, /dev...) are never walked either way.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    show_default="one process until the tree passes 5,000 files, then one per CPU if the files read so "
    "far were in the page cache, four per CPU if not (a cold disk), two per CPU where the "
    "filesystem cannot say, at most 8",
    help="Processes for walking local trees (1 = a single process; N forks N as soon as the tree is "
    "wide enough). Reading file heads waits on the disk when the cache is cold, so more processes "
    "than CPUs keep more reads in flight. The output's order is the same for every N. With "
    "--executor dask: the local cluster's worker processes "
    "(default one per CPU, at most 8).",
)
@click.option(
    "--shard",
    callback=parse_shard,
    metavar="I/N",
    help="Scan only the I-th of N deterministic shares of the work (each top-level folder of a folder "
    "target, each bucket), e.g. on N machines; put the results together with `auditor merge`.",
)
@click.option(
    "--executor",
    callback=parse_executor,
    default="local",
    show_default=True,
    metavar="local|dask[:ADDRESS]",
    help="Where the scan runs: local (this process), or dask: one task per unit (each bucket, each "
    "top-level prefix of a bucket target, each top-level entry of a folder target) on a Dask "
    "LocalCluster of processes, or on the scheduler at ADDRESS (needs the [dask] extra); the "
    "results are merged into one. See docs/scale.md.",
)
@state_option
@publishing_options
@input_errors_exit_2
def scan(
    targets: tuple[str, ...],
    config_path: Path | None,
    consent_path: Path | None,
    rule_packs: tuple[Path, ...],
    outputs: tuple[Path, ...],
    stdout_format: str | None,
    quiet: bool,
    as_of: date,
    fail_on: str,
    excludes: tuple[str, ...],
    follow_symlinks: bool,
    deep: bool,
    one_file_system: bool,
    jobs: int | None,
    shard: Shard | None,
    executor: ExecutorSpec,
    state_dir: Path | None,
    template_dir: Path | None,
    baseline: Path | None,
    ignore_path: Path | None,
    redact: bool,
    new_only: bool,
    sarif_category: str | None,
    **source_values: Any,
) -> None:
    """Scan TARGETs (folders, files, s3://bucket[/prefix], s3://) for recordings and audit them.

    Exit codes: 0 no finding at or above --fail-on; 1 there are such findings; 2 usage, config,
    input or output error (nothing is scanned, or the reports could not be written); 70 internal error.
    """
    if executor.name == "dask" and shard is not None:
        raise click.UsageError(
            "--shard and --executor dask: choose one (Dask runs every unit of the targets as its own task)"
        )
    outputs = with_stdout(outputs, stdout_format)
    console = Console.for_outputs(outputs, quiet)
    progress = Progress.for_console(quiet, console.report_on_stdout)
    config, registry, ruleset = load_inputs(config_path, consent_path, rule_packs)
    settings = publish_settings(
        outputs,
        fail_on,
        report=config.report,
        known_rules=[a.rule.id for a in ruleset.active] + list(ruleset.disabled),
        template_dir=template_dir,
        ignore=ignore_path,
        baseline=baseline,
        redact=redact,
        new_only=new_only,
        owners=config.owners,
        sarif_category=sarif_category,
        stdout_format=stdout_format,
        warn=progress.interject(console.warn),
    )
    console.inputs(
        config.source, settings, config_given=config_path is not None, ignore_given=ignore_path is not None
    )
    register = open_register(state_dir, config, create=True)  # before the scan: a bad one exits 2 now
    if register is not None:
        from auditor.breach.observe import record_result

        settings.record_breaches = lambda data: record_result(register, data)
    options = SourceOptions(
        follow_symlinks=follow_symlinks,
        # Without --jobs, forking waits until the tree has shown it is big enough to repay it.
        jobs=jobs or default_jobs(),
        fork_after=0 if jobs else AUTO_FORK_AFTER,
        jobs_when_warm=None if jobs else default_warm_jobs(),
        jobs_when_cold=None if jobs else default_cold_jobs(),
        excludes=list(excludes),
        deep=deep,
        one_file_system=one_file_system,
        as_of=as_of,
        progress=progress,
        shard=shard,
    )
    with no_cyclic_gc():
        result: ScanResult | None = None
        parts = ResultParts()  # built as the artifacts are judged, not all after the walk
        try:
            if executor.name == "dask":
                data = scan_on_dask(
                    targets,
                    (config, registry, ruleset),
                    options,
                    source_settings(source_values),
                    executor,
                    progress,
                    workers=jobs,
                )
            else:
                result = run_scan(
                    list(targets),
                    config=config,
                    ruleset=ruleset,
                    registry=registry,
                    as_of=as_of,
                    options=options,
                    on_judged=parts.add,
                    keep=False,  # parts holds the result's lists: the objects are freed once judged
                    source_settings=source_settings(source_values),
                )
        except KeyboardInterrupt:
            progress.done()  # the line saying so starts on a clean line
            raise
        # The steps after the walk can take tens of seconds on a large scan: the line says which.
        settings.on_phase = progress.phase
        if result is not None:
            progress.phase("building results")
            data = result_to_dict(result, parts, summary=False)  # publish() summarises
        try:
            written, failed = publish(data, settings)
        finally:
            progress.done()
    if register is not None:
        register.close()
    console.summary(data, written)
    process_exit.keep_until_exit(result, data)  # freeing them is the process's last act anyway
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


def scan_on_dask(
    targets: tuple[str, ...],
    inputs: Any,
    options: SourceOptions,
    settings: dict[str, dict[str, Any]],
    executor: ExecutorSpec,
    progress: Progress,
    *,
    workers: int | None = None,
) -> dict[str, Any]:
    """--executor dask: the targets planned as units, each a task, merged into one result;
    `workers` (-j) processes in the LocalCluster."""
    from auditor.executors import on_dask
    from auditor.executors.plan import plan_units, shards_of
    from auditor.executors.task import ScanJob
    from auditor.models import Coverage

    assert options.as_of is not None
    progress.phase("planning the Dask tasks")
    planning = Coverage()
    units = plan_units(targets, inputs[0], options, settings, planning)
    job = ScanJob.of(targets, options.as_of, options, settings)
    progress.phase(f"starting {len(units) + 1} Dask tasks on {executor.address or 'a local cluster'}")
    return on_dask.run(
        job,
        inputs,
        shards_of(units),
        address=executor.address,
        planning_calls=planning.api_calls,
        workers=workers,
        on_done=lambda done, total: progress.phase(f"Dask tasks: {done:,} of {total:,} done"),
    )
