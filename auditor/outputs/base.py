"""The output-format interface, lookup by file extension, and private (0600) atomic writes."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import OutputError
from auditor.plugins import Plugin, registry


def _no_warnings(message: str) -> None:
    del message


@dataclass
class OutputOptions:
    """How every output writes a result: redaction, the report template and its title."""

    redact: bool = False
    redaction_key: bytes | None = None
    template_dir: Path | None = None
    title: str | None = None
    # The gate (--fail-on, --new-only): formats that show pass/fail (JUnit) follow it.
    fail_on: str = "high"
    new_only: bool = False
    sarif_category: str | None = None  # --sarif-category: runs[].automationDetails.id
    # A writer that had to leave something out says so here (the CLI prints it on stderr).
    warn: Callable[[str], None] = _no_warnings
    # Set by publish(): SHA-256 of `auditor.contract.iter_json(result)`, i.e. of the bytes of any .json
    # written in the same run, and the names of those .json files (the report says how to verify).
    result_sha256: str | None = None
    companion_json: tuple[Path, ...] = ()


Writer = Callable[[dict[str, Any], Path, OutputOptions], None]


STDOUT = Path("-")  # `-o -`: the report goes to standard output (its format from --format)


def available_formats() -> dict[str, str]:
    """Extension -> "module:attribute" of every installed output format."""
    return {p.name: p.value for p in registry().all("output")}


def output_plugin(path: Path) -> Plugin:
    """The output format for `path`'s extension: OutputError when none serves it, PluginConflict
    when two distributions claim it."""
    ext = path.suffix.lower().lstrip(".")
    plugin = registry().get("output", ext)
    if plugin is None:
        known = ", ".join(f".{e}" for e in registry().names("output"))
        raise OutputError(path, f"no output format for '.{ext}' (known: {known})")
    return plugin


def known_extensions() -> str:
    return ", ".join(f".{e}" for e in registry().names("output"))


def format_of(path: Path) -> str:
    """The format a path asks for: its extension, lower-cased, without the dot ("" if none)."""
    return path.suffix.lower().lstrip(".")


def writer_for_format(fmt: str) -> Writer:
    """The writer of format `fmt` (an extension without the dot): OutputError when none serves it."""
    plugin = registry().get("output", fmt)
    if plugin is None:
        raise OutputError(fmt, f"no output format {fmt!r} (known: {', '.join(registry().names('output'))})")
    writer: Writer = plugin.load()
    return writer


def writer_for(path: Path) -> Writer:
    writer: Writer = output_plugin(path).load()
    return writer


def write_private(path: Path, data: str | bytes | Iterable[bytes | memoryview]) -> None:
    """Reports carry PHI: write them 0600, atomically, so a half-written report never looks complete.
    `data` may be an iterable of byte chunks, so large results are streamed rather than held whole."""
    if isinstance(data, str):
        chunks: Iterable[bytes | memoryview] = (data.encode("utf-8"),)
    elif isinstance(data, bytes):
        chunks = (data,)
    else:
        chunks = data
    if path == STDOUT:
        _write_stdout(chunks)
        return
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = _new_private_file(directory, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_NEW_FILE_FLAGS = (
    os.O_RDWR
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _new_private_file(directory: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """tempfile.mkstemp's promise (a file nobody else created, mode 0600, not through a link, a
    random name) without importing tempfile, random and shutil into every scan's start-up."""
    for _ in range(100):
        name = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(name, _NEW_FILE_FLAGS, 0o600), name
        except FileExistsError:
            continue  # another name
    raise FileExistsError(errno.EEXIST, "no unused name for a temporary file", str(directory))


def _write_stdout(chunks: Iterable[bytes | memoryview]) -> None:
    sys.stdout.flush()  # whatever text went before stays before
    stream = sys.stdout.buffer
    for chunk in chunks:
        stream.write(chunk)
    stream.flush()
