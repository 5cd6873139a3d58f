"""`auditor report RESULT.json -o FILE...`: render any output format from a saved JSON result."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.cli import process_exit
from auditor.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    config_option,
    input_errors_exit_2,
    no_cyclic_gc,
    output_options,
    with_stdout,
)
from auditor.cli.console import Console
from auditor.cli.progress import Progress
from auditor.config import Config, load_config
from auditor.contract import load_result
from auditor.errors import InputError
from auditor.publish import FAIL_ON_CHOICES, publish, publish_settings

F = TypeVar("F", bound=Callable[..., Any])


def publishing_options(func: F) -> F:
    """Options shared by `scan` and `report`: how findings are marked, hidden and rendered."""
    options = [
        click.option(
            "--template",
            "template_dir",
            type=click.Path(path_type=Path, file_okay=False, exists=True),
            help="Folder of report templates overriding the built-in ones (see docs/report.md).",
        ),
        click.option(
            "--baseline",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Earlier JSON result: mark findings new/unchanged, add resolved ones, keep breach clocks.",
        ),
        click.option(
            "--ignore",
            "ignore_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Suppression file (default: ./.auditor-ignore.yaml if present).",
        ),
        click.option(
            "--redact",
            is_flag=True,
            help="Replace client ids and file/folder names with keyed pseudonyms in every output.",
        ),
        click.option(
            "--new-only",
            is_flag=True,
            help="Only findings new since --baseline fail (--fail-on); without a baseline all are new.",
        ),
        click.option(
            "--sarif-category",
            metavar="CATEGORY",
            help="SARIF runs[].automationDetails.id, so that uploads with different categories do not "
            "replace each other (default: none; upload-sarif's own category input then applies).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def rendering_inputs(
    outputs: tuple[Path, ...], stdout_format: str | None, quiet: bool, config_path: Path | None
) -> tuple[tuple[Path, ...], Console, Config]:
    """What `report` and `merge` check before reading any result: at least one output (a file or
    stdout), the console that matches them, and the config (a --config that is missing exits 2)."""
    outputs = with_stdout(outputs, stdout_format)
    if not outputs:
        raise click.UsageError("give at least one output: -o FILE, or --format FORMAT for stdout")
    console = Console.for_outputs(outputs, quiet)
    if config_path is not None and not config_path.is_file():
        raise InputError(config_path, "config file not found")
    return outputs, console, load_config(config_path)


@click.command()
@click.argument("result_path", type=click.Path(path_type=Path, dir_okay=False))
@output_options
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default=None,
    help="Exit 1 when a finding is at or above this severity (default: never; `report` only re-renders).",
)
@config_option
@publishing_options
@input_errors_exit_2
def report(
    result_path: Path,
    outputs: tuple[Path, ...],
    stdout_format: str | None,
    quiet: bool,
    fail_on: str | None,
    config_path: Path | None,
    template_dir: Path | None,
    baseline: Path | None,
    ignore_path: Path | None,
    redact: bool,
    new_only: bool,
    sarif_category: str | None,
) -> None:
    """Render reports from a saved JSON result (CI keeps the JSON and renders later).

    It only re-renders: the exit code is 0 unless --fail-on is given, which then gates as
    `auditor scan` does (after --ignore, --baseline and --new-only are applied).
    """
    outputs, console, config = rendering_inputs(outputs, stdout_format, quiet, config_path)
    progress = Progress.for_console(quiet, console.report_on_stdout)
    # As in scan: parsing a large result with the cyclic collector on takes 3-4 times as long.
    with no_cyclic_gc():
        try:
            progress.phase(f"reading {result_path.name}")  # a large result takes seconds to read
            data = load_result(result_path)
            known = {r["id"] for r in data.get("rules", [])} | {f["rule"] for f in data.get("findings", [])}
            progress.phase("reading the inputs")  # --baseline is a whole earlier result
            settings = publish_settings(
                outputs,
                fail_on or "none",
                report=config.report,
                known_rules=sorted(known),
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
        finally:
            progress.done()
        console.inputs(
            config.source,
            settings,
            config_given=config_path is not None,
            ignore_given=ignore_path is not None,
        )
        settings.on_phase = progress.phase
        try:
            written, failed = publish(data, settings)
        finally:
            progress.done()
    console.summary(data, written)
    process_exit.keep_until_exit(data)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)
