"""ExposureProbe on real files with real permission bits, fake homes and share configurations."""

from __future__ import annotations

import grp
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.localfs.exposure import ExposureProbe, parse_exports, parse_smb_conf
from auditor.models import Exposure

NO_SHARES = {"smb_conf": Path("/nonexistent/smb.conf"), "exports": Path("/nonexistent/exports")}


def probe(home: Path, **kwargs: object) -> ExposureProbe:
    options: dict[str, object] = {**NO_SHARES, "home": home, **kwargs}
    return ExposureProbe(**options)  # type: ignore[arg-type]


def kinds(found: list[Exposure]) -> list[str]:
    return [e.kind for e in found]


def make_file(path: Path, mode: int = 0o600) -> os.stat_result:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    os.chmod(path, mode)
    return os.stat(path)


@pytest.fixture
def open_tree() -> Iterator[Path]:
    """A directory whose every ancestor others may traverse (pytest's own tmp dirs are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="exposure-test-"))
    os.chmod(base, 0o755)
    ancestors = [base, *base.parents]
    if not all(os.stat(a).st_mode & 0o001 for a in ancestors):
        shutil.rmtree(base)
        pytest.skip(f"the temp dir {base.parent} is not traversable by others")
    try:
        yield base
    finally:
        for root, dirs, _ in os.walk(base):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(base)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    fake = tmp_path / "home"
    fake.mkdir()
    return fake


# -- permissions -----------------------------------------------------------------------------------


def test_world_readable_file_under_traversable_directories(open_tree: Path, home: Path) -> None:
    recording = open_tree / "clinic" / "s.wav"
    st = make_file(recording, 0o644)
    os.chmod(recording.parent, 0o755)
    found = probe(home).exposures(str(recording), st)
    assert kinds(found) == ["world-readable"]
    assert found[0].evidence == {
        "mode": "0644",
        "directory": str(recording.parent),
        "other_accounts": ["alice", "bob"],  # the two-clinician passwd of conftest
        "other_accounts_count": 2,
    }


def test_not_world_readable_without_the_read_bit(open_tree: Path, home: Path) -> None:
    recording = open_tree / "s.wav"
    st = make_file(recording, 0o640)
    assert kinds(probe(home).exposures(str(recording), st)) == []


@pytest.mark.parametrize("closed_mode", [0o750, 0o700, 0o754])
def test_an_ancestor_without_o_x_hides_a_world_readable_file(
    open_tree: Path, home: Path, closed_mode: int
) -> None:
    recording = open_tree / "private" / "inner" / "s.wav"
    st = make_file(recording, 0o644)
    os.chmod(recording.parent, 0o755)
    os.chmod(open_tree / "private", closed_mode)
    assert kinds(probe(home).exposures(str(recording), st)) == []


def test_ancestor_that_cannot_be_stat_is_not_traversable_and_noted(tmp_path: Path, home: Path) -> None:
    st = make_file(tmp_path / "real.wav", 0o644)
    exposure_probe = probe(home)
    # The scanner reached a file whose directory is gone by the time its ancestors are examined.
    assert kinds(exposure_probe.exposures("/vanished-dir-for-test/sub/s.wav", st)) == []
    assert any("/vanished-dir-for-test/sub: cannot stat" in note for note in exposure_probe.notes)


def test_world_readable_through_a_symlinked_directory_follows_the_real_path(
    open_tree: Path, home: Path
) -> None:
    hidden = open_tree / "hidden"
    recording = open_tree / "public" / "s.wav"
    st = make_file(recording, 0o644)
    hidden.mkdir(mode=0o700)
    os.chmod(hidden, 0o700)
    (hidden / "link").symlink_to(recording.parent)
    # Reached through a private directory, but anyone can take the real path.
    found = probe(home).exposures(str(hidden / "link" / "s.wav"), st)
    assert kinds(found) == ["world-readable"]


def _group_of(path: Path) -> str:
    return grp.getgrgid(os.stat(path).st_gid).gr_name


def test_group_readable_by_a_broad_group(open_tree: Path, home: Path) -> None:
    recording = open_tree / "team" / "s.wav"
    st = make_file(recording, 0o640)
    group = _group_of(recording)
    found = probe(home, broad_groups=[group]).exposures(str(recording), st)
    assert kinds(found) == ["group-readable"]
    assert found[0].evidence["group"] == group and found[0].evidence["mode"] == "0640"


def test_group_traversal_through_g_x_of_the_same_group(open_tree: Path, home: Path) -> None:
    recording = open_tree / "team" / "s.wav"
    st = make_file(recording, 0o640)
    os.chmod(recording.parent, 0o750)  # same group as the file (both created by us): g+x lets the group in
    group = _group_of(recording)
    assert os.stat(recording.parent).st_gid == st.st_gid
    assert kinds(probe(home, broad_groups=[group]).exposures(str(recording), st)) == ["group-readable"]
    os.chmod(recording.parent, 0o700)
    assert kinds(probe(home, broad_groups=[group]).exposures(str(recording), st)) == []


def test_group_readable_needs_the_group_to_be_broad_and_the_read_bit(open_tree: Path, home: Path) -> None:
    recording = open_tree / "s.wav"
    st = make_file(recording, 0o640)
    assert kinds(probe(home, broad_groups=["some-other-group"]).exposures(str(recording), st)) == []
    st = make_file(recording, 0o604)  # group members get the group bits: no read
    found = probe(home, broad_groups=[_group_of(recording)]).exposures(str(recording), st)
    assert kinds(found) == ["world-readable"]


def test_broad_group_given_by_number(open_tree: Path, home: Path) -> None:
    recording = open_tree / "s.wav"
    st = make_file(recording, 0o640)
    assert kinds(probe(home, broad_groups=[str(st.st_gid)]).exposures(str(recording), st)) == [
        "group-readable"
    ]


# -- sync folders ----------------------------------------------------------------------------------


def test_dropbox_folder_from_its_settings_file(tmp_path: Path, home: Path) -> None:
    personal, business = tmp_path / "Work Files", tmp_path / "Clinic Shared"
    (home / ".dropbox").mkdir()
    (home / ".dropbox" / "info.json").write_text(
        f'{{"personal": {{"path": "{personal}", "host": 1}}, "business": {{"path": "{business}"}}}}'
    )
    exposure_probe = probe(home)
    for folder in (personal, business):
        recording = folder / "2024" / "s.wav"
        found = exposure_probe.exposures(str(recording), make_file(recording))
        assert found == [
            Exposure(
                "sync-folder",
                f"inside the Dropbox folder {folder} (declared in {home / '.dropbox' / 'info.json'})",
                {
                    "client": "Dropbox",
                    "folder": str(folder),
                    "recognised_by": "settings",
                    "source": str(home / ".dropbox" / "info.json"),
                },
            )
        ]
    outside = tmp_path / "Work Files 2" / "s.wav"
    assert exposure_probe.exposures(str(outside), make_file(outside)) == []


def test_broken_dropbox_settings_are_noted_not_fatal(tmp_path: Path, home: Path) -> None:
    (home / ".dropbox").mkdir()
    (home / ".dropbox" / "info.json").write_text('{"personal": {"path": ')
    exposure_probe = probe(home)
    recording = tmp_path / "x" / "s.wav"
    assert exposure_probe.exposures(str(recording), make_file(recording)) == []
    assert any("info.json: not valid JSON" in note for note in exposure_probe.notes)


@pytest.mark.parametrize(
    ("folder", "client"),
    [
        ("Dropbox", "Dropbox"),
        ("Dropbox (Acme Therapy)", "Dropbox"),
        ("OneDrive", "OneDrive"),
        ("OneDrive - Contoso Health", "OneDrive"),
        ("Google Drive", "Google Drive"),
        ("GoogleDrive-me@example.org", "Google Drive"),
        ("iCloud Drive", "iCloud Drive"),
        ("Box", "Box"),
        ("Box Sync", "Box"),
    ],
)
def test_sync_folder_recognised_by_name(tmp_path: Path, home: Path, folder: str, client: str) -> None:
    recording = tmp_path / "u" / folder / "clients" / "s.wav"
    found = probe(home).exposures(str(recording), make_file(recording))
    assert kinds(found) == ["sync-folder"]
    assert found[0].evidence == {
        "client": client,
        "folder": str(tmp_path / "u" / folder),
        "recognised_by": "folder-name",
        "source": folder,
    }


@pytest.mark.parametrize(
    "folder", ["Dropboxes", "box", "dropbox", "OneDriveBackup", "My Drive", "Boxes", "Drive"]
)
def test_similar_folder_names_are_not_sync_folders(tmp_path: Path, home: Path, folder: str) -> None:
    recording = tmp_path / folder / "s.wav"
    assert probe(home).exposures(str(recording), make_file(recording)) == []


def test_file_named_like_a_sync_folder_is_not_one(tmp_path: Path, home: Path) -> None:
    recording = tmp_path / "Dropbox"
    assert probe(home).exposures(str(recording), make_file(recording)) == []


def test_macos_cloudstorage_and_icloud_from_the_home_directory(home: Path) -> None:
    cloud = home / "Library" / "CloudStorage"
    icloud = home / "Library" / "Mobile Documents" / "com~apple~CloudDocs"
    cases = [
        (cloud / "OneDrive-Personal" / "s.wav", "OneDrive", cloud / "OneDrive-Personal"),
        (cloud / "Box-Box" / "s.wav", "Box", cloud / "Box-Box"),
        (cloud / "SomethingNew-x" / "s.wav", "unknown (SomethingNew-x)", cloud / "SomethingNew-x"),
        (icloud / "Therapy" / "s.wav", "iCloud Drive", icloud),
    ]
    for recording, _, _ in cases:
        make_file(recording)
    exposure_probe = probe(home)  # settings are read when the probe starts
    for recording, client, folder in cases:
        found = exposure_probe.exposures(str(recording), os.stat(recording))
        assert [(e.evidence["client"], e.evidence["folder"], e.evidence["recognised_by"]) for e in found] == [
            (client, str(folder), "settings")
        ]


def test_nextcloud_folders_from_its_config(tmp_path: Path, home: Path) -> None:
    synced = tmp_path / "cloud files"
    config = home / ".config" / "Nextcloud" / "nextcloud.cfg"
    config.parent.mkdir(parents=True)
    config.write_text(f"[Accounts]\n0\\Folders\\1\\localPath={synced}/\n0\\Folders\\1\\paused=false\n")
    recording = synced / "s.wav"
    found = probe(home).exposures(str(recording), make_file(recording))
    assert [(e.evidence["client"], e.evidence["folder"]) for e in found] == [("Nextcloud", str(synced))]


def test_onedrive_from_the_windows_environment(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    business = tmp_path / "Contoso Files"
    monkeypatch.setenv("OneDriveCommercial", str(business))
    recording = business / "s.wav"
    found = probe(home).exposures(str(recording), make_file(recording))
    assert [(e.evidence["client"], e.evidence["recognised_by"], e.evidence["source"]) for e in found] == [
        ("OneDrive", "environment", "OneDriveCommercial")
    ]


def test_configured_sync_folder_and_settings_win_over_folder_names(tmp_path: Path, home: Path) -> None:
    configured = tmp_path / "Synology Drive"
    recording = configured / "s.wav"
    found = probe(home, sync_folders=[configured]).exposures(str(recording), make_file(recording))
    assert [(e.evidence["client"], e.evidence["recognised_by"]) for e in found] == [("configured", "config")]
    (home / ".dropbox").mkdir()
    (home / ".dropbox" / "info.json").write_text(f'{{"personal": {{"path": "{tmp_path / "Dropbox"}"}}}}')
    inside = tmp_path / "Dropbox" / "a" / "s.wav"
    found = probe(home).exposures(str(inside), make_file(inside))
    assert [e.evidence["recognised_by"] for e in found] == ["settings"]


# -- web roots and network shares ------------------------------------------------------------------


def test_web_root_by_path_and_through_a_symlink(tmp_path: Path, home: Path) -> None:
    www = tmp_path / "www"
    recording = www / "uploads" / "s.wav"
    st = make_file(recording)
    (tmp_path / "shortcut").symlink_to(www / "uploads")
    exposure_probe = probe(home, web_roots=[www])
    assert kinds(exposure_probe.exposures(str(recording), st)) == ["web-root"]
    assert kinds(exposure_probe.exposures(str(tmp_path / "shortcut" / "s.wav"), st)) == ["web-root"]
    other = tmp_path / "wwwdata" / "s.wav"
    assert exposure_probe.exposures(str(other), make_file(other)) == []


def test_the_walks_folder_hint_gives_the_same_answer(tmp_path: Path, home: Path) -> None:
    """The walk passes each file's folder along; the answers must be those worked out from the path."""
    www, dropbox = tmp_path / "www", home / "Dropbox"
    (tmp_path / "shortcut").symlink_to(www)
    files = [www / "uploads" / "s.wav", dropbox / "clients" / "c.wav", tmp_path / "plain" / "p.wav"]
    stats = {f: make_file(f, 0o644) for f in files}
    via_link = tmp_path / "shortcut" / "uploads" / "s.wav"
    for path, st in [*stats.items(), (via_link, stats[files[0]])]:
        from_path = probe(home, web_roots=[www]).exposures(str(path), st)
        hinted = probe(home, web_roots=[www]).exposures(str(path), st, directory=str(path.parent))
        assert hinted == from_path, path
    assert kinds(probe(home, web_roots=[www]).exposures(str(via_link), stats[files[0]])) == ["web-root"]


