"""Who counts as "others" on a practice machine (issue 13 §3): the single-user rule.

A world-readable recording is a breach only when another human account exists (passwd: uid in
the login range, a login shell) and is not listed in exposure.authorised_readers. The passwd
source is injected into the probe, or given to the real CLI as a passwd-format file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.localfs.accounts import (
    PASSWD_FILE_ENV,
    Account,
    AccountsUnreadable,
    HumanAccounts,
    is_login_shell,
    login_uid_range,
    passwd_file,
)
from auditor.localfs.exposure import ExposureProbe
from tests.conftest import place, scan_json

NO_SHARES = {"smb_conf": Path("/nonexistent/smb.conf"), "exports": Path("/nonexistent/exports")}
ME = os.getuid()


def accounts(*entries: tuple[str, int, str], authorised: tuple[str, ...] = ()) -> HumanAccounts:
    return HumanAccounts(
        lambda: [Account(*e) for e in entries], authorised=authorised, uid_range=(1000, 60000)
    )


@pytest.fixture
def open_tree() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="single-user-"))
    os.chmod(base, 0o755)
    if not all(os.stat(a).st_mode & 0o001 for a in [base, *base.parents]):
        shutil.rmtree(base)
        pytest.skip("the temp dir is not traversable by others")
    yield base
    shutil.rmtree(base)


def world_readable(open_tree: Path) -> tuple[str, os.stat_result]:
    recording = open_tree / "s.wav"
    recording.write_bytes(b"RIFF")
    os.chmod(recording, 0o644)
    return str(recording), os.stat(recording)


def probe(home: Path, human: HumanAccounts) -> ExposureProbe:
    return ExposureProbe(home=home, accounts=human, **NO_SHARES)  # type: ignore[arg-type]


# -- the probe with a fake passwd source ------------------------------------------------------------


def test_only_the_owner_has_an_account(open_tree: Path, tmp_path: Path) -> None:
    path, st = world_readable(open_tree)
    human = accounts(("root", 0, "/bin/bash"), ("me", ME, "/bin/bash"), ("www-data", 33, "/usr/sbin/nologin"))
    (exposure,) = probe(tmp_path, human).exposures(path, st)
    assert exposure.kind == "world-readable"
    assert exposure.evidence["other_accounts"] == [] and exposure.evidence["other_accounts_count"] == 0


def test_another_human_account_is_someone_else(open_tree: Path, tmp_path: Path) -> None:
    path, st = world_readable(open_tree)
    human = accounts(("me", ME, "/bin/bash"), ("bob", ME + 1 if ME >= 1000 else 1001, "/bin/zsh"))
    (exposure,) = probe(tmp_path, human).exposures(path, st)
    assert exposure.evidence["other_accounts"] == ["bob"] and exposure.evidence["other_accounts_count"] == 1


@pytest.mark.parametrize(
    ("entry", "counts"),
    [
        (("svc", 999, "/bin/bash"), False),  # below UID_MIN: a system account
        (("nobody", 65534, "/usr/sbin/nologin"), False),  # above UID_MAX, no login shell
        (("locked", 1500, "/usr/sbin/nologin"), False),
        (("ftp", 1501, "/bin/false"), False),
        (("shell-empty", 1502, ""), True),  # passwd(5): empty means /bin/sh
        (("carol", 1503, "/usr/local/bin/fish"), True),
    ],
)
def test_what_counts_as_a_human_account(entry: tuple[str, int, str], counts: bool) -> None:
    others = accounts(("me", 0, "/bin/bash"), entry).others_than(0)
    assert others == ([entry[0]] if counts else [])


def test_authorised_readers_are_not_others() -> None:
    human = accounts(("alice", 1000, "/bin/bash"), ("bob", 1001, "/bin/bash"), authorised=("bob",))
    assert human.others_than(1000) == []
    assert human.others_than(0) == ["alice"]  # root owns it: alice is someone else


def test_unreadable_passwd_is_unknown_and_noted(open_tree: Path, tmp_path: Path) -> None:
    path, st = world_readable(open_tree)
    human = HumanAccounts(passwd_file(tmp_path / "no-such-passwd"))
    exposure_probe = probe(tmp_path, human)
    (exposure,) = exposure_probe.exposures(path, st)
    assert exposure.evidence["other_accounts"] is None and exposure.evidence["other_accounts_count"] is None
    (note,) = exposure_probe.notes
    assert "cannot list the accounts" in note and "presumed readable by other people" in note


def test_passwd_file_format(tmp_path: Path) -> None:
    good = tmp_path / "passwd"
    good.write_text("# comment\nalice:x:1000:1000:A:/home/alice:/bin/bash\n\nbob:x:1001:1001::/home/bob:\n")
    assert passwd_file(good)() == [Account("alice", 1000, "/bin/bash"), Account("bob", 1001, "")]
    bad = tmp_path / "bad"
    bad.write_text("alice:x:1000:1000:A:/home/alice:/bin/bash\nnot a passwd line\n")
    with pytest.raises(AccountsUnreadable, match="line 2"):
        passwd_file(bad)()


def test_login_defs_range(tmp_path: Path) -> None:
    defs = tmp_path / "login.defs"
    defs.write_text("# UID_MIN 5\nUID_MIN\t\t\t 2000\nUID_MAX 3000\nSYS_UID_MIN 100\n")
    assert login_uid_range(defs) == (2000, 3000)
    low, _ = login_uid_range(tmp_path / "missing")
    assert low in (500, 501, 1000)


def test_login_shells() -> None:
    assert is_login_shell("/bin/bash") and is_login_shell("") and is_login_shell("/usr/bin/zsh")
    assert not is_login_shell("/usr/sbin/nologin") and not is_login_shell("/sbin/nologin")
    assert not is_login_shell("/bin/false") and not is_login_shell("/bin/sync")


def test_the_real_passwd_database_is_read() -> None:
    pytest.importorskip("pwd")
    import pwd

    real = HumanAccounts(uid_range=(0, 2**31)).others_than(-1)
    assert real is not None and pwd.getpwuid(0).pw_name in real  # root has a login shell here


# -- the rules, through the real CLI with a passwd-format file ------------------------------------


def run_scan_with_passwd(
    tmp_path: Path, passwd: str, monkeypatch: pytest.MonkeyPatch, config: str = ""
) -> dict:
    root = Path(tempfile.mkdtemp(prefix="practice-"))
    os.chmod(root, 0o755)
    if not all(os.stat(a).st_mode & 0o001 for a in [root, *root.parents]):
        pytest.skip("the temp dir is not traversable by others")
    place(root, "C-1001_2026-11-10.wav", "session.wav", mode=0o644)
    file = tmp_path / "passwd"
    file.write_text(passwd)
    monkeypatch.setenv(PASSWD_FILE_ENV, str(file))
    args: list[str | Path] = [root]
    if config:
        (tmp_path / "auditor.yaml").write_text(config)
        args += ["--config", tmp_path / "auditor.yaml"]
    try:
        return scan_json(tmp_path, *args, expect=1)
    finally:
        shutil.rmtree(root)


# The test files belong to the account running the tests: it is the only human one here (when that
# is root, no human account is left at all), as on a single-user laptop.
SINGLE = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n" + (
    f"me:x:{ME}:{ME}::/home/me:/bin/bash\n" if ME >= 1000 else ""
)
BOB_UID = 1999 if ME != 1999 else 1998
WITH_BOB = SINGLE + f"bob:x:{BOB_UID}:{BOB_UID}::/home/bob:/bin/bash\n"


def test_single_user_laptop_world_readable_is_high_and_no_breach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_scan_with_passwd(tmp_path, SINGLE, monkeypatch)
    rules = {f["rule"]: f for f in result["findings"]}
    assert "breach-unsecured-exposure" not in rules
    readable = rules["recording-readable-by-others"]
    assert readable["severity"] == "high"
    assert "No other human account exists on this machine" in readable["message"]
    assert not [g for g in result["coverage"]["skipped"] if g["reason"] == "exposure-check-incomplete"]


def test_a_second_account_makes_it_a_breach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_scan_with_passwd(tmp_path, WITH_BOB, monkeypatch)
    rules = {f["rule"]: f for f in result["findings"]}
    breach = rules["breach-unsecured-exposure"]
    assert breach["severity"] == "critical"
    assert [e["kind"] for e in breach["evidence"]["exposures"]] == ["world-readable"]
    assert "1 other account can open it: bob." in rules["recording-readable-by-others"]["message"]


def test_authorised_reader_in_the_config_is_no_breach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = "version: 1\nexposure:\n  authorised_readers: [bob]\n"
    result = run_scan_with_passwd(tmp_path, WITH_BOB, monkeypatch, config)
    rules = {f["rule"] for f in result["findings"]}
    assert "breach-unsecured-exposure" not in rules and "recording-readable-by-others" in rules


def test_outside_world_exposure_is_a_breach_even_on_a_single_user_laptop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(tempfile.mkdtemp(prefix="practice-"))
    try:
        place(root, "Dropbox/C-1001_2026-11-10.wav", "session.wav", mode=0o600)
        file = tmp_path / "passwd"
        file.write_text(SINGLE)
        monkeypatch.setenv(PASSWD_FILE_ENV, str(file))
        result = scan_json(tmp_path, root, expect=1)
    finally:
        shutil.rmtree(root)
    (breach,) = [f for f in result["findings"] if f["rule"] == "breach-unsecured-exposure"]
    assert [e["kind"] for e in breach["evidence"]["exposures"]] == ["sync-folder"]


def test_unknown_accounts_keep_the_breach_and_show_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWD_FILE_ENV, str(tmp_path / "missing"))
    root = Path(tempfile.mkdtemp(prefix="practice-"))
    os.chmod(root, 0o755)
    try:
        place(root, "C-1001_2026-11-10.wav", "session.wav", mode=0o644)
        result = scan_json(tmp_path, root, expect=1)
    finally:
        shutil.rmtree(root)
    assert "breach-unsecured-exposure" in {f["rule"] for f in result["findings"]}
    gaps = [g for g in result["coverage"]["skipped"] if g["reason"] == "exposure-check-incomplete"]
    assert any("cannot list the accounts" in g["detail"] for g in gaps)
    assert result["coverage"]["complete"] is False
