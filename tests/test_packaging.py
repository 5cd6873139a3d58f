"""The installed tool, as a user gets it: a non-editable `pip install .`, run from another folder,
plus a third-party rule plugin installed beside it through the `auditor.rules` entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, place

pytestmark = pytest.mark.slow


def _pip_install(target: Path, project: Path) -> None:
    # Non-editable, no network: the build backend (hatchling) comes from the test environment.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(project),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    _pip_install(site, REPO)
    plugin = tmp_path_factory.mktemp("plugin-src")
    (plugin / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "auditor-plugin-demo"
            version = "0.0.1"

            [project.entry-points."auditor.rules"]
            demo-raw-pcm = "auditor_plugin_demo:RULE"
            demo-broken = "auditor_plugin_demo:BROKEN"
            demo-missing = "auditor_plugin_demo_nowhere:RULE"

            [tool.hatch.build.targets.wheel]
            include = ["auditor_plugin_demo.py"]
            """
        )
    )
    (plugin / "auditor_plugin_demo.py").write_text(
        textwrap.dedent(
            '''
            """A third-party rule: raw PCM WAV recordings are large and must be compressed and encrypted."""
            from auditor.rules.base import Hit, Rule


            def evaluate(artifact, ctx):
                if artifact.format == "wav":
                    yield Hit(f"raw PCM recording ({artifact.size} bytes)", {"size": artifact.size})


            def explode(artifact, ctx):
                raise RuntimeError("plugin bug")
                yield


            RULE = Rule(id="demo-raw-pcm", category="hygiene", severity="low", title="Raw PCM recording",
                        remediation="Compress and encrypt it.", evaluate=evaluate, controls=("APA 6.02",))
            BROKEN = Rule(id="demo-broken", category="hygiene", severity="low", title="Always raises",
                          remediation="-", evaluate=explode)
            '''
        )
    )
    _pip_install(site, plugin)
    return site


def _run(site: Path, cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [str(site / "bin" / "auditor"), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_installed_wheel_finds_its_rules_and_templates_from_elsewhere(
    installed: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = _run(installed, elsewhere, "rules", "--json")
    assert res.returncode == 0, res.stderr
    packs = json.loads(res.stdout)["packs"]
    core = next(p for p in packs if p["name"] == "core")
    assert core["path"].startswith(str(installed / "auditor" / "_data" / "rules")), core
    assert (installed / "auditor" / "_data" / "reports").is_dir()
    # The schemas editors are pointed at, where docs/config.md ("Editor support") says they are.
    where = subprocess.run(
        [sys.executable, "-c", "import auditor, pathlib; print(pathlib.Path(auditor.__file__).parent / 'schemas')"],
        cwd=elsewhere, env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert where == str(installed / "auditor" / "schemas")
    assert {"config.schema.json", "ignore.schema.json", "consent.schema.json"} <= {
        p.name for p in Path(where).glob("*.schema.json")
    }

    practice = tmp_path / "practice"
    place(practice, "session.wav", "session.wav")
    res = _run(
        installed, elsewhere, "scan", "-q", practice, "-o", "r.json", "-o", "r.html", "--fail-on", "none"
    )
    assert res.returncode == 0, res.stderr
    assert json.loads((elsewhere / "r.json").read_text())["recordings"][0]["format"] == "wav"
    html = (elsewhere / "r.html").read_text()
    assert "<html" in html.lower() and "session.wav" in html
    # The code that ran is the installed copy, not the checkout.
    probe = subprocess.run(
        [sys.executable, "-c", "import auditor; print(auditor.__file__)"],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(installed))


def test_third_party_plugin_registers_through_entry_points(installed: Path, tmp_path: Path) -> None:
    res = _run(installed, tmp_path, "rules", "--json")
    data = json.loads(res.stdout)
    ids = {r["id"] for r in data["rules"]}
    assert "demo-raw-pcm" in ids
    errors = {e["entry_point"].split(" ")[0]: e["error"] for e in data["load_errors"]}
    assert "ModuleNotFoundError" in errors["demo-missing"]

    practice = tmp_path / "practice"
    place(practice, "session.wav", "session.wav")
    place(practice, "session.m4a", "session.m4a")
    res = _run(installed, tmp_path, "scan", "-q", practice, "-o", "r.json", "--fail-on", "none")
    assert res.returncode == 0, res.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    demo = [f for f in result["findings"] if f["rule"] == "demo-raw-pcm"]
    assert [Path(f["location"]).name for f in demo] == ["session.wav"]
    assert demo[0]["controls"] == ["APA 6.02"]
    # A plugin that raises is a coverage gap, per recording, and the scan goes on.
    reasons = [g["reason"] for g in result["coverage"]["skipped"]]
    assert reasons.count("rule-error") == 2
    assert "rule-load-error" in reasons
    assert result["coverage"]["complete"] is False
