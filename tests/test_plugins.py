"""No plugin silently replaces another (issue 12 §1).

Each test puts a real distribution (a `.dist-info` folder with METADATA and entry_points.txt, as
pip leaves it, plus its module) on PYTHONPATH and runs `python -m auditor` against it: the same
importlib.metadata discovery an installed plugin goes through. The full pip install of every
kind of plugin into a throwaway venv is in test_plugin_venv.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import __version__
from tests.conftest import REPO, place

SHADOW_MODULE = """
from auditor.rules.base import Hit, Rule


def never(artifact, ctx):
    return iter(())


def always(artifact, ctx):
    yield Hit("shadow says so")


QUIET = Rule(id="recording-unencrypted", category="unencrypted", severity="high", title="Shadow",
             remediation="-", evaluate=never)
LOUD = Rule(id="shadow-loud", category="hygiene", severity="low", title="Loud", remediation="-",
            evaluate=always)


def write(result, path, options):
    path.write_text("shadow")


class Source:
    def __init__(self, config, options):
        pass

    def scan(self, target, coverage):
        return iter(())
"""


def make_dist(where: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """A distribution on disk as pip installs it: NAME-VERSION.dist-info plus the module."""
    where.mkdir(parents=True, exist_ok=True)
    info = where / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    (where / "shadow_plugin.py").write_text(SHADOW_MODULE)
    return where


def auditor(site: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    root = tmp_path / "practice"
    place(root, "C-1001/session.wav", "session.wav")
    return root


BUILTIN = f"recording-auditor {__version__}"


def test_a_second_local_source_stops_the_scan_naming_both(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site", "shadow-pack", "1.0", {"auditor.sources": {"file": "shadow_plugin:Source"}}
    )
    res = auditor(site, "scan", "-q", practice, "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    [line] = res.stderr.strip().splitlines()
    assert "URL scheme 'file'" in line
    assert f"{BUILTIN} (auditor.sources.local.plugin:SOURCE)" in line
    assert "shadow-pack 1.0 (shadow_plugin:Source)" in line
    assert not (tmp_path / "r.json").exists()


def test_a_second_html_format_stops_before_scanning(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site", "shadow-pack", "1.0", {"auditor.outputs": {"html": "shadow_plugin:write"}}
    )
    res = auditor(site, "scan", "-q", practice, "-o", tmp_path / "r.html", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "output format 'html'" in res.stderr and "shadow-pack 1.0" in res.stderr and BUILTIN in res.stderr
    assert not (tmp_path / "r.html").exists()
    # A format nobody contests still works beside the conflict.
    res = auditor(site, "scan", "-q", practice, "-o", tmp_path / "r.json", "--fail-on", "none", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_a_shadowing_rule_is_a_conflict_a_pack_can_settle(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site",
        "shadow-pack",
        "1.0",
        {"auditor.rules": {"recording-unencrypted": "shadow_plugin:QUIET"}},
    )
    out = tmp_path / "r.json"
    res = auditor(site, "scan", "-q", practice, "-o", out, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "rule id 'recording-unencrypted'" in res.stderr
    assert "provider:" in res.stderr  # says how to settle it
    assert not out.exists()

    def scan_with(provider: str) -> dict:
        pack = tmp_path / f"pick-{provider}.yaml"
        pack.write_text(
            f"pack: pick\nversion: '1'\nrules:\n  recording-unencrypted:\n    provider: {provider}\n"
        )
        res = auditor(
            site, "scan", "-q", practice, "--rules", pack, "-o", out, "--fail-on", "none", cwd=tmp_path
        )
        assert res.returncode == 0, res.stderr
        return json.loads(out.read_text())

    chosen = scan_with("recording-auditor")
    assert [f["rule"] for f in chosen["findings"]].count("recording-unencrypted") == 1
    used = {(p["kind"], p["name"]): p["distribution"] for p in chosen["tool"]["plugins"]}
    assert used[("rule", "recording-unencrypted")] == "recording-auditor"
    shadow = scan_with("shadow-pack")
    assert "recording-unencrypted" not in [f["rule"] for f in shadow["findings"]]
    used = {(p["kind"], p["name"]): p["distribution"] for p in shadow["tool"]["plugins"]}
    assert used[("rule", "recording-unencrypted")] == "shadow-pack"  # the report says who judged

    pack = tmp_path / "pick-nobody.yaml"
    pack.write_text("pack: pick\nversion: '1'\nrules:\n  recording-unencrypted:\n    provider: nobody\n")
    res = auditor(site, "scan", "-q", practice, "--rules", pack, "-o", out, cwd=tmp_path)
    assert res.returncode == 2
    assert f"{pack}:4: rules.recording-unencrypted.provider: provider 'nobody'" in res.stderr


def test_an_entry_point_must_be_named_after_its_rule(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site", "shadow-pack", "1.0", {"auditor.rules": {"innocent-name": "shadow_plugin:QUIET"}}
    )
    res = auditor(site, "scan", "-q", practice, "-o", tmp_path / "r.json", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    [line] = res.stderr.strip().splitlines()
    assert "'innocent-name'" in line and "'recording-unencrypted'" in line and "shadow-pack 1.0" in line


def test_plugins_and_rules_name_their_distributions(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site",
        "shadow-pack",
        "1.0",
        {
            "auditor.rules": {"shadow-loud": "shadow_plugin:LOUD"},
            "auditor.outputs": {"html": "shadow_plugin:write"},
        },
    )
    res = auditor(site, "plugins", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    listed = json.loads(res.stdout)
    sources = {(p["name"], p["distribution"], p["version"]) for p in listed["sources"]}
    assert {("file", "recording-auditor", __version__), ("s3", "recording-auditor", __version__)} <= sources
    assert ("shadow-loud", "shadow-pack", "1.0") in {
        (p["name"], p["distribution"], p["version"]) for p in listed["rules"]
    }
    [conflict] = listed["conflicts"]
    assert (conflict["kind"], conflict["name"]) == ("output", "html")
    assert sorted(c["distribution"] for c in conflict["claims"]) == ["recording-auditor", "shadow-pack"]
    text = auditor(site, "plugins", cwd=tmp_path).stdout
    assert "shadow-pack 1.0" in text and "conflicts" in text and "output format 'html'" in text

    res = auditor(site, "rules", "--json", cwd=tmp_path)
    rules = {r["id"]: (r["distribution"], r["distribution_version"]) for r in json.loads(res.stdout)["rules"]}
    assert rules["shadow-loud"] == ("shadow-pack", "1.0")
    assert rules["recording-unencrypted"] == ("recording-auditor", __version__)
    assert "from: shadow-pack 1.0" in auditor(site, "rules", cwd=tmp_path).stdout

    # The result says which plugins read and judged, and the report shows the third-party ones.
    out = tmp_path / "r.json"
    res = auditor(site, "scan", "-q", practice, "-o", out, "--fail-on", "none", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    result = json.loads(out.read_text())
    used = {(p["kind"], p["name"], p["distribution"]) for p in result["tool"]["plugins"]}
    assert ("source", "file", "recording-auditor") in used
    assert ("rule", "shadow-loud", "shadow-pack") in used
    assert not any(kind == "source" and name == "s3" for kind, name, _ in used)  # it scanned nothing
    html = tmp_path / "r.html"
    res = auditor(site, "report", out, "-o", html, cwd=tmp_path)
    assert res.returncode == 2 and "output format 'html'" in res.stderr  # still contested


def test_the_report_lists_third_party_plugins(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site", "shadow-pack", "1.0", {"auditor.rules": {"shadow-loud": "shadow_plugin:LOUD"}}
    )
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    res = auditor(site, "scan", "-q", practice, "-o", out, "-o", html, "--fail-on", "none", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    page = html.read_text()
    assert "<dt>Plugins</dt><dd>shadow-pack 1.0 (rules: shadow-loud)</dd>" in page
    assert f"{BUILTIN} (rules" not in page  # the tool's own are not repeated


def test_entry_points_are_read_once_per_process(
    tmp_path: Path, practice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor import plugins
    from tests.conftest import run_cli

    calls: list[str] = []
    real = plugins.installed.read

    def counting(groups=None):  # type: ignore[no-untyped-def]
        calls.append("read")
        return real(groups)

    monkeypatch.setattr(plugins.installed, "read", counting)
    plugins.reset_registry()
    try:
        res = run_cli(
            "scan", "-q", practice, "-o", tmp_path / "r.json", "-o", tmp_path / "r.html", "-o", tmp_path / "r.sarif",
            "--fail-on", "none",
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        res = run_cli("rules")
        assert res.exit_code == 0
    finally:
        plugins.reset_registry()
    # One pass over the installed distributions, for every group and both commands.
    assert calls == ["read"]


def test_an_unknown_scheme_is_refused_before_any_local_work(tmp_path: Path, practice: Path) -> None:
    out = tmp_path / "r.json"
    res = auditor(REPO, "scan", "-q", practice, "gcs://bucket", "-o", out, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    [line] = res.stderr.strip().splitlines()
    assert line == (
        "auditor: error: gcs://bucket: no source handles gcs:// targets (installed: local paths, s3://)"
    )
    assert not out.exists()


CRASHING_SOURCE = """
from auditor.models import Artifact


