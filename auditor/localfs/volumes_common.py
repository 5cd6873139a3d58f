"""The answer a volume probe gives, and the helpers every platform's probe shares."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Runs a command and returns its standard output; raises OSError or SubprocessError when it fails.
CommandRunner = Callable[[list[str]], str]


def command_errors() -> tuple[type[Exception], ...]:
    """What a failed probe command may raise: the command is missing, exits non-zero, times out or
    prints garbage. For `except command_errors():`, which calls it only once something is raised:
    subprocess is imported when a command runs or fails, not by every scan's start-up."""
    import subprocess

    return (OSError, subprocess.SubprocessError, UnicodeError, ValueError)


# Methods that stand for encryption; anything else (none, unknown) does not.
ENCRYPTING_METHODS = frozenset(
    {
        "luks",
        "dm-crypt",
        "lvm-on-luks",
        "fscrypt",
        "ecryptfs",
        "gocryptfs",
        "cryfs",
        "encfs",
        "zfs-native",
        "filevault",
        "bitlocker",
        "trusted-volume",
    }
)


@dataclass(frozen=True)
class VolumeEncryption:
    """Whether the storage under a file encrypts it at rest.

    `encrypted` is None when the probe cannot tell; it is never True without positive evidence.
    """

    encrypted: bool | None
    method: str  # one of ENCRYPTING_METHODS, or "none" (encrypted False) or "unknown" (encrypted None)
    detail: str  # the evidence, e.g. "dm-0 uuid CRYPT-LUKS2-..." or "mount /home/x type ecryptfs"


def encrypted(method: str, detail: str) -> VolumeEncryption:
    assert method in ENCRYPTING_METHODS, method
    return VolumeEncryption(True, method, detail)


def not_encrypted(detail: str) -> VolumeEncryption:
    return VolumeEncryption(False, "none", detail)


def unknown(detail: str) -> VolumeEncryption:
    return VolumeEncryption(None, "unknown", detail)


def run_command(args: list[str]) -> str:
    """The default command runner: no shell, a short timeout, non-zero exit is an error."""
    import subprocess

    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=15,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout


def read_small_text(path: Path, limit: int, notes: list[str], what: str) -> str | None:
    """The text of a small system or client settings file, or None when absent. An unreadable or
    oversized one leaves a note (it becomes a coverage gap), naming `what` is then not known."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        notes.append(f"{path}: cannot read ({exc.strerror or exc}); {what} not known")
        return None
    if len(raw) > limit:
        notes.append(f"{path}: larger than {limit} bytes; ignored, {what} not known")
        return None
    return raw.decode("utf-8", "surrogateescape")


class RealDirs:
    """Real paths of directories, shared by the probes and built from the parent's real path.

    os.path.realpath costs an lstat per path component; a walk visits each folder after its
    parent, so one lstat per folder (is it a link?) is enough.
    """

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, directory: str) -> str:
        real = self._cache.get(directory)
        if real is not None:
            return real
        parent, name = os.path.split(directory)
        if not name or parent == directory or name in (".", ".."):
            real = os.path.realpath(directory)
        else:
            try:
                is_link = stat.S_ISLNK(os.lstat(directory).st_mode)
            except OSError:
                is_link = True  # let realpath decide what it can
            real = os.path.realpath(directory) if is_link else os.path.join(self(parent), name)
        self._cache[directory] = real
        return real
