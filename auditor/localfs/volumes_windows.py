"""Windows: BitLocker state of a drive, from `manage-bde -status X:` (needs an administrator).

Without administrator rights manage-bde fails; the Explorer shell property
System.Volume.BitLockerProtection, readable by any user, is asked instead.
"""

from __future__ import annotations

import ntpath
import re

from auditor.localfs.volumes_common import (
    CommandRunner,
    VolumeEncryption,
    command_errors,
    encrypted,
    not_encrypted,
    unknown,
)

_FIELD = re.compile(r"^\s*(Protection Status|Conversion Status|Percentage Encrypted)\s*:\s*(.+?)\s*$", re.M)

# Values of System.Volume.BitLockerProtection as Explorer reports them.
_SHELL_PROTECTION = {
    "1": True,  # BitLocker on
    "6": True,  # BitLocker on (locked)
    "2": False,  # BitLocker off
}


def drive_of(path: str) -> str | None:
    """ "C:" for C:\\x\\y; None for UNC paths and paths without a drive letter."""
    drive = ntpath.splitdrive(path)[0]
    if len(drive) == 2 and drive[1] == ":" and drive[0].isalpha():
        return drive.upper()
    return None


def parse_manage_bde(drive: str, output: str) -> VolumeEncryption:
    fields = {name: value for name, value in _FIELD.findall(output)}
    protection = fields.get("Protection Status", "")
    conversion = fields.get("Conversion Status", "")
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    if not protection:
        return unknown(f"manage-bde -status {drive} not understood")
    if "progress" in conversion.lower():  # part of the volume is still plaintext
        return unknown(f"BitLocker conversion under way on {drive}: {summary}")
    if protection.lower().startswith("protection on"):
        return encrypted("bitlocker", f"{drive} {summary}")
    if protection.lower().startswith("protection off"):
        # Off with "Fully Encrypted" means suspended: the key sits in the clear on the disk.
        return not_encrypted(f"{drive} {summary}")
    return unknown(f"{drive} {summary}")


def _shell_protection(drive: str, run: CommandRunner) -> VolumeEncryption:
    script = (
        f"(New-Object -ComObject Shell.Application).NameSpace('{drive}\\').Self"
        ".ExtendedProperty('System.Volume.BitLockerProtection')"
    )
    try:
        value = run(["powershell", "-NoProfile", "-NonInteractive", "-Command", script]).strip()
    except command_errors() as exc:
        return unknown(
            f"BitLocker state of {drive} unavailable: manage-bde and the shell property failed ({exc})"
        )
    state = _SHELL_PROTECTION.get(value)
    detail = f"{drive} System.Volume.BitLockerProtection={value or '(empty)'}"
    if state is True:
        return encrypted("bitlocker", detail)
    if state is False:
        return not_encrypted(detail)
    return unknown(detail)


def bitlocker_status(drive: str, run: CommandRunner) -> VolumeEncryption:
    try:
        output = run(["manage-bde", "-status", drive])
    except command_errors():
        return _shell_protection(drive, run)
    return parse_manage_bde(drive, output)
