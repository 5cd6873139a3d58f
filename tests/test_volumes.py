"""VolumeProbe against fake sysfs/mountinfo trees, fake command output, and the real machine."""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.localfs.volumes import ENCRYPTING_METHODS, VolumeEncryption, VolumeProbe
from auditor.localfs.volumes_linux import (
    FscryptUnsupported,
    describe_fscrypt_policy,
    fscrypt_policy,
    parse_mountinfo,
    unescape_mount_field,
)

# -- fake trees ------------------------------------------------------------------------------------


class FakeSysfs:
    """A /sys with just what the probe reads: dev/block links, class/block links, dm/, slaves/, loop/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("dev/block", "class/block", "devices/virtual/block", "devices/pci0000:00/block"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def device(
        self,
        name: str,
        devnum: tuple[int, int],
        *,
        partition_of: Path | None = None,
        virtual: bool = False,
        dm_uuid: str | None = None,
        dm_name: str | None = None,
        slaves: tuple[Path, ...] = (),
        md: bool = False,
        loop_backing: str | None = None,
    ) -> Path:
        if partition_of is not None:
            directory = partition_of / name
        elif virtual or dm_uuid is not None or md or loop_backing is not None:
            directory = self.root / "devices/virtual/block" / name
        else:
            directory = self.root / "devices/pci0000:00/block" / name
        directory.mkdir(parents=True)
        (directory / "dev").write_text(f"{devnum[0]}:{devnum[1]}\n")
        if partition_of is not None:
            (directory / "partition").write_text("1\n")
        if dm_uuid is not None or dm_name is not None:
            (directory / "dm").mkdir()
            (directory / "dm/uuid").write_text((dm_uuid or "") + "\n")
            (directory / "dm/name").write_text((dm_name or name) + "\n")
        if md:
            (directory / "md").mkdir()
        if loop_backing is not None:
            (directory / "loop").mkdir()
            (directory / "loop/backing_file").write_text(loop_backing + "\n")
        (directory / "slaves").mkdir()
        for slave in slaves:
            (directory / "slaves" / slave.name).symlink_to(os.path.relpath(slave, directory / "slaves"))
        (self.root / "dev/block" / f"{devnum[0]}:{devnum[1]}").symlink_to(directory)
        (self.root / "class/block" / name).symlink_to(directory)
        return directory


def mountinfo_line(mount_id: int, devnum: tuple[int, int], mount_point: str, fstype: str, source: str) -> str:
    escaped = mount_point.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
    return f"{mount_id} 1 {devnum[0]}:{devnum[1]} / {escaped} rw,relatime shared:1 - {fstype} {source} rw\n"


def write_mountinfo(path: Path, *lines: str) -> Path:
    path.write_text("".join(lines))
    return path


def dev(major: int, minor: int) -> int:
    return os.makedev(major, minor)


@pytest.fixture
def sysfs(tmp_path: Path) -> FakeSysfs:
    return FakeSysfs(tmp_path / "sys")


def probe_for(sysfs: FakeSysfs, mountinfo: Path, **kwargs: object) -> VolumeProbe:
    return VolumeProbe(sysfs=sysfs.root, mountinfo=mountinfo, platform="linux", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def no_mounts(tmp_path: Path) -> Path:
    return write_mountinfo(tmp_path / "mountinfo")


# -- mountinfo -------------------------------------------------------------------------------------


def test_mountinfo_parsing_unescapes_and_skips_optional_fields() -> None:
    text = (
        "36 35 98:0 /mnt1 /mnt/My\\040Vault\\011tab rw,noatime master:1 shared:3 - fuse.gocryptfs /c\\134x rw\n"
        "garbage line\n"
        "37 35 8:1 / / rw - ext4 /dev/sda1 rw\n"
    )
    mounts = parse_mountinfo(text)
    assert [(m.dev, m.mount_point, m.fstype, m.source) for m in mounts] == [
        ((98, 0), "/mnt/My Vault\ttab", "fuse.gocryptfs", "/c\\x"),
        ((8, 1), "/", "ext4", "/dev/sda1"),
    ]
    assert unescape_mount_field("a\\040b\\012c") == "a b\nc"


# -- block-device stacks ---------------------------------------------------------------------------


def test_luks2_on_a_partition_is_encrypted(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sda = sysfs.device("sda", (8, 0))
    sda2 = sysfs.device("sda2", (8, 2), partition_of=sda)
    sysfs.device("dm-0", (253, 0), dm_uuid="CRYPT-LUKS2-0123abcd-luks-0123", slaves=(sda2,))
    answer = probe_for(sysfs, no_mounts).for_path("/home/a/session.wav", dev(253, 0))
    assert answer == VolumeEncryption(True, "luks", "dm-0 uuid CRYPT-LUKS2-0123abcd-luks-0123")


def test_plain_dm_crypt_is_encrypted(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sdb = sysfs.device("sdb", (8, 16))
    sysfs.device("dm-2", (253, 2), dm_uuid="CRYPT-PLAIN-vault", slaves=(sdb,))
    answer = probe_for(sysfs, no_mounts).for_path("/vault/a.wav", dev(253, 2))
    assert (answer.encrypted, answer.method) == (True, "dm-crypt")


def test_lvm_on_luks(sysfs: FakeSysfs, no_mounts: Path) -> None:
    nvme = sysfs.device("nvme0n1", (259, 0))
    part = sysfs.device("nvme0n1p3", (259, 3), partition_of=nvme)
    crypt = sysfs.device("dm-0", (253, 0), dm_uuid="CRYPT-LUKS1-feed-cryptlvm", slaves=(part,))
    sysfs.device("dm-1", (253, 1), dm_uuid="LVM-abcdefABCDEF", slaves=(crypt,))
    answer = probe_for(sysfs, no_mounts).for_path("/home/a/b.wav", dev(253, 1))
    assert (answer.encrypted, answer.method) == (True, "lvm-on-luks")
    assert "dm-1 (LVM)" in answer.detail and "CRYPT-LUKS1" in answer.detail


def test_lvm_on_a_plain_partition_is_not_encrypted(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sda = sysfs.device("sda", (8, 0))
    sda3 = sysfs.device("sda3", (8, 3), partition_of=sda)
    sysfs.device("dm-4", (253, 4), dm_uuid="LVM-xyz", slaves=(sda3,))
    answer = probe_for(sysfs, no_mounts).for_path("/data/x.wav", dev(253, 4))
    assert (answer.encrypted, answer.method) == (False, "none")
    assert "sda3 partition of sda" in answer.detail


def test_plain_partition_is_not_encrypted(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sda = sysfs.device("sda", (8, 0))
    sysfs.device("sda1", (8, 1), partition_of=sda)
    answer = probe_for(sysfs, no_mounts).for_path("/x.wav", dev(8, 1))
    assert answer == VolumeEncryption(False, "none", "sda1 partition of sda: no encryption layer")


def test_integrity_only_dm_layer_is_not_taken_for_encryption(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sdc = sysfs.device("sdc", (8, 32))
    sysfs.device("dm-5", (253, 5), dm_uuid="CRYPT-VERITY-aaaa-root", slaves=(sdc,))
    answer = probe_for(sysfs, no_mounts).for_path("/x.wav", dev(253, 5))
    assert (answer.encrypted, answer.method) == (False, "none")


def test_volume_group_over_encrypted_and_plain_disks_is_unknown(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sda, sdb = sysfs.device("sda", (8, 0)), sysfs.device("sdb", (8, 16))
    crypt = sysfs.device("dm-0", (253, 0), dm_uuid="CRYPT-LUKS2-1-a", slaves=(sda,))
    sysfs.device("dm-1", (253, 1), dm_uuid="LVM-span", slaves=(crypt, sdb))
    answer = probe_for(sysfs, no_mounts).for_path("/x.wav", dev(253, 1))
    assert (answer.encrypted, answer.method) == (None, "unknown")
    assert answer.detail.startswith("partly encrypted")


def test_raid_over_luks_members_is_encrypted(sysfs: FakeSysfs, no_mounts: Path) -> None:
    members = []
    for index, disk in enumerate(("sda", "sdb")):
        raw = sysfs.device(disk, (8, 16 * index))
        members.append(
            sysfs.device(f"dm-{index}", (253, index), dm_uuid=f"CRYPT-LUKS2-{index}-m", slaves=(raw,))
        )
    sysfs.device("md0", (9, 0), md=True, slaves=tuple(members))
    answer = probe_for(sysfs, no_mounts).for_path("/x.wav", dev(9, 0))
    assert (answer.encrypted, answer.method) == (True, "luks")


def test_dm_device_without_visible_lower_devices_is_unknown(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sysfs.device("dm-7", (253, 7), dm_uuid="LVM-lonely")
    assert probe_for(sysfs, no_mounts).for_path("/x.wav", dev(253, 7)).encrypted is None


def test_network_block_device_is_unknown(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sysfs.device("nbd0", (43, 0))
    assert probe_for(sysfs, no_mounts).for_path("/x.wav", dev(43, 0)).encrypted is None


def test_missing_sysfs_is_unknown(tmp_path: Path, no_mounts: Path) -> None:
    probe = VolumeProbe(sysfs=tmp_path / "no-sys", mountinfo=no_mounts, platform="linux")
    answer = probe.for_path("/x.wav", dev(8, 1))
    assert (answer.encrypted, answer.method) == (None, "unknown")
    assert "sysfs not readable" in answer.detail


def test_device_absent_from_sysfs_is_unknown(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sysfs.device("sda", (8, 0))
    answer = probe_for(sysfs, no_mounts).for_path("/x.wav", dev(8, 5))
    assert (answer.encrypted, answer.detail) == (None, "no sysfs entry for block device 8:5")


def test_unreadable_sysfs_entry_is_unknown_not_plain(sysfs: FakeSysfs, no_mounts: Path) -> None:
    # A dangling link stands for an entry that cannot be read (permission bits do not stop root).
    (sysfs.root / "dev/block/8:0").symlink_to(sysfs.root / "devices/gone/sda")
    answer = probe_for(sysfs, no_mounts).for_path("/x.wav", dev(8, 0))
    assert (answer.encrypted, answer.method) == (None, "unknown")
    assert "cannot read sysfs" in answer.detail


def test_unreadable_slaves_make_the_stack_unknown(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sda = sysfs.device("sda", (8, 0))
    lvm = sysfs.device("dm-1", (253, 1), dm_uuid="LVM-x", slaves=(sda,))
    (lvm / "slaves/sda").unlink()
    (lvm / "slaves/sda").symlink_to(sysfs.root / "nowhere")
    assert probe_for(sysfs, no_mounts).for_path("/x.wav", dev(253, 1)).encrypted is None


# -- mounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fstype", "method"),
    [
        ("ecryptfs", "ecryptfs"),
        ("fuse.gocryptfs", "gocryptfs"),
        ("fuse.cryfs", "cryfs"),
        ("fuse.encfs", "encfs"),
    ],
)
def test_encrypting_filesystems(sysfs: FakeSysfs, tmp_path: Path, fstype: str, method: str) -> None:
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo",
        mountinfo_line(1, (8, 1), "/", "ext4", "/dev/sda1"),
        mountinfo_line(2, (0, 50), "/home/x", fstype, "/home/.x"),
    )
    answer = probe_for(sysfs, mountinfo).for_path("/home/x/notes/s.wav", dev(0, 50))
    assert answer == VolumeEncryption(True, method, f"mount /home/x type {fstype}")


def test_mount_point_with_escaped_space_is_found_by_prefix(sysfs: FakeSysfs, tmp_path: Path) -> None:
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo",
        mountinfo_line(1, (0, 30), "/media", "tmpfs", "tmpfs"),
        mountinfo_line(2, (0, 51), "/media/My Vault", "fuse.gocryptfs", "/srv/c"),
    )
    probe = probe_for(sysfs, mountinfo)
    # The device number matches no entry (another mount namespace): the longest prefix decides.
    inside = probe.for_path("/media/My Vault/a.wav", dev(0, 99))
    assert (inside.encrypted, inside.method) == (True, "gocryptfs")
    beside = probe.for_path("/media/My Vaults/a.wav", dev(0, 98))
    assert (beside.encrypted, beside.method) == (None, "unknown")


@pytest.mark.parametrize("fstype", ["overlay", "tmpfs", "nfs4", "9p", "fuse.sshfs"])
def test_filesystems_without_a_block_device_are_unknown(
    sysfs: FakeSysfs, tmp_path: Path, fstype: str
) -> None:
    mountinfo = write_mountinfo(tmp_path / "mountinfo", mountinfo_line(1, (0, 60), "/", fstype, "srv:/x"))
    answer = probe_for(sysfs, mountinfo).for_path("/a/b.wav", dev(0, 60))
    assert (answer.encrypted, answer.method) == (None, "unknown")
    assert fstype in answer.detail


def test_btrfs_anonymous_device_is_resolved_through_the_mount_source(
    sysfs: FakeSysfs, tmp_path: Path
) -> None:
    nvme = sysfs.device("nvme0n1", (259, 0))
    part = sysfs.device("nvme0n1p2", (259, 2), partition_of=nvme)
    sysfs.device("dm-0", (253, 0), dm_uuid="CRYPT-LUKS2-77-luks-77", dm_name="luks-77", slaves=(part,))
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo", mountinfo_line(1, (0, 40), "/home", "btrfs", "/dev/mapper/luks-77")
    )
    # Files in a btrfs subvolume carry yet another anonymous device number.
    answer = probe_for(sysfs, mountinfo).for_path("/home/a/b.wav", dev(0, 41))
    assert (answer.encrypted, answer.method) == (True, "luks")


def test_multi_device_btrfs_with_one_plain_member_is_unknown(sysfs: FakeSysfs, tmp_path: Path) -> None:
    sda, sdb = sysfs.device("sda", (8, 0)), sysfs.device("sdb", (8, 16))
    crypt = sysfs.device("dm-0", (253, 0), dm_uuid="CRYPT-LUKS2-1-a", dm_name="cr", slaves=(sda,))
    members = sysfs.root / "fs/btrfs/0f0f-uuid/devices"
    members.mkdir(parents=True)
    (members / "dm-0").symlink_to(crypt)
    (members / "sdb").symlink_to(sdb)
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo", mountinfo_line(1, (0, 40), "/srv", "btrfs", "/dev/mapper/cr")
    )
    answer = probe_for(sysfs, mountinfo).for_path("/srv/a.wav", dev(0, 40))
    assert answer.encrypted is None and answer.detail.startswith("partly encrypted")


def test_loop_device_inherits_its_backing_files_volume(sysfs: FakeSysfs, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    image = vault / "disk.img"
    image.write_bytes(b"\0" * 512)
    sysfs.device("loop3", (7, 3), loop_backing=str(image))
    probe = probe_for(sysfs, write_mountinfo(tmp_path / "mountinfo"), trusted_volumes=[vault])
    answer = probe.for_path("/mnt/img/a.wav", dev(7, 3))
    assert (answer.encrypted, answer.method) == (True, "trusted-volume")
    assert f"loop3 backed by {image}" in answer.detail


def test_loop_device_on_a_plain_disk_is_not_encrypted(sysfs: FakeSysfs, tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * 512)
    real = os.stat(image).st_dev
    sysfs.device("sdz", (os.major(real), os.minor(real)))  # the real disk under tmp_path, as a plain disk
    sysfs.device("loop4", (7, 4), loop_backing=str(image))
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo",
        mountinfo_line(1, (os.major(real), os.minor(real)), str(tmp_path), "ext4", "/dev/sdz"),
    )
    answer = probe_for(sysfs, mountinfo).for_path("/mnt/img/a.wav", dev(7, 4))
    assert (answer.encrypted, answer.method) == (False, "none")
    assert "sdz: no encryption layer" in answer.detail


def test_answers_are_cached_per_device(sysfs: FakeSysfs, no_mounts: Path) -> None:
    sysfs.device("sda", (8, 0))
    probe = probe_for(sysfs, no_mounts)
    first = probe.for_path("/a/x.wav", dev(8, 0))
    (sysfs.root / "dev/block/8:0").unlink()  # a second look would now say "unknown"
    assert probe.for_path("/b/y.wav", dev(8, 0)) == first


def test_unreadable_mountinfo_still_walks_the_block_device(sysfs: FakeSysfs, tmp_path: Path) -> None:
    sysfs.device("sda", (8, 0))
    probe = probe_for(sysfs, tmp_path / "missing-mountinfo")
    assert probe.for_path("/x.wav", dev(8, 0)).encrypted is False
    anonymous = probe.for_path("/y.wav", dev(0, 77))
    assert anonymous.encrypted is None and "mountinfo" in anonymous.detail


# -- trusted volumes -------------------------------------------------------------------------------


def test_trusted_volume_needs_the_path_to_be_inside_it(
    sysfs: FakeSysfs, tmp_path: Path, no_mounts: Path
) -> None:
    secure = tmp_path / "secure"
    secure.mkdir()
    sysfs.device("sda", (8, 0))
    probe = probe_for(sysfs, no_mounts, trusted_volumes=[secure])
    assert probe.for_path(str(secure / "sub" / "a.wav"), dev(8, 0)) == VolumeEncryption(
        True, "trusted-volume", f"trusted: {secure}"
    )
    assert probe.for_path(str(tmp_path / "secure2" / "a.wav"), dev(8, 0)).encrypted is False


def test_symlink_out_of_a_trusted_volume_is_not_trusted(
    sysfs: FakeSysfs, tmp_path: Path, no_mounts: Path
) -> None:
    secure, elsewhere = tmp_path / "secure", tmp_path / "elsewhere"
    secure.mkdir()
    elsewhere.mkdir()
    (secure / "link").symlink_to(elsewhere)
    sysfs.device("sda", (8, 0))
    probe = probe_for(sysfs, no_mounts, trusted_volumes=[secure])
    assert probe.for_path(str(secure / "link" / "a.wav"), dev(8, 0)).method == "none"


# -- ZFS ---------------------------------------------------------------------------------------------


def fake_run(outputs: dict[str, str | Exception]) -> tuple[Callable[[list[str]], str], list[list[str]]]:
    """A command runner answering by program name; records every call."""
    calls: list[list[str]] = []

    def run(args: list[str]) -> str:
        calls.append(args)
        answer = outputs.get(args[0], FileNotFoundError(args[0]))
        if isinstance(answer, Exception):
            raise answer
        return answer

    return run, calls


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("aes-256-gcm\n", (True, "zfs-native")),
        ("off\n", (None, "unknown")),
        (subprocess.CalledProcessError(1, "zfs"), (None, "unknown")),
    ],
)
def test_zfs_native_encryption(
    sysfs: FakeSysfs, tmp_path: Path, output: str | Exception, expected: tuple[bool | None, str]
) -> None:
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo", mountinfo_line(1, (0, 45), "/tank", "zfs", "tank/therapy")
    )
    run, calls = fake_run({"zfs": output})
    answer = probe_for(sysfs, mountinfo, run=run).for_path("/tank/a.wav", dev(0, 45))
    assert (answer.encrypted, answer.method) == expected
    assert calls == [["zfs", "get", "-H", "-o", "value", "encryption", "tank/therapy"]]


# -- fscrypt ---------------------------------------------------------------------------------------


def test_fscrypt_policy_description() -> None:
    buffer = struct.pack("=Q", 24) + bytes([2, 1, 4, 0]) + bytes(20)
    assert describe_fscrypt_policy(buffer) == "fscrypt policy v2, contents AES-256-XTS, filenames AES-256-CTS"
    v1 = struct.pack("=Q", 12) + bytes([0, 9, 9, 0]) + bytes(20)
    assert describe_fscrypt_policy(v1) == "fscrypt policy v1, contents Adiantum, filenames Adiantum"


def test_fscrypt_says_nothing_for_an_ordinary_directory(tmp_path: Path) -> None:
    # A filesystem without fscrypt at all says so more strongly, and that is no policy either.
    with contextlib.suppress(FscryptUnsupported):
        assert fscrypt_policy(str(tmp_path)) is None
    assert fscrypt_policy(str(tmp_path / "missing")) is None


def test_fscrypt_is_not_asked_again_on_a_filesystem_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One EOPNOTSUPP answers for the whole filesystem; other devices are still asked per folder."""
    from auditor.localfs import volumes_linux

    asked: list[str] = []

    def fake_policy(directory: str) -> str | None:
        asked.append(directory)
        if directory.startswith("/plain"):
            raise FscryptUnsupported(directory)
        return "fscrypt policy v2" if directory.startswith("/vault/enc") else None

    monkeypatch.setattr(volumes_linux, "fscrypt_policy", fake_policy)
    sysfs = FakeSysfs(tmp_path / "sys")
    for name, minor in (("sda", 0), ("sdb", 16)):
        sysfs.device(name, (8, minor))
    mountinfo = write_mountinfo(
        tmp_path / "mountinfo",
        mountinfo_line(1, (8, 0), "/plain", "ext4", "/dev/sda"),
        mountinfo_line(2, (8, 16), "/vault", "ext4", "/dev/sdb"),
    )
    probe = probe_for(sysfs, mountinfo)
    for folder in ("a", "b", "c"):
        assert probe.for_path(f"/plain/{folder}/s.wav", dev(8, 0)).method != "fscrypt"
    assert probe.for_path("/vault/enc/s.wav", dev(8, 16)).method == "fscrypt"
    assert probe.for_path("/vault/open/s.wav", dev(8, 16)).method != "fscrypt"
    assert asked == ["/plain/a", "/vault/enc", "/vault/open"]


