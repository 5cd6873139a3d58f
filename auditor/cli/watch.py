"""`auditor watch PATH...`: a daemon that judges recordings as they land and alerts once per finding."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from auditor.cli.common import EXIT_INPUT, config_option, consent_option, input_errors_exit_2, rules_option
from auditor.errors import InputError
from auditor.textsafe import for_terminal
from auditor.watch.settings import WATCH_LIMIT_ENV, WatchSettings, default_state_dir, parse_duration
from auditor.watch.state import StateError


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _watch_limit() -> int | None:
    raw = os.environ.get(WATCH_LIMIT_ENV)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise click.UsageError(f"{WATCH_LIMIT_ENV}={raw!r} is not a number") from exc


@click.command()
@click.argument("paths", nargs=-1, required=True)
@config_option
@consent_option
@rules_option
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where open findings and status are kept (default: $STATE_DIRECTORY, "
    "$XDG_STATE_HOME/recording-auditor or ~/.local/state/recording-auditor).",
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append every finding/resolved event to this JSON Lines file (0600).",
)
@click.option(
    "--on-finding", metavar="COMMAND", help="Run COMMAND (shell) per event, the event JSON on stdin."
)
@click.option(
    "--command-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, metavar="SECONDS"
)
@click.option(
    "--webhook", "webhook_url", metavar="URL", help="POST each event's JSON to URL (retried, spooled)."
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Keep a report here (format by extension, e.g. .html), rewritten while findings change.",
)
@click.option(
    "--report-interval",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="MINUTES",
    help="Rewrite the report at most this often.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Judge a file once it has been quiet this long (or when closed after writing, on Linux).",
)
@click.option(
    "--rescan-interval",
    default="6h",
    show_default=True,
    callback=_duration,
    metavar="DURATION",
    help="Full rescan, the source of truth behind the events (e.g. 30m, 6h, 1d).",
)
@click.option(
    "--exclude", "excludes", multiple=True, metavar="GLOB", help="Skip names or relative paths matching GLOB."
)
@click.option(
    "--deep", is_flag=True, help="Sniff every file's content, not only files whose name leaves it open."
)
@click.option(
    "-x",
    "--one-file-system",
    is_flag=True,
    help="Stay on each watched folder's filesystem, like find -xdev: mount points below are neither "
    "watched nor rescanned, and are listed in the coverage. Pseudo filesystems (/proc, /sys...) never are.",
)
@click.option(
    "--ignore",
    "ignore_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Suppression file (default: ./.auditor-ignore.yaml if present); suppressed findings do not alert.",
)
@click.option(
    "--poll",
    "force_polling",
    is_flag=True,
    help="Poll instead of using inotify/FSEvents (e.g. network shares).",
)
@click.option(
    "--poll-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, metavar="SECONDS"
)
@click.option("--no-syslog", is_flag=True, help="Do not send alerts to the system log.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@input_errors_exit_2
def watch(
    paths: tuple[str, ...],
    config_path: Path | None,
    consent_path: Path | None,
    rule_packs: tuple[Path, ...],
    state_dir: Path | None,
    events_path: Path | None,
    on_finding: str | None,
    command_timeout: float,
    webhook_url: str | None,
    report_path: Path | None,
    report_interval: float,
    settle: float,
    rescan_interval: float,
    excludes: tuple[str, ...],
    deep: bool,
    one_file_system: bool,
    ignore_path: Path | None,
    force_polling: bool,
    poll_interval: float,
    no_syslog: bool,
    log_level: str,
) -> None:
    """Watch folders; flag a bad recording within seconds of it landing, and alert once per finding.

    Starts with a catch-up scan, then judges files as they settle; a full rescan every
    --rescan-interval reconciles. SIGHUP reloads the config and consent registry (a broken one is
    rejected and the old one kept); SIGTERM/SIGINT stop cleanly. See `auditor status`.
    """
    from auditor.watch.daemon import WatchDaemon

    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s auditor-watch[%(process)d] %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    for path in paths:
        if not os.path.isdir(path):
            raise InputError(path, "not a folder (watch folders; use `auditor scan` for single files)")
    if webhook_url and not webhook_url.lower().startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--webhook")
    if report_path is not None:
        from auditor.outputs.base import writer_for

        try:
            writer_for(report_path)
        except LookupError as exc:
            raise click.UsageError(str(exc)) from exc
    settings = WatchSettings(
        paths=[os.path.abspath(p) for p in paths],
        config_path=config_path,
        consent_path=consent_path,
        rule_packs=rule_packs,
        state_dir=state_dir or default_state_dir(),
        excludes=list(excludes),
        deep=deep,
        one_file_system=one_file_system,
        ignore_path=ignore_path,
        settle=settle,
        rescan_interval=rescan_interval,
        force_polling=force_polling,
        poll_interval=poll_interval,
        inotify_watch_limit=_watch_limit(),
        events_path=events_path,
        on_finding=on_finding,
        command_timeout=command_timeout,
        webhook_url=webhook_url,
        syslog=not no_syslog,
        report_path=report_path,
        report_interval=report_interval * 60,
    )
    try:
        daemon = WatchDaemon(settings)
        code = daemon.run_forever()
    except (StateError, OSError) as exc:
        click.echo(for_terminal(f"auditor: error: {exc}"), err=True)
        sys.exit(EXIT_INPUT)
    sys.exit(code)
