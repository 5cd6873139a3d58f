"""`auditor breach ...`: the breach register, the access evidence, the assessment pack.

    auditor breach list [--all]            every breach not closed (or all), with time left
    auditor breach show ID                 one breach, its exposure window and its audit trail
    auditor breach assess ID --outcome O --note TEXT
                                           record the officer's outcome; appended, never replaced
    auditor breach evidence [ID...]        read the access logs for the exposure windows
    auditor breach report [ID...] -o pack.html -o pack.json
                                           the assessment pack (HIPAA 164.402(2), 164.404(c); GDPR Art 33(3))

The register lives in the state folder: `--state DIR`, else `state_dir` in the config, else the
watch daemon's default state folder. `auditor scan --state DIR` and `auditor watch` fill it.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from auditor.breach.register import OUTCOMES, Breach, BreachRegister, iso, time_left
from auditor.cli.common import config_option, input_errors_exit_2
from auditor.cli.state import open_register, state_option
from auditor.config import Config, load_config
from auditor.errors import InputError
from auditor.textsafe import for_terminal as visible
from auditor.textsafe import json_for_terminal


def who_am_i() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _config(config_path: Path | None) -> Config:
    if config_path is not None and not config_path.is_file():
        raise InputError(config_path, "config file not found")
    return load_config(config_path)


def _existing_register(state_dir: Path | None, config: Config) -> BreachRegister:
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


def _chosen(register: BreachRegister, breach_ids: tuple[int, ...]) -> list[Breach]:
    """The breaches named, or every breach not closed."""
    return [_get(register, i) for i in breach_ids] if breach_ids else register.not_closed()


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
    with _existing_register(state_dir, _config(config_path)) as register:
        chosen = register.all() if show_all else register.not_closed()
        now = datetime.now(UTC)
        records = [b.to_dict(now) for b in chosen]
    if as_json:
        click.echo(json_for_terminal(json.dumps(records, indent=2, ensure_ascii=False)))
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
    with _existing_register(state_dir, _config(config_path)) as register:
        record = _get(register, breach_id).to_dict(datetime.now(UTC))
        trail = [e.to_dict() for e in register.events(breach_id)]
        latest = register.latest_evidence(breach_id)
    if as_json:
        click.echo(
            json_for_terminal(
                json.dumps({**record, "events": trail, "evidence": latest}, indent=2, ensure_ascii=False)
            )
        )
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
        "  read by others    "
        + (
            f"{latest['verdict']} (auditor breach evidence, {_when(latest['at'])}, {len(latest['files'])} log files)"
            if latest
            else "not looked into yet (auditor breach evidence)"
        ),
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
    with _existing_register(state_dir, _config(config_path)) as register:
        _get(register, breach_id)
        updated = register.assess(breach_id, outcome=outcome, note=note, who=who or who_am_i())
        record = updated.to_dict(datetime.now(UTC))
    click.echo(_line(record))
    if updated.exposed:
        click.echo(
            "note: the recording is still exposed; the breach stays listed until it is contained", err=True
        )
    sys.exit(0)


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _log_source(value: str | None, option: str) -> str | None:
    if value is None or value.startswith("s3://"):
        return value
    if not Path(value).is_dir():
        raise InputError(value, f"{option}: not a folder (give a folder of log files or s3://bucket/prefix)")
    return value


@breach.command("evidence")
@click.argument("breach_ids", nargs=-1, type=int)
@click.option(
    "--access-logs",
    metavar="SRC",
    help="S3 server access logs: s3://bucket/prefix or a folder (default: where the scan found the bucket's "
    "logging goes).",
)
@click.option(
    "--cloudtrail",
    metavar="SRC",
    help="CloudTrail logs with S3 data events: s3://bucket[/prefix] or a folder.",
)
@click.option(
    "--audit-log",
    "audit_logs",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Linux audit log (auditd's audit.log, ausearch --raw output) or a folder of them; repeatable.",
)
@click.option(
    "--since", callback=_moment, metavar="TIME", help="Window start (default: the recording's first sign)."
)
@click.option("--until", callback=_moment, metavar="TIME", help="Window end (default: containment, or now).")
@click.option("--profile", help="AWS profile for s3:// log sources.")
@click.option("--region", help="AWS region for s3:// log sources.")
@click.option("--endpoint-url", metavar="URL", help="S3-compatible endpoint for s3:// log sources.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole evidence run as JSON.")
@click.option("--by", "who", help="Who runs this (default: the login name and host).")
@state_option
@config_option
@input_errors_exit_2
def evidence(
    breach_ids: tuple[int, ...],
    access_logs: str | None,
    cloudtrail: str | None,
    audit_logs: tuple[Path, ...],
    since: datetime | None,
    until: datetime | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    as_json: bool,
    who: str | None,
    state_dir: Path | None,
    config_path: Path | None,
) -> None:
    """Who actually read the exposed recordings? Reads the logs for each breach's exposure window
    (every breach not closed, without IDs) and records the result, with the SHA-256 of every log file,
    in the register. A window without logs is "unknown", never "not read"."""
    from auditor.breach.evidence import Sources, gather, summarise
    from auditor.breach.logfiles import malformed_places

    config = _config(config_path)
    sources = Sources(
        access_logs=_log_source(access_logs, "--access-logs"),
        cloudtrail=_log_source(cloudtrail, "--cloudtrail"),
        audit_logs=[str(p) for p in audit_logs],
        s3_client=lambda: _s3_client(profile, region, endpoint_url),
    )
    actor = who or who_am_i()
    with _existing_register(state_dir, config) as register:
        chosen = _chosen(register, breach_ids)
        if not chosen:
            click.echo("no breaches to look into")
            return
        run = gather(chosen, sources, ours=config.organisation.aws_accounts, since=since, until=until)
        files = [f.to_dict() for f in run.files]
        for found in run.recordings:
            findings = found.to_dict()
            register.record_evidence(
                found.breach_id, verdict=found.verdict, findings=findings, files=files, who=actor
            )
            first = found.first_outside_read
            if first is not None:
                basis = next(a.source for a in found.accesses if a.time == first)
                register.earlier_exposure(
                    found.breach_id,
                    start=iso(first),
                    basis=basis,
                    who=actor,
                    detail={"first_outside_read": iso(first)},
                )
    if as_json:
        click.echo(json_for_terminal(json.dumps(run.to_dict(), indent=2, ensure_ascii=False)))
        return
    for line in summarise(run):
        click.echo(visible(line))
    used = [f for f in run.files if not f.error]
    click.echo(
        f"{len(used)} log file(s) read, {sum(f.lines for f in used):,} lines, "
        f"{sum(f.malformed for f in used):,} malformed; SHA-256 of each in `auditor breach show ID --json`"
    )
    for digest in run.files:
        if digest.malformed:  # a line the tool could not read is a gap: say where it is
            click.echo(
                visible(
                    f"  {digest.name}: {digest.malformed:,} malformed, not read: "
                    + malformed_places(digest.to_dict())
                )
            )


def _s3_client(profile: str | None, region: str | None, endpoint_url: str | None) -> Any:
    from auditor.sources.s3.client import CallCounter, S3Settings, open_accounts

    settings = S3Settings(profile=profile, region=region, endpoint_url=endpoint_url)
    (access,) = open_accounts(settings, CallCounter(), lambda _arn, exc: None)
    return access.s3()


@breach.command("report")
@click.argument("breach_ids", nargs=-1, type=int)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the pack: .html (to read, print and file) or .json. Repeatable.",
)
@click.option("--by", "who", help="Who prepares it (default: the login name and host).")
@state_option
@config_option
@input_errors_exit_2
def report_pack(
    breach_ids: tuple[int, ...],
    outputs: tuple[Path, ...],
    who: str | None,
    state_dir: Path | None,
    config_path: Path | None,
) -> None:
    """The assessment pack for these breaches (one incident; without IDs, every breach not closed):
    the four factors of HIPAA 164.402(2), the notice contents of 164.404(c) and GDPR Art 33(3)'s
    items pre-filled from the register and the access evidence, the rest marked for the officer,
    and the SHA-256 of every log file used as evidence."""
    from auditor.breach.assessment import build_pack
    from auditor.breach.pack import check_pack_path, write_pack

    for path in outputs:
        try:
            check_pack_path(path)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    config = _config(config_path)
    actor = who or who_am_i()
    with _existing_register(state_dir, config) as register:
        chosen = _chosen(register, breach_ids)
        if not chosen:
            click.echo("no breaches to assess")
            return
        pack = build_pack(
            register, chosen, organisation=config.organisation.name, who=actor, now=datetime.now(UTC)
        )
        for path in outputs:
            try:
                write_pack(pack, path)
            except OSError as exc:
                raise InputError(path, f"cannot write the pack: {exc.strerror or exc}") from exc
        for breach_record in chosen:
            register.record_event(
                breach_record.id,
                "pack",
                who=actor,
                detail={"outputs": [str(p) for p in outputs], "to_fill": len(pack["to_fill"])},
            )
    for path in outputs:
        click.echo(f"wrote {visible(str(path))}")
    click.echo(
        f"{len(pack['to_fill'])} field(s) for the officer to complete (dashed in the HTML, to_fill in the JSON)"
    )