class Source:
    def __init__(self, config, options):
        pass

    def scan(self, target, coverage):
        yield Artifact(
            kind="recording", location=target + "/first.wav", source="crashy", target=target,
            relpath="first.wav", media="audio", format="wav", encrypted=False, encryption="none",
        )
        raise RuntimeError("the vendor API changed")
"""


def test_a_source_that_crashes_mid_scan_is_a_gap_and_the_rest_of_the_audit_stands(
    tmp_path: Path, practice: Path
) -> None:
    site = make_dist(
        tmp_path / "site", "crashy-source", "0.3", {"auditor.sources": {"crashy": "crashy:Source"}}
    )
    (site / "crashy.py").write_text(CRASHING_SOURCE)
    out = tmp_path / "r.json"
    res = auditor(
        site, "scan", "-q", "crashy://vault", practice, "-o", out, "--fail-on", "none", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    result = json.loads(out.read_text())
    # What it yielded before it failed is judged, and so is the next target.
    locations = {r["location"] for r in result["recordings"]}
    assert "crashy://vault/first.wav" in locations
    assert any(loc.endswith("C-1001/session.wav") for loc in locations)
    [gap] = [g for g in result["coverage"]["skipped"] if g["reason"] == "scan-error"]
    assert gap["location"] == "crashy://vault"
    assert "crashy source from crashy-source 0.3 failed" in gap["detail"]
    assert "RuntimeError: the vendor API changed" in gap["detail"]
    assert result["coverage"]["complete"] is False


# What auditor/installed.py reads must be what importlib.metadata reads, entry for entry, with the
# distribution that declared each: the real venv plus odd but legal layouts on PYTHONPATH.
COMPARE = """
import json, sys
from importlib.metadata import entry_points
from auditor import installed

