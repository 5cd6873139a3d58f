"""`auditor breach ...`: the breach register, the access evidence, the assessment pack.

    auditor breach list [--all]            every breach not closed (or all), with time left
    auditor breach show ID                 one breach, its exposure window and its audit trail
    auditor breach assess ID --outcome O --note TEXT
                                           record the officer's outcome; appended, never replaced

The register lives in the state folder: `--state DIR`, else `state_dir` in the config, else the
watch daemon's default state folder. `auditor scan --state DIR` and `auditor watch` fill it.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.breach.register import OUTCOMES, Breach, BreachRegister, RegisterError, time_left
from auditor.cli.common import config_option, input_errors_exit_2
from auditor.config import Config, load_config
from auditor.errors import InputError
from auditor.outputs.html.text import visible

F = TypeVar("F", bound=Callable[..., Any])


def state_option(func: F) -> F:
    return click.option(
        "--state",
        "state_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="State folder holding the breach register (default: state_dir in the config).",
    )(func)


def open_register(state_dir: Path | None, config: Config, *, create: bool) -> BreachRegister | None:
    """The register named by --state or the config; None when neither names one. Exit 2 if unusable."""
    folder = state_dir or config.state_dir
    if folder is None:
        return None
    try:
        return BreachRegister(folder, create=create)
    except RegisterError as exc:
        raise InputError(exc.path, exc.message) from exc


def who_am_i() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _existing_register(state_dir: Path | None, config_path: Path | None) -> BreachRegister:
    if config_path is not None and not config_path.is_file():
        raise InputError(config_path, "config file not found")
    config = load_config(config_path)
    folder = state_dir or config.state_dir
    if folder is None:
        from auditor.watch.settings import default_state_dir

        folder = default_state_dir()
    register = open_register(folder, config, create=False)
    assert register is not None
    return register


def _get(register: BreachRegister, breach_id: int) -> Breach:
    breach = register.get(breach_id)
    if breach is None:
        raise InputError(register.path, f"no breach {breach_id} in the register")
    return breach


# -- formatting -------------------------------------------------------------------------------------


def _when(text: str | None) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _line(record: dict[str, Any]) -> str:
    clocks = record["clocks"]
    clients = len(record["clients"])
    return (
        f"{record['id']:>5}  {record['status']:<23}  discovered {_when(record['first_discovered'])}  "
        f"GDPR {time_left(clocks['gdpr_seconds_left'])}, HIPAA {time_left(clocks['hipaa_seconds_left'])}  "
        f"{clients or 'no'} client{'s' if clients != 1 else ''}  {visible(record['location'])}"
    )


# -- the commands -----------------------------------------------------------------------------------


@click.group()
def breach() -> None:
    """The breach register: list, show and assess breaches; read access evidence; write the pack."""


@breach.command("list")
@state_option
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include closed breaches (assessed and contained).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@input_errors_exit_2
def list_breaches(state_dir: Path | None, config_path: Path | None, show_all: bool, as_json: bool) -> None:
    """Every breach that is not closed, contained ones included, with the time left on each clock."""
    with _existing_register(state_dir, config_path) as register:
        chosen = register.all() if show_all else register.not_closed()
        now = datetime.now(UTC)
        records = [b.to_dict(now) for b in chosen]
    if as_json:
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo("no breaches to assess" if not show_all else "the register is empty")
        return
    for record in records:
        click.echo(_line(record))


@breach.command("show")
@click.argument("breach_id", type=int)
@state_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the record and its audit trail as JSON.")
@input_errors_exit_2
def show(breach_id: int, state_dir: Path | None, config_path: Path | None, as_json: bool) -> None:
    """One breach: its exposure window, paths, clients, clocks and audit trail."""
    with _existing_register(state_dir, config_path) as register:
        record = _get(register, breach_id).to_dict(datetime.now(UTC))
        trail = [e.to_dict() for e in register.events(breach_id)]
    if as_json:
        click.echo(json.dumps({**record, "events": trail}, indent=2, ensure_ascii=False))
        return
    window, clocks = record["exposure_window"], record["clocks"]
    lines = [
        f"breach {record['id']}: {visible(record['location'])}",
        f"  status            {record['status']}{' (still exposed)' if record['exposed'] and record['outcome'] else ''}",
        f"  first discovered  {_when(record['first_discovered'])}",
        f"  GDPR deadline     {_when(clocks['gdpr_deadline'])} ({time_left(clocks['gdpr_seconds_left'])})",
        f"  HIPAA deadline    {_when(clocks['hipaa_deadline'])} ({time_left(clocks['hipaa_seconds_left'])})",
        f"  exposed since     {_when(window['start'])} (earliest evidence: {window['start_basis']})",
        f"  exists since      {_when(window['exists_since'])}",
        f"  last seen exposed {_when(window['last_seen_exposed'])}",
        f"  contained         {_when(window['contained_at'])}"
        + (f" ({visible(window['contained_how'])})" if window["contained_how"] else ""),
        "  clients           " + (", ".join(visible(c) for c in record["clients"]) or "unknown individuals"),
        "  exposure paths",
        *[f"    {e['kind']}: {visible(e['detail'])}" for e in record["exposures"]],
        "  audit trail",
    ]
    for event in trail:
        what = event["kind"] + (f" {event['outcome']}" if event["outcome"] else "")
        note = f": {visible(event['note'])}" if event["note"] else ""
        lines.append(f"    {_when(event['at'])}  {visible(event['who'])}  {what}{note}")
    click.echo("\n".join(lines))


@breach.command("assess")
@click.argument("breach_id", type=int)
@click.option(
    "--outcome",
    type=click.Choice(sorted(OUTCOMES)),
    help="not-reportable (the risk assessment shows a low probability of compromise), reported (notified), "
    "or pending (withdraw an earlier outcome).",
)
@click.option("--note", help="What was assessed, decided or done; required with --outcome.")
@click.option("--by", "who", help="Who records this (default: the login name and host).")
@state_option
@config_option
@input_errors_exit_2
def assess(
    breach_id: int,
    outcome: str | None,
    note: str | None,
    who: str | None,
    state_dir: Path | None,
    config_path: Path | None,
) -> None:
    """Record an assessment outcome or a note. Each one is appended to the audit trail, never replaced."""
    if outcome is None and not note:
        raise click.UsageError("give --outcome (with --note) or --note")
    if outcome is not None and not (note and note.strip()):
        raise click.UsageError("--outcome needs --note: GDPR Art 33(5) asks for the facts and the reasoning")
    with _existing_register(state_dir, config_path) as register:
        _get(register, breach_id)
        updated = register.assess(breach_id, outcome=outcome, note=note, who=who or who_am_i())
        record = updated.to_dict(datetime.now(UTC))
    click.echo(_line(record))
    if updated.exposed:
        click.echo(
            "note: the recording is still exposed; the breach stays listed until it is contained", err=True
        )
    sys.exit(0)
