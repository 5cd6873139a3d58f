"""`auditor merge RESULT.json... -o FILE...`: many results (shards, machines, accounts) as one audit;
`s3://bucket/prefix/` stands for every *.json result under that prefix (a fleet's uploads)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli import process_exit
from auditor.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    config_option,
    input_errors_exit_2,
    output_options,
)
from auditor.cli.report import publishing_options, rendering_inputs
from auditor.publish import FAIL_ON_CHOICES, publish, publish_settings


@click.command()
@click.argument("result_paths", nargs=-1, required=True, metavar="RESULT.json|s3://BUCKET/PREFIX/...")
@output_options
@click.option(
    "--expect",
    "expect_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File naming the scopes that should be there, one a line (a host, an account id, or "
    "`host shard I/N`); each one missing is a coverage gap.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="high",
    show_default=True,
    help="Exit 1 when a merged finding is at or above this severity.",
)
@click.option("--profile", help="AWS profile for s3:// inputs (default: the standard credential chain).")
@click.option("--region", help="AWS region for s3:// inputs.")
@click.option("--endpoint-url", help="S3-compatible endpoint for s3:// inputs (MinIO, moto, ...).")
@config_option
@publishing_options
@input_errors_exit_2
def merge(
    result_paths: tuple[str, ...],
    outputs: tuple[Path, ...],
    stdout_format: str | None,
    quiet: bool,
    expect_path: Path | None,
    fail_on: str,
    config_path: Path | None,
    template_dir: Path | None,
    baseline: Path | None,
    ignore_path: Path | None,
    redact: bool,
    new_only: bool,
    sarif_category: str | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
) -> None:
    """Merge saved JSON results (from `--shard` scans, many machines or many accounts) into one audit.

    Findings are deduplicated by fingerprint; each input is kept as a scope (host, accounts,
    targets, scan time, coverage); a scope named by --expect but not given, or a missing shard,
    is a coverage gap. An s3:// argument is every *.json under that prefix (s3:ListBucket and
    s3:GetObject on it); one that cannot be listed or read stops the merge, never drops out of it.
    Exit codes as for `auditor scan`: 0, 1 findings at or above --fail-on, 2 an input that is not a
    compatible result or cannot be read (named with its key or s3:// URL), 70 internal error.
    """
    from auditor.merge import load_expected, load_inputs
    from auditor.merge import merge as merge_results
    from auditor.result import who_runs

    outputs, console, config = rendering_inputs(outputs, stdout_format, quiet, config_path)
    expected = load_expected(expect_path) if expect_path is not None else []
    s3_settings = None
    if any(p.startswith("s3://") for p in result_paths):
        from auditor.sources.s3.client import S3Settings

        s3_settings = S3Settings(profile=profile, region=region, endpoint_url=endpoint_url)
    inputs = load_inputs(result_paths, s3_settings)
    data = merge_results(inputs, expected, run_by=who_runs())
    known = {r["id"] for r in data["rules"] if isinstance(r, dict) and "id" in r}
    settings = publish_settings(
        outputs,
        fail_on,
        report=config.report,
        known_rules=sorted(known | {f["rule"] for f in data["findings"]}),
        template_dir=template_dir,
        ignore=ignore_path,
        baseline=baseline,
        redact=redact,
        new_only=new_only,
        owners=config.owners,
        sarif_category=sarif_category,
        stdout_format=stdout_format,
        warn=console.warn,
    )
    console.inputs(
        config.source, settings, config_given=config_path is not None, ignore_given=ignore_path is not None
    )
    written, failed = publish(data, settings)
    console.summary(data, written)
    process_exit.keep_until_exit(data)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)