SMB_CONF = """\
[global]
   workgroup = CLINIC
   path = {base}/global-not-a-share

[homes]
   path = {base}/homes
[printers]
   path = {base}/spool
   printable = yes

; a comment
# another
[Recordings]
   Path = "{base}/recordings"
   read only = no
this line is not a setting
[users]
   directory = {base}/users/%U
[retired]
   path = {base}/retired
   available = no
[fax]
   path = {base}/fax
   print ok = yes
[long]
   path = {base}/long\\
-name
"""


def test_smb_conf_shares(tmp_path: Path, home: Path) -> None:
    base = tmp_path / "srv"
    smb_conf = tmp_path / "smb.conf"
    smb_conf.write_text(SMB_CONF.format(base=base))
    exposure_probe = ExposureProbe(home=home, smb_conf=smb_conf, exports=tmp_path / "no-exports")

    def shares_for(relative: str) -> list[str]:
        recording = base / relative
        return [e.evidence["share"] for e in exposure_probe.exposures(str(recording), make_file(recording))]

    assert shares_for("recordings/2024/s.wav") == ["Recordings"]
    assert shares_for("users/alice/s.wav") == ["users"]
    assert shares_for("users/s.wav") == []  # %U is one path component below users
    assert shares_for("long-name/s.wav") == ["long"]
    for not_shared in (
        "global-not-a-share/s.wav",
        "homes/s.wav",
        "spool/s.wav",
        "retired/s.wav",
        "fax/s.wav",
    ):
        assert shares_for(not_shared) == [], not_shared
    assert any("line 16 not understood" in note for note in exposure_probe.notes)


