"""Linux evidence of encryption at rest: the mount table, the sysfs block-device stack, fscrypt.

Everything here reads /proc and /sys (or fake trees in tests) and never writes. The block-device
walk goes *down* the stack from the device a filesystem sits on: a dm-crypt layer anywhere on the
way means the data reaches the disk encrypted; a stack that bottoms out in plain disks without one
means it does not.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX only; without it (Windows) there is no fscrypt to ask about
    import fcntl
except ImportError:  # pragma: no cover - depends on the platform
    fcntl = None  # type: ignore[assignment]

from auditor.localfs.volumes_common import (
    CommandRunner,
    VolumeEncryption,
    command_errors,
    encrypted,
    not_encrypted,
    unknown,
)
from auditor.paths import within

# Filesystems that are themselves an encryption layer, whatever they are stacked on.
ENCRYPTING_FILESYSTEMS = {
    "ecryptfs": "ecryptfs",
    "fuse.gocryptfs": "gocryptfs",
    "fuse.cryfs": "cryfs",
    "fuse.encfs": "encfs",
}

# Filesystems that can carry fscrypt policies on their directories.
FSCRYPT_FILESYSTEMS = frozenset({"ext4", "f2fs", "ubifs", "ceph"})

# cryptsetup names its dm devices "CRYPT-<TYPE>-..."; only these types encrypt (VERITY, INTEGRITY and
# SUBDEV are integrity layers that leave data readable).
CRYPT_TYPES = {
    "LUKS1": "luks",
    "LUKS2": "luks",
    "PLAIN": "dm-crypt",
    "TCRYPT": "dm-crypt",
    "LOOPAES": "dm-crypt",
    "BITLK": "bitlocker",
}

# Block devices whose data lives on another machine: their at-rest state cannot be seen from here.
NETWORK_BLOCK_PREFIXES = ("nbd", "rbd", "drbd")

MAX_STACK_DEPTH = 16

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


# -- mountinfo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MountEntry:
    """One line of /proc/self/mountinfo: device, mount point, type and source."""

    dev: tuple[int, int]
    mount_point: str
    fstype: str
    source: str


def unescape_mount_field(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as \\040, \\011, \\012, \\134."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def read_mountinfo(path: Path) -> list[MountEntry]:
    """The mount table at `path` (e.g. /proc/self/mountinfo). Raises OSError when it cannot be read."""
    return parse_mountinfo(path.read_bytes().decode("utf-8", "surrogateescape"))


def parse_mountinfo(text: str) -> list[MountEntry]:
    """Parse /proc/PID/mountinfo; lines that do not have the documented shape are skipped."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            separator = fields.index("-", 6)
            major, minor = fields[2].split(":")
            mounts.append(
                MountEntry(
                    dev=(int(major), int(minor)),
                    mount_point=unescape_mount_field(fields[4]),
                    fstype=fields[separator + 1],
                    source=unescape_mount_field(fields[separator + 2]),
                )
            )
        except (ValueError, IndexError):
            continue
    return mounts


def find_mount(mounts: list[MountEntry], real_path: str, st_dev: int) -> MountEntry | None:
    """The mount a file lives on: the one with its device number, else the longest mount-point prefix.

    Several mounts share a device number when one filesystem is bind-mounted in several places, and
    btrfs reports per-subvolume device numbers that mountinfo does not list, hence the prefix fallback.
    Later entries win ties because they are mounted on top of earlier ones.
    """
    dev = (os.major(st_dev), os.minor(st_dev))
    same_device = [m for m in mounts if m.dev == dev]
    if len(same_device) == 1:
        return same_device[0]
    return _longest_prefix(same_device, real_path) or _longest_prefix(mounts, real_path)


def _longest_prefix(mounts: list[MountEntry], real_path: str) -> MountEntry | None:
    best: MountEntry | None = None
    for mount in mounts:
        if within(real_path, mount.mount_point) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    return best


# -- sysfs block-device stack -----------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    """What one block device and everything beneath it amount to."""

    state: str  # crypt | plain | unknown
    method: str  # for crypt: luks, dm-crypt, lvm-on-luks, ...
    detail: str


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


