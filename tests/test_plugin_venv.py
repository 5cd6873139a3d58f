"""Each kind of plugin, installed as a user installs it: a throwaway venv, the tool built and
installed from this checkout (not editable), and three third-party packages from
tests/fixtures/plugins (a source, a rule, an output format), each with its own pyproject.toml
and entry point, pip-installed beside it. Then the installed `auditor` runs them.

The source reads recordings inside a tar backup made by the real `tar`; docs/extending.md shows
these same plugins, and a test here keeps the docs' copies identical to the files installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import MEDIA, REPO

pytestmark = pytest.mark.slow

PLUGINS = REPO / "tests" / "fixtures" / "plugins"


def _pip(python: Path, *args: str | Path) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("tar"):
        pytest.skip("needs tar")
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The runtime dependencies (and the build backend) from the test environment, without
    # network; they come after the venv's own site-packages, so the installed tool wins.
    (site / "zz-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _pip(python, REPO)
    for plugin in ("auditor-tar", "auditor-size-rule", "auditor-txt-output"):
        _pip(python, PLUGINS / plugin)
    return root


def run(
    venv: Path, *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "auditor"), *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    """A practice's backup: client folders with real recordings, archived by the real tar."""
    tree = tmp_path / "export"
    for rel, fixture in (
        ("C-1001 Smith/C-1001_2026-03-02.wav", "session.wav"),
        ("C-1002 Jones/C-1002_2026-03-09.m4a", "session.m4a"),
        ("C-1002 Jones/C-1002_2026-03-16.m4a.gpg", "session.m4a.gpg"),
        ("unsorted/voice memo.mp3", "session.mp3"),
    ):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MEDIA / fixture, tree / rel)
    (tree / "C-1001 Smith" / "notes.txt").write_text("not a recording")
    archive = tmp_path / "backup.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(tree), "."], check=True)
    return archive


