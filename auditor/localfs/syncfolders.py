"""Folders that a cloud-sync client uploads, found from the clients' own settings and from folder names.

Settings are the strong evidence (the client says it syncs that folder); a folder named like a
client's default ("Dropbox", "OneDrive - Contoso") is weaker and is reported as such, so a rule or
a reader can tell the two apart. Only small settings files are read, once per home directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.limits import SETTINGS_JSON
from auditor.localfs.volumes_common import read_small_text
from auditor.paths import within
from auditor.safeparse import ParseError, load_json

SETTINGS_MAX_BYTES = SETTINGS_JSON.max_bytes  # client settings files are a few KiB; never read more

# macOS File Provider folders under ~/Library/CloudStorage are named "<Client>-<account>".
_CLOUDSTORAGE_PREFIXES = (
    ("GoogleDrive", "Google Drive"),
    ("OneDrive", "OneDrive"),
    ("Dropbox", "Dropbox"),
    ("Box", "Box"),
    ("iCloud", "iCloud Drive"),
)

# Default folder names the clients create. Matched against whole path components, case-sensitively:
# the clients spell them exactly so, and a looser match would catch unrelated folders.
_FOLDER_NAMES = (
    ("Dropbox", re.compile(r"Dropbox(?: \(.+\))?")),
    ("OneDrive", re.compile(r"OneDrive(?: - .+)?")),
    ("Google Drive", re.compile(r"Google Drive|GoogleDrive-.+")),
    ("iCloud Drive", re.compile(r"iCloud Drive|com~apple~CloudDocs")),
    ("Box", re.compile(r"Box(?: Sync)?")),
)

# A quick screen: most paths have no component that could be a sync folder's default name.
_ANY_FOLDER_NAME = re.compile(
    r"(?:^|[/\\])(?:Dropbox|OneDrive|Google ?Drive|iCloud Drive|com~apple~CloudDocs|Box)"
)

# Nextcloud (and ownCloud, same format) list each synced folder as "<n>\Folders\<m>\localPath=...".
_NEXTCLOUD_LOCAL_PATH = re.compile(r"^\d+\\Folders\w*\\\d+\\localPath=(.+)$", re.M)

# Windows sets these for the signed-in user's OneDrive folders.
ONEDRIVE_ENVIRONMENT = ("OneDrive", "OneDriveCommercial", "OneDriveConsumer")


@dataclass(frozen=True)
class SyncRoot:
    """A folder a sync client uploads, and how it was recognised."""

    client: str
    folder: str  # absolute, normalised
    recognised_by: str  # settings | environment | config | folder-name
    source: str  # the settings file, the environment variable, "exposure.sync_folders", or the folder name


def _normal(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def dropbox_roots(info_json: Path, notes: list[str]) -> list[SyncRoot]:
    """Dropbox's info.json: {"personal": {"path": ...}, "business": {"path": ...}}."""
    text = read_small_text(info_json, SETTINGS_MAX_BYTES, notes, "its sync folders are")
    if text is None:
        return []
    try:
        data = load_json(text, SETTINGS_JSON)
    except ParseError as exc:
        notes.append(f"{info_json}: not valid JSON ({exc}); ignored")
        return []
    roots = []
    if isinstance(data, dict):
        for account in data.values():
            folder = account.get("path") if isinstance(account, dict) else None
            if isinstance(folder, str) and folder:
                roots.append(SyncRoot("Dropbox", _normal(folder), "settings", str(info_json)))
    return roots


def nextcloud_roots(config_file: Path, client: str, notes: list[str]) -> list[SyncRoot]:
    text = read_small_text(config_file, SETTINGS_MAX_BYTES, notes, "its sync folders are")
    if text is None:
        return []
    return [
        SyncRoot(client, _normal(folder.strip()), "settings", str(config_file))
        for folder in _NEXTCLOUD_LOCAL_PATH.findall(text)
        if folder.strip()
    ]


def cloudstorage_roots(home: Path) -> list[SyncRoot]:
    """macOS: every folder in ~/Library/CloudStorage belongs to a File Provider sync client."""
    base = home / "Library" / "CloudStorage"
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    roots = []
    for name in names:
        client = next(
            (c for prefix, c in _CLOUDSTORAGE_PREFIXES if name.startswith(prefix)), f"unknown ({name})"
        )
        roots.append(SyncRoot(client, _normal(str(base / name)), "settings", str(base)))
    return roots