eps = entry_points()
theirs = sorted(
    [e.group, e.name, e.value, e.dist.metadata["Name"] if e.dist else None, e.dist.version if e.dist else None]
    for g in eps.groups for e in eps.select(group=g)
)
mine = installed.read()
mine = None if mine is None else sorted([f.group, f.name, f.value, f.distribution, f.version] for f in mine)
packs = installed.read({"auditor.packs"})  # one group: as the plugin registry asks
packs = None if packs is None else sorted([f.group, f.name, f.value, f.distribution, f.version] for f in packs)
print(json.dumps({"theirs": theirs, "mine": mine, "packs": packs}))
"""


def _compare(*sites: Path, cwd: Path) -> dict[str, list[list[str]] | None]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, sites), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-c", COMPARE],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, list[list[str]] | None] = json.loads(done.stdout)
    return result


def test_the_entry_points_read_are_importlib_metadatas(tmp_path: Path) -> None:
    first = make_dist(
        tmp_path / "first", "Shadow.Pack", "1.0", {"auditor.rules": {"shadow-loud": "shadow_plugin:LOUD"}}
    )
    # The same distribution (another spelling of its name) later on sys.path: importlib.metadata
    # takes the first one only.
    make_dist(
        tmp_path / "second", "shadow_pack", "2.0", {"auditor.rules": {"shadow-later": "shadow_plugin:LOUD"}}
    )
    info = first / "Shadow.Pack-1.0.dist-info"
    (info / "entry_points.txt").write_text(
        "# a comment\n\n[auditor.outputs]\n  shadow =  shadow_plugin:write [extra]\n[auditor.sources]\nvault=shadow_plugin:Source\n"
    )
    egg = tmp_path / "first" / "Old_Egg.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: Old-Egg\nVersion: 0.9\n\nName: not this\n")
    (egg / "entry_points.txt").write_text("[auditor.packs]\nold = shadow_plugin:PACK\n")
    nometa = tmp_path / "first" / "bare-1.dist-info"
    nometa.mkdir()
    (nometa / "entry_points.txt").write_text("[auditor.packs]\nbare = shadow_plugin:PACK\n")
    both = _compare(tmp_path / "first", tmp_path / "second", cwd=tmp_path)
    assert both["mine"] == both["theirs"]
    mine = both["mine"]
    assert mine is not None
    assert ["auditor.outputs", "shadow", "shadow_plugin:write [extra]", "Shadow.Pack", "1.0"] in mine
    assert ["auditor.packs", "old", "shadow_plugin:PACK", "Old-Egg", "0.9"] in mine
    assert ["auditor.packs", "bare", "shadow_plugin:PACK", None, None] in mine
    assert not [e for e in mine if e[1] == "shadow-later"]
    assert [e for e in mine if e[3] == "recording-auditor" and e[1] == "recording-unencrypted"]
    assert both["packs"] == [e for e in mine if e[0] == "auditor.packs"]
    assert len(both["packs"]) >= 2  # "old" and "bare"


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(tmp_path: Path, practice: Path) -> None:
    import zipfile

    site = make_dist(
        tmp_path / "site", "zipped-plugin", "1.0", {"auditor.outputs": {"html": "shadow_plugin:write"}}
    )
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in site.rglob("*"):
            z.write(path, path.relative_to(site).as_posix())
    both = _compare(archive, cwd=tmp_path)
    assert both["mine"] is None  # not read here, so not read wrong
    # ... and the registry still sees it, through importlib.metadata: the conflict is caught.
    res = auditor(archive, "scan", "-q", practice, "-o", tmp_path / "r.html", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "zipped-plugin 1.0" in res.stderr


CRASHING_WRITER = """
def write(result, path, options):
    raise ValueError("cannot render a result this large")
"""


def test_an_output_plugin_that_raises_is_named_with_what_was_written(tmp_path: Path, practice: Path) -> None:
    site = make_dist(
        tmp_path / "site", "crashy-writer", "1.2", {"auditor.outputs": {"crash": "crashy_writer:write"}}
    )
    (site / "crashy_writer.py").write_text(CRASHING_WRITER)
    out, bad, later = tmp_path / "r.json", tmp_path / "r.crash", tmp_path / "r.csv"
    res = auditor(
        site, "scan", "-q", practice, "-o", out, "-o", bad, "-o", later, "--fail-on", "none", cwd=tmp_path
    )
    assert res.returncode == 2, res.stderr
    [line] = res.stderr.strip().splitlines()
    assert line == (
        f"auditor: error: {bad}: the crash output from crashy-writer 1.2 failed: ValueError: cannot render a "
        f"result this large (written: {out}; not written: {bad}, {later})"
    )
    assert out.exists() and not bad.exists() and not later.exists()