def _fscrypt_ioctl(number: int, size: int) -> int:
    return (3 << 30) | (size << 16) | (ord("f") << 8) | number


NEEDS_LOOP_EXT4 = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mkfs.ext4")),
    reason="needs root and mkfs.ext4 to mount a real ext4 image",
)


@contextlib.contextmanager
def loop_mounted_ext4(tmp_path: Path, feature: str) -> Iterator[Path]:
    """A real 32 MiB ext4 image with `feature` (e.g. "encrypt" or "^encrypt"), loop-mounted."""
    image, mount_point = tmp_path / "ext4.img", tmp_path / "mnt"
    mount_point.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(32 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-O", feature, str(image)], check=True)
    if subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)], capture_output=True).returncode:
        pytest.skip("cannot loop-mount here")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


@NEEDS_LOOP_EXT4
def test_real_ext4_without_the_encrypt_feature_says_so_for_the_whole_filesystem(tmp_path: Path) -> None:
    with loop_mounted_ext4(tmp_path, "^encrypt") as mount_point, pytest.raises(FscryptUnsupported):
        fscrypt_policy(str(mount_point))


@NEEDS_LOOP_EXT4
def test_real_fscrypt_directory_on_a_loop_mounted_ext4(tmp_path: Path) -> None:
    import fcntl

    with loop_mounted_ext4(tmp_path, "encrypt") as mount_point:
        encrypted_dir, plain_dir = mount_point / "enc", mount_point / "plain"
        encrypted_dir.mkdir()
        plain_dir.mkdir()
        fd = os.open(mount_point, os.O_RDONLY)
        try:  # FS_IOC_ADD_ENCRYPTION_KEY with a random v2 key; the kernel returns its identifier
            add_key = bytearray(struct.pack("=II32sII32s", 2, 0, b"", 64, 0, b"") + os.urandom(64))
            try:
                fcntl.ioctl(fd, _fscrypt_ioctl(23, 80), add_key, True)
            except OSError as exc:
                pytest.skip(f"kernel refuses fscrypt keys: {exc}")
        finally:
            os.close(fd)
        fd = os.open(encrypted_dir, os.O_RDONLY)
        try:  # FS_IOC_SET_ENCRYPTION_POLICY, v2 policy, AES-256-XTS / AES-256-CTS
            fcntl.ioctl(
                fd,
                (2 << 30) | (12 << 16) | (ord("f") << 8) | 19,
                struct.pack("=BBBB4s16s", 2, 1, 4, 0, b"", bytes(add_key[8:24])),
            )
        finally:
            os.close(fd)
        st_dev = os.stat(mount_point).st_dev
        probe = VolumeProbe(platform="linux")
        inside = probe.for_path(str(encrypted_dir / "a.wav"), st_dev)
        assert (inside.encrypted, inside.method) == (True, "fscrypt")
        assert "v2, contents AES-256-XTS" in inside.detail
        beside = probe.for_path(str(plain_dir / "a.wav"), st_dev)
        assert beside.method != "fscrypt" and "backed by" in beside.detail  # the loop device's backing file
        # A plain folder on a filesystem with fscrypt is "no policy", never "no fscrypt here".
        assert fscrypt_policy(str(plain_dir)) is None
        again = probe.for_path(str(encrypted_dir / "b.wav"), st_dev)
        assert (again.encrypted, again.method) == (True, "fscrypt")


