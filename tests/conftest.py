"""Shared test helpers: real media fixtures, building small practice trees, running the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import cli

MEDIA = Path(__file__).parent / "fixtures" / "media"
REPO = Path(__file__).resolve().parent.parent


# A practice machine with two clinicians, whatever accounts the test host has: world-readable
# recordings then reach another person, as the tests that expect a breach assume. Tests of the
# single-user rule point AUDITOR_PASSWD_FILE (or the probe's source) elsewhere.
TWO_CLINICIANS = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice Clinician:/home/alice:/bin/bash\n"
    "bob:x:1001:1001:Bob Clinician:/home/bob:/usr/bin/zsh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)


@pytest.fixture(autouse=True, scope="session")
def _two_clinician_machine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from auditor.localfs.accounts import PASSWD_FILE_ENV

    passwd = tmp_path_factory.mktemp("accounts") / "passwd"
    passwd.write_text(TWO_CLINICIANS)
    before = os.environ.get(PASSWD_FILE_ENV)
    os.environ[PASSWD_FILE_ENV] = str(passwd)
    yield passwd
    if before is None:
        os.environ.pop(PASSWD_FILE_ENV, None)
    else:
        os.environ[PASSWD_FILE_ENV] = before


@pytest.fixture
def media() -> Path:
    return MEDIA


def place(root: Path, relpath: str, fixture: str, mode: int = 0o600) -> Path:
    """Copy a real fixture recording into a practice tree under a new name."""
    dest = root / relpath
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MEDIA / fixture, dest)
    os.chmod(dest, mode)
    return dest


def run_cli(*args: str | Path, cwd: Path | None = None) -> Any:
    """Run `auditor` in-process (fast); the result has exit_code, stdout, stderr."""
    runner = CliRunner()
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def run_module(
    *args: str | Path, cwd: Path | None = None, timeout: float = 120, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run `python -m auditor` as a real process (for signals, FIFOs, privileges, installed layouts)."""
    return subprocess.run(
        [sys.executable, "-m", "auditor", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def scan_json(tmp_path: Path, *args: str | Path, expect: int | None = None) -> dict[str, Any]:
    out = tmp_path / "result.json"
    res = run_cli("scan", "-q", *args, "-o", out)
    if expect is not None:
        assert res.exit_code == expect, res.output
    return json.loads(out.read_text())


def rules_fired(result: dict[str, Any], location_endswith: str) -> set[str]:
    return {f["rule"] for f in result["findings"] if f["location"].endswith(location_endswith)}


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


AS_OF = date(2026, 11, 22)
