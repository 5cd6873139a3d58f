"""Facts about who besides the owner can reach a local file: permissions, sync clients, web roots, shares.

Each fact becomes an `Exposure`; the `exposed` rules judge them. Permission facts follow the
file's real location (its directory with symlinks resolved), because that is the path anyone
else would take. Directory facts are cached, so a scan stats each ancestor once.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.localfs.accounts import NAMES_KEPT, HumanAccounts
from auditor.localfs.syncfolders import SyncFolders, SyncRoot
from auditor.localfs.volumes_common import RealDirs, read_small_text
from auditor.models import Exposure
from auditor.paths import display_path, within

try:  # POSIX only; on Windows permission bits say nothing about who can read a file
    import grp
    import pwd
except ImportError:  # pragma: no cover - Windows
    grp = None  # type: ignore[assignment]
    pwd = None  # type: ignore[assignment]

SHARE_CONFIG_MAX_BYTES = 1024 * 1024

# smb.conf sections that are not a share of one fixed path.
_SAMBA_SPECIAL_SECTIONS = frozenset({"global", "homes", "printers"})
_SAMBA_SUBSTITUTION = re.compile(r"%[A-Za-z$]")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Share:
    """A folder this machine shares over the network (Samba, NFS, or configured)."""

    name: str  # the Samba share name or the NFS export path
    path: str  # a directory; components may be glob patterns where Samba substitutes %U, %H, ...
    source: str  # smb.conf path, exports path, or "exposure.network_shares"
    protocol: str  # smb | nfs | configured

    def contains(self, path: str) -> bool:
        """Whether the file at `path` lies inside the shared directory."""
        if "*" not in self.path:
            return within(path, self.path)
        pattern = Path(self.path).parts
        parts = Path(path).parts[:-1]  # the file's directory must match every pattern component
        return len(parts) >= len(pattern) and all(
            fnmatch.fnmatchcase(part, glob) for part, glob in zip(parts, pattern, strict=False)
        )


# -- share configuration parsers -----------------------------------------------------------------


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with trailing-backslash continuations joined, numbered from 1 by their first physical line."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1]  # joined as a shell would: no space added
            continue
        lines.append((start, pending + line))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def parse_smb_conf(text: str, source: str) -> tuple[list[Share], list[str]]:
    """Shares with a `path` (or its synonym `directory`), skipping [global], [homes], [printers],
    printer shares and shares marked unavailable. Lines that are not understood are skipped and noted."""
    sections: dict[str, dict[str, str]] = {}
    order: list[str] = []
    problems: list[str] = []
    current: dict[str, str] | None = None
    for number, raw in _logical_lines(text):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip()
            current = sections.setdefault(name, {})
            if name not in order:
                order.append(name)
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            problems.append(f"{source} line {number} not understood ({line[:80]!r}); skipped")
            continue
        if current is not None:
            current[" ".join(key.lower().split())] = value.strip().strip('"')
    shares = []
    for name in order:
        settings = sections[name]
        path = settings.get("path") or settings.get("directory")
        if name.lower() in _SAMBA_SPECIAL_SECTIONS or not path:
            continue
        if settings.get("available", "yes").lower() in ("no", "false", "0"):
            continue
        if settings.get("printable", settings.get("print ok", "no")).lower() in ("yes", "true", "1"):
            continue
        pattern = "/".join("*" if _SAMBA_SUBSTITUTION.search(c) else c for c in path.split("/"))
        shares.append(Share(name, os.path.normpath(pattern), source, "smb"))
    return shares, problems


def _unescape_exports_path(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == '"':
        token = token[1:-1]
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), token)


def parse_exports(text: str, source: str) -> tuple[list[Share], list[str]]:
    """The exported directory (first column) of each /etc/exports line."""
    shares, problems = [], []
    for number, raw in _logical_lines(text):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith('"'):
            closing = line.find('"', 1)
            token = line[: closing + 1] if closing > 0 else line
        else:
            token = line.split()[0]
        path = _unescape_exports_path(token)
        if not path.startswith("/"):
            problems.append(
                f"{source} line {number} does not start with an exported path ({line[:80]!r}); skipped"
            )
            continue
        shares.append(Share(path, os.path.normpath(path), source, "nfs"))
    return shares, problems


# -- the probe -------------------------------------------------------------------------------------


_ShareParser = Callable[[str, str], tuple[list[Share], list[str]]]


class ExposureProbe:
    """Exposure facts for local files. Never modifies anything; `notes` collects what it could not read."""

    def __init__(
        self,
        *,
        sync_folders: Sequence[Path] = (),
        web_roots: Sequence[Path] = (),
        network_shares: Sequence[Path] = (),
        broad_groups: Sequence[str] = (),
        authorised_readers: Sequence[str] = (),
        home: Path | None = None,
        smb_conf: Path = Path("/etc/samba/smb.conf"),
        exports: Path = Path("/etc/exports"),
        real_dirs: RealDirs | None = None,
        accounts: HumanAccounts | None = None,
    ) -> None:
        self.notes: list[str] = []
        self._accounts = accounts or HumanAccounts(authorised=authorised_readers)
        self._accounts_noted = False
        self._posix_permissions = os.name == "posix"
        self._broad_groups = frozenset(broad_groups)
        self._web_roots = [_both_forms(str(p)) for p in web_roots]
        self._configured_shares = [
            Share(str(p), os.path.realpath(p), "exposure.network_shares", "configured")
            for p in network_shares
        ]
        self._smb_conf, self._exports = smb_conf, exports
        self._shares: list[Share] | None = None  # read on first use
        self._sync = SyncFolders(
            configured=sync_folders,
            homes=[h for h in (home if home is not None else _default_home(),) if h is not None],
            environ=os.environ,
            notes=self.notes,
        )
        self._real_dir = real_dirs or RealDirs()  # may be shared with the volume probe
        self._dir_stats: dict[str, os.stat_result | OSError] = {}
        self._open_to_others: dict[str, bool] = {}
        self._open_to_group: dict[tuple[str, int], bool] = {}
        self._noted_dirs: set[str] = set()
        self._group_names: dict[int, str | None] = {}
        self._owner_homes: dict[int, str | None] = {}

    def exposures(self, path: str, st: os.stat_result, *, directory: str | None = None) -> list[Exposure]:
        """How `path` (whose stat is `st`) is exposed. `directory`, its folder as an absolute normalised
        path, saves the path arithmetic when the caller (the walk) already has it."""
        if directory is None:
            given = os.path.normpath(os.path.abspath(path))
            directory = os.path.dirname(given)
        else:
            given = path
        real_dir = self._real_dir(directory)
        real = os.path.join(real_dir, given[len(directory) :].lstrip(os.sep))
        found: list[Exposure] = []
        if self._posix_permissions:
            found += self._permission_exposures(real_dir, st)
        found += [
            self._sync_exposure(root)
            for root in self._sync.matches(_unique(given, real), self._owner_home(st))
        ]
        for configured, real_root in self._web_roots:
            if within(real, real_root) or within(given, configured):
                found.append(
                    Exposure(
                        "web-root",
                        f"inside web root {configured}",
                        {"web_root": configured, "real": real_root},
                    )
                )
        for share in self._share_list():
            if share.contains(real) or share.contains(given):
                found.append(self._share_exposure(share))
        return found

    # -- permissions ---------------------------------------------------------------------------

    def _permission_exposures(self, real_dir: str, st: os.stat_result) -> list[Exposure]:
        found = []
        mode = st.st_mode
        if mode & stat.S_IROTH and self._traversable_by_others(real_dir):
            others = self._other_accounts(st.st_uid)
            found.append(
                Exposure(
                    "world-readable",
                    f"mode {stat.S_IMODE(mode):04o}: any local user can read it",
                    {
                        "mode": f"{stat.S_IMODE(mode):04o}",
                        "directory": display_path(real_dir),
                        # Who besides the owner has an account here; None = could not be read.
                        "other_accounts": None if others is None else others[:NAMES_KEPT],
                        "other_accounts_count": None if others is None else len(others),
                    },
                )
            )
        group = self._group_name(st.st_gid)
        is_broad = (group in self._broad_groups) or (str(st.st_gid) in self._broad_groups)
        if mode & stat.S_IRGRP and is_broad and self._traversable_by_group(real_dir, st.st_gid):
            found.append(
                Exposure(
                    "group-readable",
                    f"mode {stat.S_IMODE(mode):04o}: readable by every member of broad group {group or st.st_gid}",
                    {
                        "mode": f"{stat.S_IMODE(mode):04o}",
                        "group": group,
                        "gid": st.st_gid,
                        "directory": display_path(real_dir),
                    },
                )
            )
        return found

    def _other_accounts(self, owner_uid: int) -> list[str] | None:
        others = self._accounts.others_than(owner_uid)
        if others is None and not self._accounts_noted:
            self._accounts_noted = True
            self.notes.append(
                f"cannot list the accounts on this machine ({self._accounts.problem}); world-readable "
                "recordings are presumed readable by other people"
            )
        return others

    def _dir_stat(self, directory: str) -> os.stat_result | None:
        result = self._dir_stats.get(directory)
        if result is None:
            try:
                result = os.stat(directory)
            except OSError as exc:
                result = exc
            self._dir_stats[directory] = result
        if isinstance(result, OSError):
            if directory not in self._noted_dirs:
                self._noted_dirs.add(directory)
                self.notes.append(
                    f"{directory}: cannot stat ({result.strerror or result}); treated as not traversable, "
                    "so files below it are not reported as world- or group-readable"
                )
            return None
        return result

    def _traversable_by_others(self, directory: str) -> bool:
        """Every directory from / down to `directory` has o+x."""
        if directory not in self._open_to_others:
            st = self._dir_stat(directory)
            parent = os.path.dirname(directory)
            open_here = st is not None and bool(st.st_mode & stat.S_IXOTH)
            self._open_to_others[directory] = open_here and (
                parent == directory or self._traversable_by_others(parent)
            )
        return self._open_to_others[directory]

    def _traversable_by_group(self, directory: str, gid: int) -> bool:
        """Every directory from / down to `directory` lets members of `gid` through (g+x with that group, or o+x)."""
        key = (directory, gid)
        if key not in self._open_to_group:
            st = self._dir_stat(directory)
            parent = os.path.dirname(directory)
            open_here = st is not None and bool(
                st.st_mode & stat.S_IXOTH or (st.st_gid == gid and st.st_mode & stat.S_IXGRP)
            )
            self._open_to_group[key] = open_here and (
                parent == directory or self._traversable_by_group(parent, gid)
            )
        return self._open_to_group[key]

    def _group_name(self, gid: int) -> str | None:
        if gid not in self._group_names:
            try:
                self._group_names[gid] = grp.getgrgid(gid).gr_name if grp else None
            except KeyError:
                self._group_names[gid] = None
        return self._group_names[gid]

    # -- sync folders, web roots, shares --------------------------------------------------------

    def _owner_home(self, st: os.stat_result) -> str | None:
        """The file owner's home: their sync clients' settings live there."""
        uid = st.st_uid
        if uid not in self._owner_homes:
            try:
                self._owner_homes[uid] = pwd.getpwuid(uid).pw_dir if pwd else None
            except KeyError:
                self._owner_homes[uid] = None
        return self._owner_homes[uid]

    @staticmethod
    def _sync_exposure(root: SyncRoot) -> Exposure:
        how = {
            "settings": f"declared in {root.source}",
            "environment": f"from environment variable {root.source}",
            "config": "listed in exposure.sync_folders",
            "folder-name": f"recognised by the folder name {root.source!r}",
        }[root.recognised_by]
        client = "a configured sync" if root.client == "configured" else f"the {root.client}"
        return Exposure(
            "sync-folder",
            f"inside {client} folder {root.folder} ({how})",
            {
                "client": root.client,
                "folder": root.folder,
                "recognised_by": root.recognised_by,
                "source": root.source,
            },
        )

    def _share_list(self) -> list[Share]:
        if self._shares is None:
            shares = list(self._configured_shares)
            shares += self._parsed(self._smb_conf, parse_smb_conf)
            shares += self._parsed(self._exports, parse_exports)
            exports_d = Path(str(self._exports) + ".d")
            try:
                extra = sorted(n for n in os.listdir(exports_d) if n.endswith(".exports"))
            except OSError:
                extra = []
            for name in extra:
                shares += self._parsed(exports_d / name, parse_exports)
            self._shares = shares
        return self._shares

    def _parsed(self, path: Path, parser: _ShareParser) -> list[Share]:
        text = read_small_text(path, SHARE_CONFIG_MAX_BYTES, self.notes, "its shares are")
        if text is None:
            return []
        shares, problems = parser(text, str(path))
        self.notes.extend(problems)
        return shares

    @staticmethod
    def _share_exposure(share: Share) -> Exposure:
        detail = {
            "smb": f"inside Samba share [{share.name}] ({share.path}, from {share.source})",
            "nfs": f"inside NFS export {share.path} (from {share.source})",
            "configured": f"inside network share {share.name} (listed in exposure.network_shares)",
        }[share.protocol]
        return Exposure(
            "network-share",
            detail,
            {"share": share.name, "path": share.path, "protocol": share.protocol, "source": share.source},
        )


def _both_forms(path: str) -> tuple[str, str]:
    return os.path.normpath(os.path.abspath(path)), os.path.realpath(path)


def _unique(*paths: str) -> list[str]:
    return list(dict.fromkeys(paths))


def _default_home() -> Path | None:
    try:
        return Path.home()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None