@pytest.mark.skipif(
    not (shutil.which("gocryptfs") and shutil.which("fusermount") and os.path.exists("/dev/fuse")),
    reason="needs gocryptfs and FUSE",
)
def test_real_gocryptfs_mount_with_a_space_in_its_path(tmp_path: Path) -> None:
    cipher, plain, password = tmp_path / "cipher", tmp_path / "plain text", tmp_path / "pw"
    cipher.mkdir()
    plain.mkdir()
    password.write_text("correct horse\n")
    subprocess.run(["gocryptfs", "-q", "-init", "-passfile", str(password), str(cipher)], check=True)
    if subprocess.run(["gocryptfs", "-q", "-passfile", str(password), str(cipher), str(plain)]).returncode:
        pytest.skip("cannot mount FUSE here")
    try:
        recording = plain / "session.wav"
        recording.write_bytes(b"RIFF")
        answer = VolumeProbe(platform="linux").for_path(str(recording), os.stat(recording).st_dev)
        assert answer == VolumeEncryption(True, "gocryptfs", f"mount {plain} type fuse.gocryptfs")
    finally:
        subprocess.run(["fusermount", "-u", str(plain)], check=False)


# -- macOS and Windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("FileVault is On.\n", (True, "filevault")),
        ("FileVault is Off.\n", (False, "none")),
        ("FileVault is On.\nEncryption in progress: Percent completed = 42.0\n", (None, "unknown")),
        ("FileVault is Off.\nDecryption in progress: Percent completed = 10.0\n", (None, "unknown")),
        ("something else\n", (None, "unknown")),
        (subprocess.CalledProcessError(1, "fdesetup"), (None, "unknown")),
        (PermissionError("denied"), (None, "unknown")),
    ],
)
def test_macos_filevault(output: str | Exception, expected: tuple[bool | None, str]) -> None:
    run, calls = fake_run({"fdesetup": output})
    probe = VolumeProbe(platform="darwin", run=run)
    first = probe.for_path("/Users/t/Recordings/a.m4a", 16777233)
    second = probe.for_path("/Users/t/Desktop/b.m4a", 16777233)
    assert (first.encrypted, first.method) == expected
    assert second == first and calls == [["fdesetup", "status"]]