class BlockStack:
    """Walks /sys/dev/block/MAJ:MIN and its lower devices (slaves, partition parent, loop backing file)."""

    def __init__(self, sysfs: Path, backing_file_volume: Callable[[str, int], VolumeEncryption]) -> None:
        self.sysfs = sysfs
        # A loop device's data lives in a file: its encryption is that of the file's volume.
        self._backing_file_volume = backing_file_volume

    def for_device(self, major: int, minor: int, depth: int = 0) -> VolumeEncryption:
        block_dir = self.sysfs / "dev" / "block"
        if not os.path.isdir(block_dir):
            return unknown(f"sysfs not readable at {block_dir}")
        entry = block_dir / f"{major}:{minor}"
        if not os.path.lexists(entry):
            return unknown(f"no sysfs entry for block device {major}:{minor}")
        return _as_volume(self._walk(entry, depth, frozenset()))

    def for_device_name(self, device_path: str, depth: int = 0) -> VolumeEncryption | None:
        """The stack under a mount source such as /dev/sda2 or /dev/mapper/root; None when not found."""
        devnum = self._devnum_from_name(device_path)
        return None if devnum is None else self.for_device(*devnum, depth=depth)

    def for_btrfs(self, device_path: str, depth: int = 0) -> VolumeEncryption | None:
        """A btrfs may span several devices and mountinfo names only one: judge them all."""
        members = self._btrfs_member_dirs(device_path)
        if len(members) < 2:
            return self.for_device_name(device_path, depth)
        layer = _combine("btrfs", "btrfs", [self._walk(m, depth, frozenset()) for m in members])
        return _as_volume(layer)

    def _btrfs_member_dirs(self, device_path: str) -> list[Path]:
        name = self._kernel_name(device_path)
        root = self.sysfs / "fs" / "btrfs"
        if name is None or not os.path.isdir(root):
            return []
        try:
            filesystems = sorted(os.listdir(root))
        except OSError:
            return []
        for fsid in filesystems:
            try:
                members = sorted(os.listdir(root / fsid / "devices"))
            except OSError:
                continue
            if name in members:
                return [root / fsid / "devices" / member for member in members]
        return []

    # The kernel name (sda2, dm-0) of a /dev path, read through sysfs so fake trees work in tests.
    def _kernel_name(self, device_path: str) -> str | None:
        if device_path.startswith("/dev/mapper/"):
            wanted = device_path.removeprefix("/dev/mapper/")
            try:
                names = os.listdir(self.sysfs / "class" / "block")
            except OSError:
                return None
            for name in names:
                if _read_text(self.sysfs / "class" / "block" / name / "dm" / "name") == wanted:
                    return name
            return None
        if device_path.startswith("/dev/"):
            name = device_path.removeprefix("/dev/")
            if os.path.exists(self.sysfs / "class" / "block" / name):
                return name
        return None

    def _devnum_from_name(self, device_path: str) -> tuple[int, int] | None:
        name = self._kernel_name(device_path)
        text = _read_text(self.sysfs / "class" / "block" / name / "dev") if name else None
        if text and ":" in text:
            major, _, minor = text.partition(":")
            if major.isdigit() and minor.isdigit():
                return int(major), int(minor)
        try:  # fall back to the device node itself
            st = os.stat(device_path)
        except OSError:
            return None
        if not stat.S_ISBLK(st.st_mode):
            return None
        return os.major(st.st_rdev), os.minor(st.st_rdev)

    def _walk(self, device_dir: Path, depth: int, seen: frozenset[str]) -> _Layer:
        real = os.path.realpath(device_dir)
        name = os.path.basename(real)
        if depth > MAX_STACK_DEPTH or real in seen:
            return _Layer("unknown", "unknown", f"{name}: device stack too deep or cyclic")
        seen = seen | {real}
        try:
            entries = set(os.listdir(real))
        except OSError as exc:
            return _Layer("unknown", "unknown", f"{name}: cannot read sysfs: {exc.strerror or exc}")

        dm_uuid = _read_text(Path(real, "dm", "uuid")) if "dm" in entries else None
        if dm_uuid and dm_uuid.startswith("CRYPT-"):
            crypt_type = dm_uuid.split("-")[1]
            if crypt_type in CRYPT_TYPES:
                return _Layer("crypt", CRYPT_TYPES[crypt_type], f"{name} uuid {dm_uuid}")

        if "partition" in entries:
            parent = os.path.dirname(real)
            below = self._walk(Path(parent), depth + 1, seen)
            return _Layer(below.state, below.method, f"{name} partition of {below.detail}")

        if "loop" in entries:
            backing = _read_text(Path(real, "loop", "backing_file"))
            if not backing:
                return _Layer("unknown", "unknown", f"{name}: loop device without a readable backing file")
            volume = self._backing_file_volume(backing.removesuffix(" (deleted)"), depth + 1)
            state = {True: "crypt", False: "plain", None: "unknown"}[volume.encrypted]
            return _Layer(state, volume.method, f"{name} backed by {backing} on {volume.detail}")

        if "slaves" in entries:
            try:
                lower = sorted(os.listdir(Path(real, "slaves")))
            except OSError as exc:
                return _Layer("unknown", "unknown", f"{name}: cannot read slaves: {exc.strerror or exc}")
            if lower:
                layers = [self._walk(Path(real, "slaves", s), depth + 1, seen) for s in lower]
                return _combine(name, _layer_kind(dm_uuid, entries), layers)

        if "dm" in entries or "md" in entries:
            return _Layer("unknown", "unknown", f"{name}: virtual device with no visible lower devices")
        if name.startswith(NETWORK_BLOCK_PREFIXES):
            return _Layer("unknown", "unknown", f"{name}: network block device, its storage is elsewhere")
        return _Layer("plain", "none", f"{name}: no encryption layer")


