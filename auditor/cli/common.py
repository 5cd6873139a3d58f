"""Pieces shared by the subcommands: input-error handling, common options, progress, the summary."""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from auditor.errors import InputError, SeamError
from auditor.models import INTENTIONAL_SKIPS, SEVERITIES, Coverage
from auditor.publish import check_outputs
from auditor.textsafe import for_terminal

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


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
        help="auditor.yaml to use (default: ./auditor.yaml if present).",
    )(func)


def require_output_formats(outputs: Sequence[Path]) -> None:
    """An unknown -o extension is a usage error before any work: a long scan must not end in one."""
    try:
        check_outputs(outputs)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc


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


class Progress:
    """Files seen and rate on stderr, only when stderr is a terminal and not --quiet."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, coverage: Coverage) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.5:
            return
        self.last = now
        rate = coverage.files_seen / max(now - self.start, 1e-6)
        sys.stderr.write(
            f"\r  {coverage.files_seen:,} files, {coverage.recordings:,} recordings, {rate:,.0f} files/s   "
        )
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r" + " " * 72 + "\r")


def print_summary(result: dict[str, Any], written: list[Path]) -> None:
    s = result["summary"]
    cov = result["coverage"]
    sev = ", ".join(f"{s['by_severity'][k]} {k}" for k in SEVERITIES if s["by_severity"].get(k))
    click.echo(
        f"recording-auditor {result['tool']['version']}: as of {result['as_of']}, "
        f"{cov['files_seen']:,} files seen, {s['recordings']:,} recordings, {s['compliant_recordings']:,} compliant."
    )
    click.echo(
        f"findings: {s['findings']:,}"
        + (f" ({sev})" if sev else "")
        + (f", {s['suppressed']} suppressed" if s.get("suppressed") else "")
    )
    for cat, n in s["by_category"].items():
        click.echo(f"  {cat:<14} {n:,}")
    gaps = [g for g in cov["skipped"] if g["reason"] not in INTENTIONAL_SKIPS]
    if gaps:
        reasons = Counter(g["reason"] for g in gaps)
        why = ", ".join(f"{reason} {n:,}" for reason, n in reasons.most_common())
        click.echo(f"INCOMPLETE: {len(gaps):,} gap(s) in the audit ({why}); see the coverage section.")
    for path in written:
        click.echo(for_terminal(f"wrote {path}"))
