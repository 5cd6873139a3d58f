"""The `auditor` command line. Each subcommand lives in its own module and registers here.

A subcommand's module is imported only when that subcommand runs (or --help lists them all):
`auditor --version` or `auditor status` must not pay for the scan's imports, nor a scan for the
breach register's or the watch daemon's.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import sys
from collections.abc import Iterator
from typing import Any

import click

from auditor import __version__
from auditor.cli import process_exit
from auditor.textsafe import terminal_lines

# name -> "module:attribute" of its click command
COMMANDS = {
    "scan": "auditor.cli.scan:scan",
    "report": "auditor.cli.report:report",
    "rules": "auditor.cli.rules_cmd:rules",
    "plugins": "auditor.cli.plugins_cmd:plugins",
    "watch": "auditor.cli.watch:watch",
    "status": "auditor.cli.status:status",
    "breach": "auditor.cli.breach:breach",
    "merge": "auditor.cli.merge:merge",
}


# The reader of stdout went away before it had everything (`auditor rules | head`): 128 + SIGPIPE,
# what a shell reports for a command a closed pipe ended. Never 1, which CI reads as "findings".
EXIT_STDOUT_CLOSED = 141
EXIT_ERROR = 2  # usage, config, input or output error (auditor.cli.common.EXIT_INPUT)


class StdoutClosed(Exception):
    """stdout's reader closed it (EPIPE) while a command was printing its answer there."""


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket whose reading end is closed (POLLERR on the writer):
    an EPIPE from anywhere else, e.g. a webhook's socket, is not this."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no fd (captured in tests), or closed
        return False


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented lazy-loading pattern)."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), self.lazy[cmd_name]
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    # Both caught here, before click's main turns an EPIPE into exit 1: make_context prints
    # `auditor --help` and `--version`, invoke everything else.
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _stdout_closed_as_such():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> object:
        with _stdout_closed_as_such():
            return super().invoke(ctx)


class StdoutUnwritable(Exception):
    """stdout refused the answer (a full disk, a quota, an I/O error): an output error, exit 2."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _raised_writing_stdout(exc: BaseException) -> bool:
    """Whether the error came from a write to stdout: the innermost frame that names a stream
    (click.echo's `file`, a writer's `stream`) names stdout. An error writing a report file, or
    anything else, is left alone (a bug stays a bug, exit 70)."""
    try:
        stdout_fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return False
    named = None
    tb = exc.__traceback__
    while tb is not None:
        for name in ("file", "stream"):
            stream = tb.tb_frame.f_locals.get(name)
            if stream is not None and hasattr(stream, "fileno"):
                named = stream
        tb = tb.tb_next
    try:
        return named is not None and named.fileno() == stdout_fd
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def _stdout_closed_as_such() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError as exc:
        if _stdout_reader_gone():
            raise StdoutClosed from exc
        raise
    except OSError as exc:
        if exc.errno in _STDOUT_FULL and _raised_writing_stdout(exc):
            raise StdoutUnwritable(exc.strerror or str(exc)) from exc
        raise


_STDOUT_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="recording-auditor")
def cli() -> None:
    """Find therapy-session recordings and flag the unencrypted, exposed, over-retained and unconsented ones.

    Exit codes: 0 no finding at or above --fail-on; 1 there are such findings; 2 usage, config,
    input or output error; 70 internal error (a bug: the traceback is saved to a file); 130 interrupted;
    141 stdout closed by its reader before the answer was all written (`| head`).
    `auditor status` has its own (see its --help).
    """


def main() -> None:
    """The console entry point. Click's own handling would exit 1 on Ctrl-C, which CI reads as
    "findings"; an interrupted audit exits 130, like any interrupted command.

    It ends the process (see process_exit): in-process, call it only for a command that fails."""
    with process_exit.keeping():
        code = _run()
    process_exit.exit_process(code)


def _run() -> int:
    try:
        code = cli.main(prog_name="auditor", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except SystemExit as exc:  # the commands end with sys.exit(code)
        return _exit_code(exc)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # Outputs are written to a temporary file and renamed, so none is ever left half-written.
        click.echo("auditor: interrupted (no report is left half-written)", err=True)
        return 130
    except click.ClickException as exc:
        show_click_error(exc)
        # click's base ClickException (and FileError) says 1; here 1 means findings, nothing else.
        return EXIT_ERROR if exc.exit_code == 1 else exc.exit_code
    except StdoutClosed:
        process_exit.discard_stream(sys.stdout)
        return EXIT_STDOUT_CLOSED
    except StdoutUnwritable as exc:  # `auditor rules > /dev/full`: not a bug, and never "findings"
        process_exit.discard_stream(sys.stdout)
        click.echo(f"auditor: error: stdout: could not write the answer: {exc.reason}", err=True)
        return EXIT_ERROR
    except Exception as exc:  # a bug: one line and where the traceback is, never exit 1 ("findings")
        from auditor.cli import internal_error  # imported here: start-up stays light
        from auditor.cli.common import EXIT_INTERNAL

        click.echo(internal_error.report(exc), err=True)
        return EXIT_INTERNAL


def _exit_code(exc: SystemExit) -> int:
    """What the interpreter would make of sys.exit(x): None is 0, an int itself. A message (e.g. a
    plugin's sys.exit("cannot ...")) is printed and exits 2, never 1, which means findings."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(terminal_lines(str(exc.code)), file=sys.stderr)
    return EXIT_ERROR


def show_click_error(exc: click.ClickException) -> None:
    """click's own layout (usage, hint, `Error: ...`) with the message made terminal-safe: it
    quotes what was typed, e.g. a file name holding escape sequences."""
    message = terminal_lines(exc.format_message())
    exc.format_message = lambda: message  # type: ignore[method-assign]
    exc.show()
