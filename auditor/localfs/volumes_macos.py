"""macOS: FileVault protects the startup volume group; `fdesetup status` says whether it is on."""

from __future__ import annotations

from auditor.localfs.volumes_common import (
    CommandRunner,
    VolumeEncryption,
    command_errors,
    encrypted,
    not_encrypted,
    unknown,
)

# Everything else macOS mounts (external disks, disk images, network shares) appears under /Volumes;
# the startup volume's own alias there resolves to "/" through realpath.
EXTERNAL_MOUNTS_PREFIX = "/Volumes/"


def parse_fdesetup_status(output: str) -> VolumeEncryption:
    text = " ".join(output.split())
    if "in progress" in text.lower():  # part of the disk is still plaintext (or already is again)
        return unknown(f"FileVault conversion under way: {text}")
    if "FileVault is On." in text:
        return encrypted("filevault", f"fdesetup status: {text}")
    if "FileVault is Off." in text:
        return not_encrypted(f"fdesetup status: {text}")
    return unknown(f"fdesetup status not understood: {text[:200]}")


def filevault_status(run: CommandRunner) -> VolumeEncryption:
    try:
        output = run(["fdesetup", "status"])
    except command_errors() as exc:
        return unknown(f"fdesetup status failed: {exc}")
    return parse_fdesetup_status(output)


def is_startup_volume_path(real_path: str) -> bool:
    return not real_path.startswith(EXTERNAL_MOUNTS_PREFIX)
