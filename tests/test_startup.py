"""What a command imports: only what it uses (issue 16). Timings live in bench/bench_startup.py;
this checks the modules, in a fresh interpreter per command, so that a stray import at the top of
a module shows up here rather than as a slower start-up nobody notices."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, place

# Run a command in-process in a fresh interpreter (not main(): it ends the process with os._exit),
# then print the modules it imported.
PROBE = """
import json, sys
sys.argv = ["auditor", *sys.argv[1:]]
from auditor.cli import _run
code = _run()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
NEVER_ON_A_LOCAL_SCAN = {
    "jsonschema",  # only to explain an invalid file
    "multiprocessing",  # only to fork workers for a large tree
    "logging",
    "sqlite3",  # only with a breach register
    "jinja2",  # only for HTML
    "boto3",  # only for s3:// targets
    "botocore",
    "watchdog",
    "auditor.watch",
    "auditor.breach.register",
    "auditor.cli.watch",
    "auditor.cli.breach",
    "auditor.merge",  # only for `auditor merge`
    "auditor.cli.merge",
    "html",  # only to read a .docx's text
}


def _imports(*args: str | Path, cwd: Path) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def _top_level(modules: set[str], names: set[str]) -> set[str]:
    return {m for m in modules for n in names if m == n or m.startswith(n + ".")}


def test_version_imports_no_subcommand(tmp_path: Path) -> None:
    code, modules = _imports("--version", cwd=tmp_path)
    assert code == 0
    assert {m for m in modules if m.startswith("auditor.")} <= {
        "auditor.cli",
        "auditor.cli.process_exit",
        "auditor.textsafe",
    }
    assert not _top_level(modules, {"yaml", "importlib.metadata", "jsonschema", "click.testing"})


@pytest.mark.parametrize("with_config", [False, True])
def test_a_local_scan_imports_nothing_it_does_not_use(tmp_path: Path, with_config: bool) -> None:
    place(tmp_path / "practice", "Clinic/C-1001_2026-11-10_supervision.m4a", "session.m4a")
    args: list[str | Path] = ["scan", "-q", "practice", "-o", "r.json", "-o", "r.sarif", "--fail-on", "none"]
    if with_config:  # valid files: checked without jsonschema
        (tmp_path / "consent.yaml").write_text(
            "version: 1\nclients:\n  - id: C-1001\n    consents:\n      - {granted: 2026-01-01, purposes: [supervision]}\n"
        )
        (tmp_path / "auditor.yaml").write_text(
            "version: 1\nconsent_registry: consent.yaml\nsources:\n  s3: {region: eu-west-1}\nattribution:\n"
            "  patterns: ['(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})_(?P<purpose>[a-z]+)']\n"
        )
        args += ["--config", "auditor.yaml"]
    code, modules = _imports(*args, cwd=tmp_path)
    assert code == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["recordings"] == 1
    assert not _top_level(modules, NEVER_ON_A_LOCAL_SCAN)
    # The built-in rule packs come from their snapshot (auditor/rules/snapshot.py): PyYAML only for
    # a YAML file of the user's. subprocess only when a volume probe runs a command.
    assert ("yaml" in modules) == with_config
    assert "subprocess" not in modules


def test_reading_the_plugins_imports_no_importlib_metadata(tmp_path: Path) -> None:
    """auditor/installed.py reads the entry points: importlib.metadata would bring email, socket,
    zipfile and csv with it (about 20 ms)."""
    place(tmp_path / "practice", "Clinic/session.m4a", "session.m4a")
    code, modules = _imports("scan", "-q", "practice", "-o", "r.json", "--fail-on", "none", cwd=tmp_path)
    assert code == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["recordings"] == 1
    assert not _top_level(modules, {"importlib.metadata", "email", "socket", "zipfile", "csv"})


def test_a_scan_writes_its_report_without_tempfile_or_shutil(tmp_path: Path) -> None:
    """The report's private temporary file is made with os.open (O_EXCL, 0600): tempfile, random
    and shutil (with zlib, bz2, lzma) stay out of a scan's start-up; shutil only draws progress."""
    place(tmp_path / "practice", "Clinic/session.m4a", "session.m4a")
    code, modules = _imports("scan", "-q", "practice", "-o", "r.json", "--fail-on", "none", cwd=tmp_path)
    assert code == 0
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    assert not _top_level(modules, {"tempfile", "shutil", "random", "bz2", "lzma"})


def test_a_sarif_report_reads_the_project_urls_without_importlib_metadata(tmp_path: Path) -> None:
    """SARIF names the project's home page and documentation (auditor/project.py): read from the
    .dist-info folder, not through importlib.metadata."""
    place(tmp_path / "practice", "Clinic/session.m4a", "session.m4a")
    code, modules = _imports("scan", "-q", "practice", "-o", "r.sarif", "--fail-on", "none", cwd=tmp_path)
    assert code == 0
    driver = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["tool"]["driver"]
    assert driver["informationUri"].startswith("https://")
    assert not _top_level(modules, {"importlib.metadata", "email", "socket", "zipfile", "csv"})


def test_the_project_urls_are_importlib_metadatas() -> None:
    """In a fresh interpreter, as the command runs: inside pytest's session another test may have
    left a finder on sys.meta_path (a plugin's editable install), and then installed.py rightly
    says None ("ask importlib.metadata") instead of reading the folders itself."""
    check = textwrap.dedent(
        """
        from importlib.metadata import metadata

        from auditor import installed, project

        theirs = metadata(project.DISTRIBUTION).get_all("Project-URL")
        assert theirs  # pyproject.toml's [project.urls]
        assert installed.metadata_values(project.DISTRIBUTION, "Project-URL") == theirs
        assert installed.metadata_values("Recording_Auditor", "project-url") == theirs  # names normalised
        assert installed.metadata_values("no-such-distribution", "Project-URL") == []
        homepage = next(v.partition(",")[2].strip() for v in theirs if v.lower().startswith("homepage,"))
        assert project.project_url() == homepage
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


def test_an_invalid_config_still_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text("version: 1\nretention:\n  default_days: -4\n")
    (tmp_path / "practice").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "practice", "--config", "auditor.yaml", "-o", "r.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "auditor.yaml:3: retention.default_days: must be 0 or more (got -4)" in done.stderr