def _as_volume(layer: _Layer) -> VolumeEncryption:
    if layer.state == "crypt":
        return encrypted(layer.method, layer.detail)
    if layer.state == "plain":
        return not_encrypted(layer.detail)
    return unknown(layer.detail)


def _layer_kind(dm_uuid: str | None, entries: set[str]) -> str:
    if dm_uuid and dm_uuid.startswith("LVM-"):
        return "LVM"
    if "md" in entries:
        return "md"
    return "dm" if "dm" in entries else "stacked"


def _combine(name: str, kind: str, layers: list[_Layer]) -> _Layer:
    """A device over several lower devices is encrypted only if all of them are."""
    below = "; ".join(layer.detail for layer in layers)
    detail = f"{name} ({kind}) over {below}"
    states = {layer.state for layer in layers}
    if states == {"crypt"}:
        methods = {layer.method for layer in layers}
        method = methods.pop() if len(methods) == 1 else "dm-crypt"
        if kind == "LVM" and method in ("luks", "lvm-on-luks"):
            method = "lvm-on-luks"
        return _Layer("crypt", method, detail)
    if states == {"plain"}:
        return _Layer("plain", "none", detail)
    if "unknown" in states:
        return _Layer("unknown", "unknown", detail)
    # Encrypted and plain members together: which one holds this file's blocks cannot be told.
    return _Layer("unknown", "unknown", f"partly encrypted: {detail}")


# -- fscrypt -----------------------------------------------------------------------------------

# ioctl numbers from <linux/fscrypt.h> and <linux/fs.h>, computed as _IOWR/_IOR do.
_IOC_READ, _IOC_WRITE = 2, 1
_POLICY_MAX_SIZE = 24  # sizeof(struct fscrypt_policy_v2), the larger of the two policy versions


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("f") << 8) | number


FS_IOC_GET_ENCRYPTION_POLICY_EX = _ioc(_IOC_READ | _IOC_WRITE, 22, 9)
FS_IOC_GETFLAGS = _ioc(_IOC_READ, 1, struct.calcsize("l"))
FS_ENCRYPT_FL = 0x00000800

