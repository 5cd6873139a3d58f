"""The answer a volume probe gives, and the helpers every platform's probe shares."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

# Runs a command and returns its standard output; raises OSError or SubprocessError when it fails.
CommandRunner = Callable[[list[str]], str]

# What a failed probe command may raise: the command is missing, exits non-zero, times out or prints garbage.
COMMAND_ERRORS: tuple[type[Exception], ...] = (OSError, subprocess.SubprocessError, UnicodeError, ValueError)

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


def is_within(path: str, root: str) -> bool:
    """True when `path` is `root` or below it; both absolute and normalised the same way."""
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)