def home_roots(home: Path, notes: list[str]) -> list[SyncRoot]:
    """Every sync folder the clients' settings under one home directory declare."""
    roots: list[SyncRoot] = []
    for info in (
        home / ".dropbox" / "info.json",
        home / "AppData" / "Local" / "Dropbox" / "info.json",
        home / "AppData" / "Roaming" / "Dropbox" / "info.json",
    ):
        roots += dropbox_roots(info, notes)
    for client, relative in (
        ("Nextcloud", ".config/Nextcloud/nextcloud.cfg"),
        ("Nextcloud", "Library/Preferences/Nextcloud/nextcloud.cfg"),
        ("Nextcloud", "AppData/Roaming/Nextcloud/nextcloud.cfg"),
        ("ownCloud", ".config/ownCloud/owncloud.cfg"),
    ):
        roots += nextcloud_roots(home / relative, client, notes)
    roots += cloudstorage_roots(home)
    mobile_documents = home / "Library" / "Mobile Documents"
    if os.path.isdir(mobile_documents):
        # Everything in Mobile Documents syncs; com~apple~CloudDocs is what Finder shows as iCloud Drive.
        for folder in (mobile_documents / "com~apple~CloudDocs", mobile_documents):
            roots.append(SyncRoot("iCloud Drive", _normal(str(folder)), "settings", str(mobile_documents)))
    return roots


def environment_roots(environ: Mapping[str, str]) -> list[SyncRoot]:
    roots = [
        SyncRoot("OneDrive", _normal(environ[name]), "environment", name)
        for name in ONEDRIVE_ENVIRONMENT
        if environ.get(name)
    ]
    return roots


def folder_name_roots(path: str) -> list[SyncRoot]:
    """Sync roots recognised by a directory component of `path` named like a client's default folder."""
    if not _ANY_FOLDER_NAME.search(path):
        return []
    roots = []
    parts = Path(path).parts
    for index, part in enumerate(parts[:-1]):  # the last part is the file itself
        for client, pattern in _FOLDER_NAMES:
            if pattern.fullmatch(part):
                roots.append(SyncRoot(client, _normal(str(Path(*parts[: index + 1]))), "folder-name", part))
    return roots


class SyncFolders:
    """Sync roots from settings (per home, cached), environment and config; folder names per path."""

    def __init__(
        self,
        *,
        configured: Sequence[Path],
        homes: Iterable[Path],
        environ: Mapping[str, str],
        notes: list[str],
    ) -> None:
        self._notes = notes
        self._fixed = [
            SyncRoot("configured", _normal(str(p)), "config", "exposure.sync_folders") for p in configured
        ]
        self._fixed += environment_roots(environ)
        self._by_home: dict[str, list[SyncRoot]] = {}
        self._homes = [str(h) for h in homes]
        for home in self._homes:
            self._settings_of(home)

    def _settings_of(self, home: str) -> list[SyncRoot]:
        if home not in self._by_home:
            self._by_home[home] = home_roots(Path(home), self._notes)
        return self._by_home[home]

    def matches(self, paths: Sequence[str], owner_home: str | None) -> list[SyncRoot]:
        """The sync roots containing any of `paths` (the path as given and its real path); one per client.

        A root from settings or config wins over one recognised by name, then the innermost one.
        """
        declared = list(self._fixed)
        for home in self._homes:
            declared += self._settings_of(home)
        if owner_home:
            declared += self._settings_of(owner_home)
        found = [root for root in declared if any(within(p, root.folder) for p in paths)]
        for path in paths:
            found += folder_name_roots(path)
        best: dict[str, SyncRoot] = {}
        for root in found:
            current = best.get(root.client)
            if current is None or _stronger(root, current):
                best[root.client] = root
        return list(best.values())


def _stronger(candidate: SyncRoot, current: SyncRoot) -> bool:
    by_name = (candidate.recognised_by == "folder-name", current.recognised_by == "folder-name")
    if by_name[0] != by_name[1]:
        return not by_name[0]
    return len(candidate.folder) > len(current.folder)
