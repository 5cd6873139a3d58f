"""`auditor report RESULT.json -o FILE...`: render any output format from a saved JSON result."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import EXIT_FINDINGS, EXIT_OK, input_errors_exit_2, print_summary
from auditor.outputs.base import OutputOptions
from auditor.publish import FAIL_ON_CHOICES, PublishSettings, check_outputs, publish
from auditor.result import load_result


@click.command()
@click.argument("result_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Output file; the format follows the extension. Repeatable.",
)
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="high", show_default=True)
@input_errors_exit_2
def report(result_path: Path, outputs: tuple[Path, ...], fail_on: str) -> None:
    """Render reports from a saved JSON result (CI keeps the JSON and renders later)."""
    try:
        check_outputs(outputs)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    data = load_result(result_path)
    written, failed = publish(
        data, PublishSettings(outputs=outputs, fail_on=fail_on, output_options=OutputOptions())
    )
    print_summary(data, written)
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)