def test_macos_external_volume_is_unknown_without_asking() -> None:
    run, calls = fake_run({"fdesetup": "FileVault is On.\n"})
    answer = VolumeProbe(platform="darwin", run=run).for_path("/Volumes/USB Stick/a.m4a", 16777240)
    assert (answer.encrypted, answer.method) == (None, "unknown") and calls == []


MANAGE_BDE_TEMPLATE = """BitLocker Drive Encryption: Configuration Tool version 10.0.19041
Volume C: [OS]
[OS Volume]

    Size:                 475.69 GB
    BitLocker Version:    2.0
    Conversion Status:    {conversion}
    Percentage Encrypted: {percent}
    Encryption Method:    XTS-AES 128
    Protection Status:    {protection}
    Lock Status:          Unlocked
"""


@pytest.mark.parametrize(
    ("conversion", "percent", "protection", "expected"),
    [
        ("Fully Encrypted", "100.0%", "Protection On", (True, "bitlocker")),
        ("Fully Decrypted", "0.0%", "Protection Off", (False, "none")),
        # Suspended protection leaves the key in the clear on the disk: not encrypted in effect.
        ("Fully Encrypted", "100.0%", "Protection Off", (False, "none")),
        ("Encryption in Progress", "37.5%", "Protection On", (None, "unknown")),
    ],
)
def test_windows_manage_bde(
    conversion: str, percent: str, protection: str, expected: tuple[bool | None, str]
) -> None:
    output = MANAGE_BDE_TEMPLATE.format(conversion=conversion, percent=percent, protection=protection)
    run, calls = fake_run({"manage-bde": output})
    answer = VolumeProbe(platform="win32", run=run).for_path("C:\\Users\\t\\a.m4a", 1234)
    assert (answer.encrypted, answer.method) == expected
    assert calls == [["manage-bde", "-status", "C:"]]
    assert protection in answer.detail or conversion in answer.detail


