"""Who else could open a world-readable file on this machine: the other human accounts.

HIPAA presumes a breach when PHI is disclosed to someone not authorised to see it. A
world-readable recording on a laptop with a single human account reaches nobody else today:
it is a weakness (`recording-readable-by-others`), not a disclosure. Once a second person has
an account, it is one. So the exposure probe asks this module who the *other* people are.

A human account is a passwd entry with a uid in the login range (UID_MIN..UID_MAX of
/etc/login.defs; 1000..60000 by default, 501.. on macOS) and a login shell (anything but
nologin, false and the like; an empty shell field means /bin/sh, see passwd(5)). Accounts the
config lists under `exposure.authorised_readers` are not "others": the practice says they may
read recordings. Root and system accounts are not people; a web server or a share serving
the file is judged by its own exposure (web root, network share).

The passwd source is injectable (tests pass a fake one; `AUDITOR_PASSWD_FILE` points the
probe at a passwd-format file, for diagnostics and for tests that run the real CLI). When no
passwd database can be read, the answer is "unknown", and unknown keeps the breach
presumption: a fact the tool could not read is never "fine".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX only
    import pwd
except ImportError:  # pragma: no cover - Windows
    pwd = None  # type: ignore[assignment]

PASSWD_FILE_ENV = "AUDITOR_PASSWD_FILE"
LOGIN_DEFS = Path("/etc/login.defs")
PASSWD_MAX_BYTES = 4 * 1024 * 1024
# Shells that refuse a login (util-linux nologin, coreutils false, and the old halt/sync users).
NO_LOGIN_SHELLS = frozenset({"nologin", "false", "true", "sync", "halt", "shutdown"})
NAMES_KEPT = 20  # other accounts named in a finding's evidence; the count is always complete


@dataclass(frozen=True)
class Account:
    """A login account of this machine that a person could use."""

    name: str
    uid: int
    shell: str


PasswdSource = Callable[[], Iterable[Account]]


class AccountsUnreadable(Exception):
    """The passwd database (or the file standing in for it) cannot be read."""


def system_passwd() -> list[Account]:
    """Every account the system's name service lists (files, and whatever NSS adds)."""
    if pwd is None:  # pragma: no cover - Windows
        raise AccountsUnreadable("no passwd database on this platform")
    try:
        return [Account(p.pw_name, p.pw_uid, p.pw_shell) for p in pwd.getpwall()]
    except OSError as exc:  # pragma: no cover - NSS failures are rare
        raise AccountsUnreadable(f"passwd database: {exc}") from exc


def passwd_file(path: Path) -> PasswdSource:
    """A passwd(5)-format file: name:password:uid:gid:gecos:home:shell, one account a line."""

    def read() -> list[Account]:
        try:
            with open(path, "rb") as handle:
                raw = handle.read(PASSWD_MAX_BYTES + 1)
        except OSError as exc:
            raise AccountsUnreadable(f"{path}: {exc.strerror or exc}") from exc
        if len(raw) > PASSWD_MAX_BYTES:
            raise AccountsUnreadable(f"{path}: larger than {PASSWD_MAX_BYTES} bytes")
        accounts = []
        for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split(":")
            if len(fields) != 7 or not fields[2].isdigit():
                raise AccountsUnreadable(f"{path} line {number}: not a passwd entry")
            accounts.append(Account(fields[0], int(fields[2]), fields[6]))
        return accounts

    return read


def default_source(environ: dict[str, str] | None = None) -> PasswdSource:
    env = os.environ if environ is None else environ
    override = env.get(PASSWD_FILE_ENV)
    return passwd_file(Path(override)) if override else system_passwd


def login_uid_range(login_defs: Path = LOGIN_DEFS) -> tuple[int, int]:
    """UID_MIN and UID_MAX from login.defs; the shadow-utils defaults when it says nothing."""
    low, high = (501, 2**31) if sys.platform == "darwin" else (1000, 60000)
    try:
        text = login_defs.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return low, high
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            if parts[0] == "UID_MIN":
                low = int(parts[1])
            elif parts[0] == "UID_MAX":
                high = int(parts[1])
    return low, high


def is_login_shell(shell: str) -> bool:
    if not shell.strip():
        return True  # passwd(5): an empty shell field means /bin/sh
    return os.path.basename(shell.strip()) not in NO_LOGIN_SHELLS


class HumanAccounts:
    """The human accounts of this machine, read once, and who among them is "another person"."""

    def __init__(
        self,
        source: PasswdSource | None = None,
        *,
        authorised: Sequence[str] = (),
        uid_range: tuple[int, int] | None = None,
    ) -> None:
        self._source = source or default_source()
        self._authorised = frozenset(authorised)
        self._uid_range = uid_range
        self._humans: list[Account] | None = None
        self.problem: str | None = None  # why the accounts are unknown, once asked

    def _load(self) -> list[Account] | None:
        if self._humans is None and self.problem is None:
            low, high = self._uid_range or login_uid_range()
            try:
                everyone = list(self._source())
            except AccountsUnreadable as exc:
                self.problem = str(exc)
                return None
            self._humans = [a for a in everyone if low <= a.uid <= high and is_login_shell(a.shell)]
        return self._humans

    def others_than(self, owner_uid: int) -> list[str] | None:
        """Names of the human accounts, other than the file's owner and the authorised readers,
        that could open a world-readable file. None when the accounts cannot be read."""
        humans = self._load()
        if humans is None:
            return None
        return sorted({a.name for a in humans if a.uid != owner_uid and a.name not in self._authorised})
