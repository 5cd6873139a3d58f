"""Which filesystem a folder is on, so the walk knows where to stop.

Pseudo filesystems (/proc, /sys, /dev, cgroups...) hold kernel state, not stored files: walking
them would read live process memory maps and device attributes, which is neither discreet nor
useful, so they are never walked. `--one-file-system` also stops at every other mount point, as
`find -xdev` does. Both become coverage entries, so the report says what was left out.

The filesystem type comes from the mount table by device number (Linux /proc/self/mountinfo).
Where there is no mount table, the type is unknown and only --one-file-system applies.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.localfs.volumes_linux import read_mountinfo

# Never holding stored recordings; autofs is here because entering it mounts network shares.
PSEUDO_FILESYSTEMS: frozenset[str] = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devfs",  # macOS /dev
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)


class FilesystemTypes:
    """Filesystem type by device number, from the mount table read once on first use."""

    def __init__(self, mountinfo: Path = Path("/proc/self/mountinfo")) -> None:
        self._mountinfo = mountinfo
        self._by_device: dict[int, str] | None = None

    def type_of(self, st_dev: int) -> str | None:
        """The type of the filesystem on device `st_dev` ("ext4", "proc", ...), or None when the
        device is not in the mount table (or there is none). A device mounted several times (bind
        mounts) has one type; the first line wins."""
        if self._by_device is None:
            self._by_device = {}
            try:
                mounts = read_mountinfo(self._mountinfo)
            except OSError:  # no mount table (not Linux): types unknown, only --one-file-system applies
                mounts = []
            for mount in mounts:
                self._by_device.setdefault(os.makedev(*mount.dev), mount.fstype)
        return self._by_device.get(st_dev)