@pytest.mark.parametrize(
    ("value", "expected"), [("1\r\n", True), ("2\r\n", False), ("3\r\n", None), ("", None)]
)
def test_windows_falls_back_to_the_shell_property_without_admin(value: str, expected: bool | None) -> None:
    denied = subprocess.CalledProcessError(0x80070005, "manage-bde")
    run, calls = fake_run({"manage-bde": denied, "powershell": value})
    answer = VolumeProbe(platform="win32", run=run).for_path("d:\\rec\\a.m4a", 99)
    assert answer.encrypted is expected
    assert [c[0] for c in calls] == ["manage-bde", "powershell"] and calls[0][2] == "D:"


def test_windows_unknown_when_nothing_answers_and_cached_per_drive() -> None:
    run, calls = fake_run({})
    probe = VolumeProbe(platform="win32", run=run)
    assert probe.for_path("C:\\a.m4a", 1).encrypted is None
    assert probe.for_path("C:\\b\\c.m4a", 1).encrypted is None
    assert probe.for_path("E:\\c.m4a", 2).encrypted is None
    assert [c[0] for c in calls] == ["manage-bde", "powershell", "manage-bde", "powershell"]
    assert probe.for_path("\\\\server\\share\\a.m4a", 3).detail.endswith(
        "has no drive letter (network path?)"
    )