_FSCRYPT_MODES = {
    1: "AES-256-XTS",
    4: "AES-256-CTS",
    5: "AES-128-CBC",
    6: "AES-128-CTS",
    7: "SM4-XTS",
    8: "SM4-CTS",
    9: "Adiantum",
    10: "AES-256-HCTR2",
}


def describe_fscrypt_policy(buffer: bytes) -> str:
    """Summarise the struct fscrypt_get_policy_ex_arg the kernel filled in."""
    size = struct.unpack_from("=Q", buffer)[0]
    if size < 4:
        return "fscrypt policy"
    version, contents, filenames = buffer[8], buffer[9], buffer[10]
    version_name = {0: "v1", 2: "v2"}.get(version, f"version {version}")
    return (
        f"fscrypt policy {version_name}, contents {_FSCRYPT_MODES.get(contents, contents)}, "
        f"filenames {_FSCRYPT_MODES.get(filenames, filenames)}"
    )


class FscryptUnsupported(Exception):
    """The filesystem itself has no fscrypt (EOPNOTSUPP): none of its directories can have a policy."""


def fscrypt_policy(directory: str) -> str | None:
    """Describe the fscrypt policy of `directory`, or None when it has none or the kernel will not say.
    Raises FscryptUnsupported when the whole filesystem lacks fscrypt, so callers can stop asking.

    Opening a directory read-only and asking an ioctl changes nothing on disk.
    """
    if fcntl is None:
        return None
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            fd = os.open(directory, flags | getattr(os, "O_NOATIME", 0))
        except PermissionError:  # O_NOATIME is refused on directories we do not own
            fd = os.open(directory, flags)
    except OSError:
        return None
    try:
        buffer = bytearray(struct.pack("=Q", _POLICY_MAX_SIZE) + bytes(_POLICY_MAX_SIZE))
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, buffer, True)
            return describe_fscrypt_policy(bytes(buffer))
        except OSError as exc:
            if exc.errno == errno.ENODATA:  # the filesystem supports fscrypt; this directory is not encrypted
                return None
            if exc.errno == errno.EOPNOTSUPP:  # per superblock (ext4/f2fs without the encrypt feature)
                raise FscryptUnsupported(directory) from None
        # Kernels before 5.4 lack the _EX ioctl; the inode flag still tells.
        flag_buffer = bytearray(struct.calcsize("l"))
        try:
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, flag_buffer, True)
        except OSError:
            return None
        inode_flags = struct.unpack_from("=i", flag_buffer)[0]
        return "fscrypt (inode flag FS_ENCRYPT_FL)" if inode_flags & FS_ENCRYPT_FL else None
    finally:
        os.close(fd)


# -- ZFS -----------------------------------------------------------------------------------------


def zfs_native_encryption(dataset: str, run: CommandRunner) -> VolumeEncryption:
    """Ask `zfs get encryption` about the dataset; "off" says nothing about the vdevs beneath the pool."""
    try:
        value = run(["zfs", "get", "-H", "-o", "value", "encryption", dataset]).strip()
    except command_errors() as exc:
        return unknown(f"zfs dataset {dataset}: cannot ask zfs ({exc})")
    if value and value not in ("off", "-"):
        return encrypted("zfs-native", f"zfs dataset {dataset} encryption={value}")
    return unknown(f"zfs dataset {dataset} encryption={value or '?'}; the pool's devices were not inspected")


# -- putting it together -------------------------------------------------------------------------