def test_unreadable_share_config_is_noted(tmp_path: Path, home: Path) -> None:
    (tmp_path / "smb.conf").mkdir()  # reading a directory fails whatever the user
    exposure_probe = ExposureProbe(home=home, smb_conf=tmp_path / "smb.conf", exports=tmp_path / "none")
    recording = tmp_path / "s.wav"
    assert exposure_probe.exposures(str(recording), make_file(recording)) == []
    assert any("smb.conf: cannot read" in note for note in exposure_probe.notes)


def test_exports_and_exports_d(tmp_path: Path, home: Path) -> None:
    exports = tmp_path / "exports"
    exports.write_text(
        f"# NFS exports\n"
        f"{tmp_path}/nfs   10.0.0.0/24(rw,sync) \\\n    backup(ro)\n"
        f'"{tmp_path}/with space" *(ro)\n'
        f"{tmp_path}/octal\\040dir host(ro)   # trailing comment\n"
        f"not-a-path host(rw)\n"
    )
    (tmp_path / "exports.d").mkdir()
    (tmp_path / "exports.d" / "extra.exports").write_text(f"{tmp_path}/extra *(ro)\n")
    (tmp_path / "exports.d" / "ignored.txt").write_text(f"{tmp_path}/ignored *(ro)\n")
    exposure_probe = ExposureProbe(home=home, smb_conf=tmp_path / "none", exports=exports)

    def exported(relative: str) -> list[str]:
        recording = tmp_path / relative
        found = exposure_probe.exposures(str(recording), make_file(recording))
        return [e.evidence["path"] for e in found if e.kind == "network-share"]

    assert exported("nfs/a/s.wav") == [f"{tmp_path}/nfs"]
    assert exported("with space/s.wav") == [f"{tmp_path}/with space"]
    assert exported("octal dir/s.wav") == [f"{tmp_path}/octal dir"]
    assert exported("extra/s.wav") == [f"{tmp_path}/extra"]
    assert exported("ignored/s.wav") == []
    assert exported("nfs2/s.wav") == []
    assert any("line 6 does not start with an exported path" in note for note in exposure_probe.notes)


def test_configured_network_share(tmp_path: Path, home: Path) -> None:
    share = tmp_path / "mnt" / "nas"
    recording = share / "s.wav"
    found = probe(home, network_shares=[share]).exposures(str(recording), make_file(recording))
    assert [(e.kind, e.evidence["protocol"]) for e in found] == [("network-share", "configured")]


def test_parsers_survive_garbage() -> None:
    garbage = "\x00\x01[[[\n=\n\\\n[unterminated\npath=\n" * 3
    shares, problems = parse_smb_conf(garbage, "smb.conf")
    assert shares == [] and problems
    shares, problems = parse_exports(garbage, "exports")
    assert shares == [] and problems