def test_unsupported_platform_is_unknown() -> None:
    assert VolumeProbe(platform="freebsd14").for_path("/a.wav", 1).encrypted is None


# -- the real machine ------------------------------------------------------------------------------


def _evidence_confirms(answer: VolumeEncryption, path: Path) -> bool:
    """Independent check that an "encrypted" answer rests on something visible on this machine."""
    mounts = Path("/proc/self/mountinfo").read_text() if sys.platform.startswith("linux") else ""
    if answer.method in ("luks", "dm-crypt", "lvm-on-luks", "bitlocker") and "uuid CRYPT-" in answer.detail:
        return True
    if answer.method == "fscrypt":
        return "fscrypt" in answer.detail
    if answer.method in ("ecryptfs", "gocryptfs", "cryfs", "encfs"):
        return f" {answer.method} " in mounts or f" fuse.{answer.method} " in mounts
    if answer.method == "zfs-native":
        return " zfs " in mounts
    return answer.method in ("filevault", "bitlocker") and answer.detail != ""


def test_real_machine_answer_is_consistent(tmp_path: Path) -> None:
    recording = tmp_path / "session.wav"
    recording.write_bytes(b"RIFF")
    answer = VolumeProbe().for_path(str(recording), os.stat(recording).st_dev)
    assert answer.detail
    if answer.encrypted is True:
        assert answer.method in ENCRYPTING_METHODS and answer.method != "trusted-volume"
        assert _evidence_confirms(answer, tmp_path), answer
    elif answer.encrypted is False:
        assert answer.method == "none"
    else:
        assert answer.method == "unknown"