def test_the_installed_plugins_are_listed_with_their_distributions(venv: Path, tmp_path: Path) -> None:
    res = run(venv, "plugins", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    listed = json.loads(res.stdout)
    by = {
        (p["kind"], p["name"]): (p["distribution"], p["version"])
        for k in ("sources", "rules", "outputs")
        for p in listed[k]
    }
    assert by[("source", "tar")] == ("auditor-tar", "1.0.0")
    assert by[("rule", "recording-oversized")] == ("auditor-size-rule", "2.1.0")
    assert [(p["name"], p["distribution"]) for p in listed["packs"]] == [("sizes", "auditor-size-rule")]
    assert by[("output", "txt")] == ("auditor-txt-output", "0.3.0")
    assert by[("source", "file")][0] == "recording-auditor"
    assert listed["conflicts"] == []
    # The source's own option is on `auditor scan`, declared by the source, not the CLI.
    helptext = run(venv, "scan", "--help", cwd=tmp_path).stdout
    assert "--tar-max-members N" in helptext and "Members read per archive" in helptext


def test_a_scan_runs_all_three_and_records_them(venv: Path, tmp_path: Path, backup: Path) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "version: 1\n"
        "attribution:\n  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})']\n"
        "sources:\n  tar: {max_members: 50}\n"
    )
    target = f"tar://{backup}"
    out, txt = tmp_path / "r.json", tmp_path / "r.txt"
    res = run(
        venv, "scan", "-q", target, "--config", config, "--rules", "sizes", "-o", out, "-o", txt, "--fail-on", "none",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    result = json.loads(out.read_text())
    recordings = {r["location"]: r for r in result["recordings"]}
    assert set(recordings) == {
        f"{target}!./C-1001 Smith/C-1001_2026-03-02.wav",
        f"{target}!./C-1002 Jones/C-1002_2026-03-09.m4a",
        f"{target}!./C-1002 Jones/C-1002_2026-03-16.m4a.gpg",
        f"{target}!./unsorted/voice memo.mp3",
    }
    wav = recordings[f"{target}!./C-1001 Smith/C-1001_2026-03-02.wav"]
    assert (wav["format"], wav["client"], wav["session_date"]) == ("wav", "C-1001", "2026-03-02")
    assert wav["recorded_at_source"] == "attribution"
    coverage = result["coverage"]
    assert (coverage["files_seen"], coverage["recordings"]) == (5, 4)
    assert coverage["candidates"] == 4  # notes.txt is settled by its name and never read
    rules_hit = {(f["rule"], f["location"].rsplit("/", 1)[-1]) for f in result["findings"]}
    assert ("recording-oversized", "C-1001_2026-03-02.wav") in rules_hit  # the plugin rule, its pack's param
    oversized = next(f for f in result["findings"] if f["rule"] == "recording-oversized")
    assert (oversized["severity"], oversized["controls"]) == ("medium", ["GDPR Art 5(1)(c)"])  # the pack's
    assert [p["name"] for p in result["rule_packs"]] == ["core", "s3", "sizes"]  # found by its name
    assert ("consent-unattributed", "voice memo.mp3") in rules_hit
    unattributed = next(f for f in result["findings"] if f["rule"] == "consent-unattributed")
    assert unattributed["evidence"]["tried"] == ["patterns"]  # what this source looked at
    assert ("recording-encryption-unknown", "C-1001_2026-03-02.wav") in rules_hit  # unknown: never "fine"
    assert ("recording-unencrypted", "C-1001_2026-03-02.wav") not in rules_hit  # nor taken as a local disk
    used = {(p["kind"], p["name"], p["distribution"]) for p in result["tool"]["plugins"]}
    assert ("source", "tar", "auditor-tar") in used
    assert ("rule", "recording-oversized", "auditor-size-rule") in used
    # The output plugin wrote its file from the JSON contract.
    lines = txt.read_text().splitlines()
    assert lines[0].startswith("recording-auditor ")
    assert any("recording-oversized" in line and "C-1001_2026-03-02.wav" in line for line in lines)
    assert oct(txt.stat().st_mode & 0o777) == "0o600"


def test_redaction_hides_the_plugin_sources_client_folders(venv: Path, tmp_path: Path, backup: Path) -> None:
    out = tmp_path / "r.json"
    res = run(
        venv, "scan", "-q", f"tar://{backup}", "--redact", "-o", out, "-o", tmp_path / "r.txt", "--fail-on", "none",
        cwd=tmp_path, env={"AUDITOR_REDACTION_KEY": "a practice secret of 16+"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    for written in (out, tmp_path / "r.txt"):
        text = written.read_text()
        for name in ("Smith", "Jones", "unsorted", "voice memo", "C-1001_2026-03-02", "C-1002_2026-03-09"):
            assert name not in text, f"{name} leaked into {written.name}"
    locations = [r["location"] for r in json.loads(out.read_text())["recordings"]]
    assert all(loc.startswith(f"tar://{backup}!") for loc in locations)  # where stays readable


def test_the_source_checks_its_targets_and_settings_before_scanning(
    venv: Path, tmp_path: Path, backup: Path
) -> None:
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("not an archive")
    res = run(venv, "scan", "-q", backup.parent, f"tar://{not_tar}", "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == f"auditor: error: tar://{not_tar}: not a tar archive"
    assert not (tmp_path / "r.json").exists()
    config = tmp_path / "bad.yaml"
    config.write_text("version: 1\nsources:\n  tar:\n    max_members: none\n")
    res = run(venv, "scan", "-q", f"tar://{backup}", "--config", config, cwd=tmp_path)
    assert res.returncode == 2
    assert f"{config}:4: sources.tar.max_members: must be an integer" in res.stderr
    # The command line reaches the source as its setting.
    res = run(
        venv,
        "scan",
        "-q",
        f"tar://{backup}",
        "--tar-max-members",
        "2",
        "-o",
        tmp_path / "r.json",
        "--fail-on",
        "none",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    gaps = json.loads((tmp_path / "r.json").read_text())["coverage"]["skipped"]
    assert [g["reason"] for g in gaps if g["location"].startswith("tar:")] == ["member-limit"]


def test_the_docs_show_the_plugins_that_are_tested() -> None:
    """docs/extending.md quotes these plugins whole; what the docs teach is what runs here."""
    docs = (REPO / "docs" / "extending.md").read_text(encoding="utf-8")
    blocks = re.findall(
        r"```(?:python|toml|yaml)\n# (tests/fixtures/plugins/\S+|auditor/facts\.py)\n(.*?)```",
        docs,
        flags=re.S,
    )
    quoted = {path: body for path, body in blocks}
    expected = {
        str(p.relative_to(REPO))
        for p in PLUGINS.rglob("*")
        if p.is_file() and p.suffix in (".py", ".toml", ".yaml") and "__pycache__" not in p.parts
    }
    assert set(quoted) == expected | {"auditor/facts.py"}
    for path, body in quoted.items():
        assert body == (REPO / path).read_text(encoding="utf-8"), f"docs/extending.md: {path} differs"
