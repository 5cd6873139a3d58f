"""Is the volume under a file encrypted at rest? One probe per scan, answers cached per device.

The answer is a fact (VolumeEncryption); the `unencrypted` rules judge it. It is never "encrypted"
without positive evidence: a configured trusted volume, an encrypting filesystem or block layer,
an fscrypt policy, FileVault or BitLocker reporting protection on. Anything the probe cannot see
through (network and overlay filesystems, a device it cannot read) is "unknown", not "none".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor.localfs import volumes_macos, volumes_windows
from auditor.localfs.volumes_common import (
    ENCRYPTING_METHODS,
    CommandRunner,
    RealDirs,
    VolumeEncryption,
    encrypted,
    run_command,
    unknown,
)
from auditor.localfs.volumes_linux import MAX_STACK_DEPTH, LinuxVolumes
from auditor.paths import within

__all__ = ["ENCRYPTING_METHODS", "CommandRunner", "VolumeEncryption", "VolumeProbe"]


class VolumeProbe:
    """Answers `for_path` for one platform; `run` (a command runner) is injectable for tests."""

    def __init__(
        self,
        *,
        trusted_volumes: Sequence[Path] = (),
        sysfs: Path = Path("/sys"),
        mountinfo: Path = Path("/proc/self/mountinfo"),
        platform: str = sys.platform,
        run: CommandRunner | None = None,
        real_dirs: RealDirs | None = None,
    ) -> None:
        # Trusted volumes are compared by real path so a symlink into (or out of) one cannot mislead.
        self._trusted = [os.path.realpath(p) for p in trusted_volumes]
        self._platform = platform
        self._run = run or run_command
        self._real_dir = real_dirs or RealDirs()  # may be shared with the exposure probe
        self._filevault: VolumeEncryption | None = None
        self._bitlocker: dict[str, VolumeEncryption] = {}
        self._linux = LinuxVolumes(
            sysfs=sysfs,
            mountinfo=mountinfo,
            run=self._run,
            zfs_available=run is not None or on_path("zfs"),
            backing_file_volume=self._backing_file_volume,
        )

    def for_path(self, path: str, st_dev: int, *, directory: str | None = None) -> VolumeEncryption:
        """The encryption at rest of the volume holding `path` (whose stat gave `st_dev`).
        `directory`, the file's folder as an absolute normalised path, saves working it out again
        when the caller (the walk) already has it."""
        return self._for_path(path, st_dev, depth=0, directory=directory)

    def _for_path(self, path: str, st_dev: int, depth: int, directory: str | None = None) -> VolumeEncryption:
        if directory is None:
            directory = os.path.dirname(os.path.abspath(path))
        real_dir = self._real_dir(directory)
        for root in self._trusted:
            if within(real_dir, root):
                return encrypted("trusted-volume", f"trusted: {root}")
        if self._platform == "darwin":
            return self._macos(real_dir)
        if self._platform.startswith(("win", "cygwin")):
            return self._windows(path)
        if self._platform.startswith("linux"):
            return self._linux.for_path(real_dir, st_dev, depth)
        return unknown(f"no volume encryption probe for platform {self._platform}")

    def _backing_file_volume(self, backing_file: str, depth: int) -> VolumeEncryption:
        """A loop device stores its blocks in a file: that file's volume decides."""
        if depth > MAX_STACK_DEPTH:
            return unknown(f"loop devices nested too deep at {backing_file}")
        try:
            st = os.stat(backing_file)
        except OSError as exc:
            return unknown(f"backing file {backing_file} cannot be examined: {exc.strerror or exc}")
        return self._for_path(backing_file, st.st_dev, depth)

    def _macos(self, real_dir: str) -> VolumeEncryption:
        if not volumes_macos.is_startup_volume_path(real_dir):
            return unknown(
                f"{real_dir} is on a volume under /Volumes; fdesetup reports only the startup volume"
            )
        if self._filevault is None:
            self._filevault = volumes_macos.filevault_status(self._run)
        return self._filevault

    def _windows(self, path: str) -> VolumeEncryption:
        drive = volumes_windows.drive_of(path)
        if drive is None:
            return unknown(f"{path} has no drive letter (network path?)")
        if drive not in self._bitlocker:
            self._bitlocker[drive] = volumes_windows.bitlocker_status(drive, self._run)
        return self._bitlocker[drive]


def on_path(command: str) -> bool:
    """`shutil.which(command) is not None` for a bare command name on POSIX, without importing
    shutil (and the compression modules it brings) into every scan's start-up."""
    path = os.environ.get("PATH")
    if path is None:
        path = os.confstr("CS_PATH") if hasattr(os, "confstr") else os.defpath
    if not path:
        return False
    for folder in dict.fromkeys(path.split(os.pathsep)):
        candidate = os.path.join(folder, command)
        if (
            os.path.exists(candidate)
            and os.access(candidate, os.F_OK | os.X_OK)
            and not os.path.isdir(candidate)
        ):
            return True
    return False
