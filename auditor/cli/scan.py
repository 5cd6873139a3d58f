"""`auditor scan TARGET...`: audit folders, files and buckets."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import click

from auditor.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Progress,
    config_option,
    input_errors_exit_2,
    load_inputs,
    parse_as_of,
    print_summary,
)
from auditor.engine import run_scan, scheme_of
from auditor.errors import InputError
from auditor.outputs.base import OutputOptions
from auditor.publish import FAIL_ON_CHOICES, PublishSettings, check_outputs, publish
from auditor.result import result_to_dict
from auditor.sources.base import SourceOptions


@click.command()
@click.argument("targets", nargs=-1, required=True)
@config_option
@click.option(
    "--consent",
    "consent_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Consent registry (YAML or CSV); overrides consent_registry in the config.",
)
@click.option(
    "--rules",
    "rule_packs",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Add a rule pack (repeatable).",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a report; the format follows the extension (.json .html ...). Repeatable.",
)
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
    "--deep", is_flag=True, help="Sniff every file's content, not only files whose name leaves it open."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@input_errors_exit_2
def scan(
    targets: tuple[str, ...],
    config_path: Path | None,
    consent_path: Path | None,
    rule_packs: tuple[Path, ...],
    outputs: tuple[Path, ...],
    as_of: date,
    fail_on: str,
    excludes: tuple[str, ...],
    follow_symlinks: bool,
    deep: bool,
    quiet: bool,
) -> None:
    """Scan TARGETs (folders, files, s3://bucket[/prefix], s3://) for recordings and audit them."""
    try:
        check_outputs(outputs)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    for target in targets:
        if scheme_of(target) == "file" and not os.path.lexists(target):
            raise InputError(target, "no such file or folder")
    config, registry, ruleset = load_inputs(config_path, consent_path, rule_packs)
    progress = Progress(enabled=not quiet)
    options = SourceOptions(
        follow_symlinks=follow_symlinks,
        excludes=list(excludes),
        deep=deep,
        as_of=as_of,
        progress=progress,
    )
    result = run_scan(
        list(targets), config=config, ruleset=ruleset, registry=registry, as_of=as_of, options=options
    )
    progress.done()
    data = result_to_dict(result)
    settings = PublishSettings(
        outputs=outputs, fail_on=fail_on, output_options=OutputOptions(title=config.report.title)
    )
    written, failed = publish(data, settings)
    print_summary(data, written)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)