class LinuxVolumes:
    """Answers per file from the mount table, the block stack (cached per device) and fscrypt (per directory)."""

    def __init__(
        self,
        *,
        sysfs: Path,
        mountinfo: Path,
        run: CommandRunner,
        zfs_available: bool,
        backing_file_volume: Callable[[str, int], VolumeEncryption],
    ) -> None:
        self._mountinfo_path = mountinfo
        self._mounts: list[MountEntry] | None = None
        self._mountinfo_error = ""
        self._blocks = BlockStack(sysfs, backing_file_volume)
        self._run = run
        self._zfs_available = zfs_available
        self._device_cache: dict[tuple[int, MountEntry | None], VolumeEncryption] = {}
        self._fscrypt_cache: dict[str, str | None] = {}
        self._fscrypt_unsupported: set[int] = set()  # devices whose filesystem said it has no fscrypt
        self._mount_by_device: dict[int, MountEntry] = {}
        self._mount_by_dir: dict[tuple[int, str], MountEntry | None] = {}

    def for_path(self, real_dir: str, st_dev: int, depth: int = 0) -> VolumeEncryption:
        mount = self._mount_for(real_dir, st_dev)
        key = (st_dev, mount)
        volume = self._device_cache.get(key)
        if volume is None:
            volume = self._device_volume(mount, st_dev, depth)
            if depth == 0:  # answers reached through a loop device's backing file depend on the path taken
                self._device_cache[key] = volume
        if (
            volume.encrypted is not True
            and mount is not None
            and mount.fstype in FSCRYPT_FILESYSTEMS
            and st_dev not in self._fscrypt_unsupported
        ):
            policy = self._fscrypt(real_dir, st_dev)
            if policy:
                return encrypted("fscrypt", f"directory {real_dir}: {policy}")
        return volume

    def _fscrypt(self, real_dir: str, st_dev: int) -> str | None:
        """fscrypt is per directory, so asked once per folder, and not at all once the filesystem
        has said it has none (an open and two ioctls per folder add up over a large tree)."""
        if real_dir not in self._fscrypt_cache:
            try:
                self._fscrypt_cache[real_dir] = fscrypt_policy(real_dir)
            except FscryptUnsupported:
                self._fscrypt_unsupported.add(st_dev)
                return None
        return self._fscrypt_cache[real_dir]

    def _mount_for(self, real_dir: str, st_dev: int) -> MountEntry | None:
        # Most devices appear once in the mount table: then the device number alone decides.
        if st_dev in self._mount_by_device:
            return self._mount_by_device[st_dev]
        key = (st_dev, real_dir)
        if key not in self._mount_by_dir:
            mounts = self._mount_table()
            dev = (os.major(st_dev), os.minor(st_dev))
            same_device = [m for m in mounts if m.dev == dev]
            if len(same_device) == 1:
                self._mount_by_device[st_dev] = same_device[0]
                return same_device[0]
            self._mount_by_dir[key] = find_mount(mounts, real_dir, st_dev)
        return self._mount_by_dir[key]

    def _mount_table(self) -> list[MountEntry]:
        if self._mounts is None:
            try:
                self._mounts = read_mountinfo(self._mountinfo_path)
            except OSError as exc:
                self._mountinfo_error = (
                    f"mount table {self._mountinfo_path} unreadable: {exc.strerror or exc}"
                )
                self._mounts = []
        return self._mounts

    def _device_volume(self, mount: MountEntry | None, st_dev: int, depth: int) -> VolumeEncryption:
        if mount is not None and mount.fstype in ENCRYPTING_FILESYSTEMS:
            method = ENCRYPTING_FILESYSTEMS[mount.fstype]
            return encrypted(method, f"mount {mount.mount_point} type {mount.fstype}")
        if mount is not None and mount.fstype == "zfs":
            if not self._zfs_available:
                return unknown(f"zfs dataset {mount.source}: the zfs command is not available")
            return zfs_native_encryption(mount.source, self._run)
        major, minor = os.major(st_dev), os.minor(st_dev)
        if major != 0:  # a real block device number
            return self._blocks.for_device(major, minor, depth)
        if mount is not None and mount.source.startswith("/dev/"):
            # btrfs and a few others report an anonymous device number; the mount source names the device.
            if mount.fstype == "btrfs":
                by_source = self._blocks.for_btrfs(mount.source, depth)
            else:
                by_source = self._blocks.for_device_name(mount.source, depth)
            if by_source is not None:
                return by_source
        if mount is None:
            reason = self._mountinfo_error or "not found in the mount table"
            return unknown(f"no block device for {major}:{minor} and its mount is unknown ({reason})")
        return unknown(
            f"mount {mount.mount_point} type {mount.fstype} from {mount.source}: no block device to inspect"
        )
