"""Pieces shared by the subcommands: input-error handling and common options.

The progress line is auditor.cli.progress; the summary and other terminal lines auditor.cli.console.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from auditor.errors import InputError, SeamError
from auditor.outputs.base import STDOUT
from auditor.textsafe import for_terminal

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
# An unexpected exception: a bug, never "findings" (1) nor a usage error (2). 70 is EX_SOFTWARE
# of sysexits.h; 3 is taken by `auditor status` (the daemon is not running).
EXIT_INTERNAL = 70


def input_errors_exit_2(func: F) -> F:
    """Bad input is reported with file, line and key, and exits 2 before any report is written;
    so is a problem at a plugin seam (a conflict, an unknown scheme, a target a source refuses)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            click.echo(input_error_text(exc), err=True)
            sys.exit(EXIT_INPUT)
        except SeamError as exc:  # a plugin's name or a target's text: terminal-safe too
            click.echo("auditor: error: " + for_terminal(str(exc)), err=True)
            sys.exit(EXIT_INPUT)

    return cast(F, wrapper)


def input_error_text(exc: InputError) -> str:
    """`auditor: error: file:line: key: message`, one line per problem, each made terminal-safe:
    keys and file names are what the user (or an attacker) wrote, escape sequences included."""
    return "auditor: error: " + "\n".join(for_terminal(e.location_text()) for e in exc.errors)


def parse_as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="auditor.yaml to use (default: ./auditor.yaml if present; never one inside the scanned tree).",
    )(func)


def output_options(func: F) -> F:
    """-o FILE (repeatable), -o - and --format FORMAT for a report on stdout, --quiet."""
    options = [
        click.option(
            "-o",
            "--output",
            "outputs",
            multiple=True,
            type=click.Path(path_type=Path, allow_dash=True),  # checked by check_outputs: one clear line
            help="Write a report; the format follows the extension (.json .html .sarif .xml .csv .md). "
            "Repeatable. `-o -` writes the --format report to stdout.",
        ),
        click.option(
            "--format",
            "stdout_format",
            metavar="FORMAT",
            help="Write a report in FORMAT (json, sarif, xml, csv, md, html) to stdout; the summary then "
            "goes to stderr.",
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            help="Print nothing but errors and warnings (no progress, no summary).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def with_stdout(outputs: tuple[Path, ...], stdout_format: str | None) -> tuple[Path, ...]:
    """--format alone means "to stdout", as `-o -` does: `auditor scan /srv --format sarif > x.sarif`."""
    if stdout_format is not None and STDOUT not in outputs:
        return (*outputs, STDOUT)
    return outputs


def consent_option(func: F) -> F:
    return click.option(
        "--consent",
        "consent_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Consent registry (YAML or CSV); overrides consent_registry in the config.",
    )(func)


def rules_option(func: F) -> F:
    return click.option(
        "--rules",
        "rule_packs",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="Add a rule pack (repeatable).",
    )(func)


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """A one-shot scan builds hundreds of thousands of objects and no reference cycles worth
    collecting; the cyclic collector's repeated full passes over them cost more than a third of
    building the result. Reference counting still frees everything as usual.

    On the way out those objects are frozen (gc.freeze) before the collector is switched back on:
    otherwise its first pass walks all of them once more, for nothing, just before the process
    ends (about 0.2 s after a million-file scan). Only for one-shot commands, never a daemon."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()
