"""`auditor status`: is the watch daemon running and healthy, and what findings are open."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from auditor.textsafe import for_terminal, json_for_terminal, terminal_lines
from auditor.watch.settings import default_state_dir
from auditor.watch.status import EXIT_UNREADABLE, StateError, read_status, render


@click.command()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The watch daemon's state directory (default as for `auditor watch`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--all", "show_all", is_flag=True, help="List every open finding, not only the first 20.")
def status(state_dir: Path | None, as_json: bool, show_all: bool) -> None:
    """Show the watch daemon's health, last rescan and open findings.

    Exit codes: 0 running and healthy; 1 running but degraded or still catching up;
    2 the state cannot be read; 3 not running.
    """
    try:
        report = read_status(state_dir or default_state_dir())
    except StateError as exc:
        click.echo(for_terminal(f"auditor: error: {exc}"), err=True)
        sys.exit(EXIT_UNREADABLE)
    if as_json:
        click.echo(json_for_terminal(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)))
    else:
        click.echo(terminal_lines(render(report, limit=None if show_all else 20)))
    sys.exit(report.exit_code)
